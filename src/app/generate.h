// `meterhub sim generate`: writes a simulated fleet's readings as MeterHub CSV (the fitted load
// model, with faults injected at the given rates) — test and benchmark data on demand, shaped like
// a fleet: rows in time order as a head-end receives them (every meter's reading at T, then T+15
// min, ...), or grouped by meter; ISO-8601 or epoch timestamps.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace mh::app {

struct GenerateArgs {
  int meters = 100;
  int days = 7;
  int intervals = 0;                  // > 0: this many 15-minute intervals instead of --days
  std::string order = "time";         // "time" (as a head-end receives them) or "meter"
  std::string timestamps = "iso";     // "iso" (ISO-8601 UTC) or "epoch" (seconds)
  double electricity_share = 0.7;
  uint64_t seed = 1;
  std::string start = "2020-06-01";   // first day (UTC+8)
  std::string out = "-";              // "-" = stdout
  std::string ground_truth;           // optional CSV of the injected faults
  double null_rate = 0, backward_rate = 0, spike_rate = 0, appliance_rate = 0;
};

int RunGenerate(const GenerateArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mh::app
