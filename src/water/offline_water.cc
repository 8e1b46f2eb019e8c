#include "water/offline_water.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "base/number_text.h"
#include "base/tool_args.h"
#include "core/time.h"
#include "water/pairing.h"
#include "water/precheck.h"

namespace mh::water {
namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  meterhub water check PAIRS.csv [--window 6h] [--range D_LO..D_HI] [--min-share 0.95]\n"
    "PAIRS.csv: header feature_code,timestamp,flowmeter,terminal (flows in m3/h).\n"
    "Prints feature_code,window_start,verdict,a1,a2 per feature code and window (sorted), verdict\n"
    "none|steady|unsteady, a1,a2 of the linear fit q2 = a1*q1 + a2 when steady. A window with fewer\n"
    "than 3 pairs cannot be judged and prints none. --window divides a day (windows start at UTC\n"
    "midnight); --range is the form-A threshold range of |terminal - flowmeter| (default 0.01..0.5).\n";

bool ParseDouble(std::string_view s, double* out) { return ParseDoubleText(s, out); }

std::vector<std::string_view> SplitCommas(std::string_view l) {
  std::vector<std::string_view> f;
  size_t start = 0;
  while (true) {
    const size_t comma = l.find(',', start);
    f.push_back(TrimBlanks(l.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return f;
}

bool IsCodeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// "-0.000000" and friends print as 0; otherwise 6 decimals without trailing zeros.
std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

struct CheckArgs {
  std::string path;
  int64_t window_s = 6 * 3600;
  PreCheckOptions options;
};

Result<CheckArgs> ParseCheckArgs(const std::vector<std::string>& argv) {
  CheckArgs a;
  std::optional<std::string> window, range, min_share;
  CLI::App app;
  app.add_option("PAIRS.csv", a.path)->required();
  app.add_option("--window", window);
  app.add_option("--range", range);
  app.add_option("--min-share", min_share);
  MH_RETURN_IF_ERROR(ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())));
  if (window) {
    Result<int64_t> d = ParseDuration(*window);
    if (!d.ok() || *d <= 0 || 86400 % *d != 0) {
      return InvalidArgument("--window '" + *window + "' is not a duration dividing a day (e.g. 6h, 12h)");
    }
    a.window_s = *d;
  }
  if (range) {
    const std::string_view value = *range;
    const size_t dots = value.find("..");
    double lo = 0, hi = 0;
    if (dots == std::string::npos || !ParseDouble(value.substr(0, dots), &lo) || !ParseDouble(value.substr(dots + 2), &hi) ||
        lo < 0 || hi < lo) {
      return InvalidArgument("--range '" + *range + "' is not D_LO..D_HI with 0 <= D_LO <= D_HI (m3/h)");
    }
    a.options.d_lo = lo;
    a.options.d_hi = hi;
  }
  if (min_share) {
    double share = 0;
    if (!ParseDouble(*min_share, &share) || share <= 0 || share > 1) {
      return InvalidArgument("--min-share '" + *min_share + "' is not a share in (0, 1]");
    }
    a.options.p_min = share;
  }
  return a;
}

// Reads the pairs per feature code (time order), refusing bad rows with file:line and the field.
Result<std::map<std::string, std::vector<FlowPair>>> ReadPairs(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  std::map<std::string, std::map<int64_t, std::pair<FlowPair, int>>> rows;  // code → t → (pair, line)
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view l = TrimBlanks(line);
    if (l.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto fields = SplitCommas(l);
    if (!have_header) {
      if (fields != std::vector<std::string_view>{"feature_code", "timestamp", "flowmeter", "terminal"}) {
        return InvalidArgument(where + ": header is '" + std::string(l) + "', want 'feature_code,timestamp,flowmeter,terminal'");
      }
      have_header = true;
      continue;
    }
    if (fields.size() != 4) {
      return InvalidArgument(where + ": " + std::to_string(fields.size()) + " fields, want 4 (feature_code,timestamp,flowmeter,terminal)");
    }
    const std::string code(fields[0]);
    if (code.empty() || code.size() > 64 || !std::all_of(code.begin(), code.end(), IsCodeChar)) {
      return InvalidArgument(where + ": feature_code '" + code + "' is not 1-64 chars [A-Za-z0-9_-]");
    }
    Result<int64_t> t = ParseTimestamp(fields[1]);
    if (!t.ok()) return InvalidArgument(where + ": timestamp '" + std::string(fields[1]) + "': " + t.status().message());
    FlowPair p;
    p.t = *t;
    if (!ParseDouble(fields[2], &p.q1)) return InvalidArgument(where + ": flowmeter '" + std::string(fields[2]) + "' is not a number");
    if (!ParseDouble(fields[3], &p.q2)) return InvalidArgument(where + ": terminal '" + std::string(fields[3]) + "' is not a number");
    auto [it, inserted] = rows[code].emplace(p.t, std::make_pair(p, line_no));
    if (!inserted) {
      return InvalidArgument(where + ": timestamp '" + std::string(fields[1]) + "' repeats line " +
                             std::to_string(it->second.second) + " for feature_code " + code);
    }
  }
  if (!have_header) return InvalidArgument(path + ": empty file, want the header feature_code,timestamp,flowmeter,terminal");
  std::map<std::string, std::vector<FlowPair>> out;
  for (auto& [code, by_t] : rows) {
    auto& v = out[code];
    for (auto& [t, pl] : by_t) v.push_back(pl.first);
  }
  return out;
}

int RunCheck(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  Result<CheckArgs> a = ParseCheckArgs(argv);
  if (!a.ok()) {
    err << "meterhub water check: " << a.status().message() << "\n" << kUsage;
    return 2;
  }
  auto pairs = ReadPairs(a->path);
  if (!pairs.ok()) {
    err << "meterhub water check: " << pairs.status().message() << "\n";
    return 2;
  }
  std::ostringstream buf;
  for (const auto& [code, series] : *pairs) {
    for (const auto& [start, window] : SplitWindows(series, a->window_s)) {
      const PreCheckResult r = PreCheck(window, a->options);
      const Verdict v = r.verdict == Verdict::kTooFewPairs ? Verdict::kNone : r.verdict;
      buf << code << "," << FormatIsoUtc(start) << "," << VerdictName(v) << ",";
      if (v == Verdict::kSteady) buf << Number(r.mapping.linear.a1) << "," << Number(r.mapping.linear.a2);
      else buf << ",";
      buf << "\n";
    }
  }
  out << buf.str();
  return 0;
}

}  // namespace

const char* WaterUsage() { return kUsage; }

int RunWaterCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty()) {
    err << "meterhub water: missing verb\n" << kUsage;
    return 2;
  }
  const std::string& verb = argv[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    out << kUsage;
    return 0;
  }
  if (verb == "check") {
    for (size_t i = 1; i < argv.size(); ++i) {
      if (argv[i] == "--help" || argv[i] == "-h") {
        out << kUsage;
        return 0;
      }
    }
    return RunCheck(argv, out, err);
  }
  err << "meterhub water: unknown verb '" << verb << "'\n" << kUsage;
  return 2;
}

}  // namespace mh::water
