// The offline `meterhub vee` tool (SPEC 1.3) as a library function: validates a readings CSV,
// learns T2/T1 per meter from a peak period first, then judges every row in input order and
// writes the verdicts and alerts. Memory: per-meter state plus one byte per row.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "vee/options.h"
#include "vee/peak.h"

namespace mh::vee {

// Every option of SPEC 1.3 plus the [beyond] ones. Unset fields take the value from the
// [vee] table of --config, else the default shown. Texts are checked by RunVee (exit 2).
struct VeeArgs {
  std::string readings;                            // READINGS.csv (required)
  std::string config;                              // --config FILE (TOML, [vee] table)
  std::vector<std::string> peak;                   // --peak FROM..TO or MM-DD..MM-DD, repeatable (none: T1/T2 not learned)
  std::optional<std::string> interval;             // --interval 1h: nominal upload interval
  std::optional<std::string> period;               // --period day|week|month (day)
  std::optional<std::string> tz;                   // --tz +08:00 or an IANA name: periods, dates, offset-less times
  std::optional<double> spike_coefficient;         // --spike-coefficient 1.3
  std::optional<double> alert_coefficient;         // --alert-coefficient 1.0
  std::optional<int> max_alerts;                   // --max-alerts 1 (per meter and period)
  std::string verdicts;                            // --verdicts OUT.csv ("-": the `out` stream)
  std::string alerts;                              // --alerts OUT.csv ("-": the `out` stream)
  // [beyond] (SPEC 1.1); all off by default.
  std::optional<double> negative_tolerance;        // --negative-tolerance 0.002
  std::optional<int> reset_after;                  // --reset-after 3
  std::optional<double> max_interval_consumption;  // --max-interval-consumption 7
  std::optional<double> register_max;              // --register-max 99999.9 (rollover)
  std::optional<double> t2_quantile;               // --t2-quantile 0.99 (robust T2; 1 = max)
  std::optional<double> t1;                        // --t1 100: a customer T1 for every meter
  std::optional<double> same_period_coefficient;   // --same-period-coefficient 2: "same time last period" check (0 = off)
  bool progress = true;                            // a progress bar when stderr is a terminal
};

// Runs the tool; returns the exit code: 0 success, 2 bad file, row or option (message on `err`,
// naming the line of a bad row), 1 an I/O failure while writing. The summary goes to `err`.
int RunVee(const VeeArgs& args, std::ostream& out, std::ostream& err);

// The command line after `meterhub vee` (e.g. {"r.csv", "--peak", "2020-06-01..2020-09-30"});
// "--opt value" or "--opt=value".
Result<VeeArgs> ParseVeeArgs(const std::vector<std::string>& argv);
// Fills the unset fields of `args` from the configuration file at `path` (the caller, meterhub's
// main, owns reading configuration files).
using ConfigLoader = std::function<Status(const std::string& path, VeeArgs* args)>;

// ParseVeeArgs (+ load_config for --config) + RunVee; `--help` prints the usage to `out`.
int RunVeeCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                  const ConfigLoader& load_config = {});
const char* VeeUsage();


// Up to 6 decimals, trailing zeros trimmed: 103 → "103", 10.4 → "10.4", 1/3 → "0.333333".
std::string FormatNumber6(double v);

}  // namespace mh::vee
