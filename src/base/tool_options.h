// The `--name value` / `--name=value` options of the fixed-contract offline tools (`meterhub
// relay|water|audit|ledger …`), parsed strictly: unknown, repeated or value-less options are
// errors that name the option, so a script driving a tool never has a typo silently ignored.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh {

class ToolOptions {
 public:
  // argv[first..]: options only (no positional arguments). `flags` take no value ("true").
  static Result<ToolOptions> Parse(const std::vector<std::string>& argv, size_t first,
                                   const std::set<std::string>& known, const std::set<std::string>& flags = {});

  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  // InvalidArgument "missing required option --name" when absent or empty.
  Result<std::string> Required(const std::string& name) const;
  // `def` when absent; InvalidArgument naming the option when not an integer in [min, max].
  Result<long> Int(const std::string& name, long def, long min, long max) const;
  // nullopt when absent; InvalidArgument naming the option when not a finite number.
  Result<std::optional<double>> Double(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
};

// `s` without leading blanks (space, tab) and trailing blanks (space, tab, CR).
std::string_view TrimBlanks(std::string_view s);
// Whole-text numbers, surrounding blanks and a leading '+' allowed: false on anything else.
bool ParseIntText(std::string_view s, long* out);
bool ParseDoubleText(std::string_view s, double* out);  // finite only

}  // namespace mh
