// Estimation, the E of VEE (Oracle Utilities MDM's estimation rules as the anchor): registers for
// the instants a meter's accepted series lacks — missing readings and quarantined ones — from the
// accepted registers around them. Short gaps: linear interpolation between the two accepted
// registers that bound the gap. Long gaps: the meter's own profile (the same weekday and local
// time in the weeks before), scaled so the estimates meet the bounding registers exactly.
// Pure domain logic: estimates never feed validation (they are never p) and change no verdict.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/zone.h"
#include "vee/validator.h"

namespace mh::vee {

struct EstimationOptions {
  int64_t linear_max_gap_s = 3 * 3600;  // a gap up to this long (bounding reading to bounding reading) is interpolated
  int profile_weeks = 4;                // weeks of history the profile looks back
  // A history register is read off two accepted readings at most this many nominal intervals
  // apart (interpolated between them): a profile is not made of another gap.
  int history_max_span_intervals = 2;
};

struct Estimate {
  int64_t ts = 0;
  double value = 0;        // the estimated register
  double consumption = 0;  // value − the register before it (the bounding one or the previous estimate)
};

struct GapEstimate {
  std::string method;      // "linear" | "profile"
  int profile_weeks = 0;   // weeks the profile used (0 for linear)
  std::vector<Estimate> estimates;
  // {"from":{"ts":…,"value":…},"to":{…},"weeks":n}: what the estimate was made from.
  std::string InputsJson(const Point& from, const Point& to) const;
};

// The nominal instants a gap between accepted readings `from` and `to` lacks: from.ts + k·interval
// for k ≥ 1 while at least half an interval before to.ts.
std::vector<int64_t> MissingInstants(const Point& from, const Point& to, int64_t interval_s);

// Plain linear interpolation of the register at each of `instants` (each inside (from.ts, to.ts)).
GapEstimate InterpolateLinear(const Point& from, const Point& to, const std::vector<int64_t>& instants);

// The estimate of SPEC-less "E": linear for a gap of at most linear_max_gap_s, else the profile
// from `history` (the meter's accepted readings before `from`, ascending) in the meter's zone,
// falling back to linear when the history holds no usable week. Registers never run backwards:
// a register that falls across the gap (from.value > to.value) is interpolated flat.
GapEstimate EstimateGap(const Point& from, const Point& to, const std::vector<int64_t>& instants,
                        const std::vector<Point>& history, int64_t interval_s, const TimeZone& tz,
                        const EstimationOptions& options);

}  // namespace mh::vee
