#include "base/tool_args.h"

#include <algorithm>

#include <CLI/CLI.hpp>

namespace mh {
namespace {

// The option an ArgumentMismatch is about: CLI11 (2.x) opens its message with the option's name.
const CLI::Option* MismatchedOption(const CLI::App& app, const std::string& what) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->count() > 1 && o->get_items_expected_max() == 1) return o;
  }
  const std::string name = what.substr(0, what.find(':'));
  for (const CLI::Option* o : app.get_options()) {
    if (o->check_name(name)) return o;
  }
  return nullptr;
}

const CLI::Option* MissingRequired(const CLI::App& app) {
  for (const CLI::Option* o : app.get_options()) {
    if (!o->get_required()) continue;
    const std::vector<std::string>& given = o->results();
    if (o->count() == 0 || std::all_of(given.begin(), given.end(), [](const std::string& v) { return v.empty(); })) return o;
  }
  return nullptr;
}

Status MissingError(const CLI::Option& o) {
  return InvalidArgument((o.get_positional() ? "missing " : "missing required option ") + o.get_name());
}

}  // namespace

Status ParseToolArgs(CLI::App& app, std::vector<std::string> args) {
  // Every single-valued option may be given once: a second value is a mistake, not an override.
  for (CLI::Option* o : app.get_options()) {
    if (!o->get_positional() && o->get_items_expected_max() == 1 && o->get_type_size() != 0) {
      o->multi_option_policy(CLI::MultiOptionPolicy::Throw);
    }
  }
  app.set_help_flag();  // each tool prints its own usage for --help before parsing
  // Extras are collected, not thrown, so the first one can be named precisely.
  app.allow_extras();
  std::reverse(args.begin(), args.end());  // CLI11 consumes a vector from its back
  try {
    app.parse(args);
  } catch (const CLI::RequiredError& e) {
    if (const CLI::Option* o = MissingRequired(app)) return MissingError(*o);
    return InvalidArgument(e.what());
  } catch (const CLI::ArgumentMismatch& e) {
    const CLI::Option* o = MismatchedOption(app, e.what());
    if (o == nullptr) return InvalidArgument(e.what());
    return InvalidArgument("option " + o->get_name() + (o->count() > 1 ? " given twice" : " needs a value"));
  } catch (const CLI::ParseError& e) {
    return InvalidArgument(e.what());
  }
  if (const std::vector<std::string> extra = app.remaining(); !extra.empty()) {
    const std::string& a = extra.front();
    if (a.size() > 2 && a.rfind("--", 0) == 0) return InvalidArgument("unknown option " + a.substr(0, a.find('=')));
    return InvalidArgument("unexpected argument '" + a + "'");
  }
  if (const CLI::Option* o = MissingRequired(app)) return MissingError(*o);
  return Status::Ok();
}

}  // namespace mh
