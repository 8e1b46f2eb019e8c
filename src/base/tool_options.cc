#include "base/tool_options.h"

#include <charconv>
#include <cmath>

namespace mh {
std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

namespace {

std::string_view Unsigned(std::string_view s) {
  s = TrimBlanks(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  return s;
}

}  // namespace

Result<ToolOptions> ToolOptions::Parse(const std::vector<std::string>& argv, size_t first,
                                       const std::set<std::string>& known, const std::set<std::string>& flags) {
  ToolOptions o;
  for (size_t i = first; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) return InvalidArgument("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    const bool is_flag = flags.count(name) != 0;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (is_flag) {
      value = "true";
    } else {
      if (known.count(name) == 0) return InvalidArgument("unknown option --" + name);
      if (i + 1 >= argv.size()) return InvalidArgument("option --" + name + " needs a value");
      value = argv[++i];
    }
    if (known.count(name) == 0 && flags.count(name) == 0) return InvalidArgument("unknown option --" + name);
    if (o.values_.count(name)) return InvalidArgument("option --" + name + " given twice");
    o.values_[name] = value;
  }
  return o;
}

std::optional<std::string> ToolOptions::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> ToolOptions::Required(const std::string& name) const {
  auto v = Get(name);
  if (!v || v->empty()) return InvalidArgument("missing required option --" + name);
  return *v;
}

Result<long> ToolOptions::Int(const std::string& name, long def, long min, long max) const {
  auto v = Get(name);
  if (!v) return def;
  long x = 0;
  if (!ParseIntText(*v, &x) || x < min || x > max)
    return InvalidArgument("--" + name + " '" + *v + "' is not an integer in " + std::to_string(min) + ".." +
                           std::to_string(max));
  return x;
}

Result<std::optional<double>> ToolOptions::Double(const std::string& name) const {
  auto v = Get(name);
  if (!v) return std::optional<double>();
  double x = 0;
  if (!ParseDoubleText(*v, &x)) return InvalidArgument("--" + name + " '" + *v + "' is not a number");
  return std::optional<double>(x);
}

bool ParseIntText(std::string_view s, long* out) {
  s = Unsigned(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDoubleText(std::string_view s, double* out) {
  s = Unsigned(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

}  // namespace mh
