// Consumption per calendar period (day / week / month in the meter's zone) from accepted readings:
// the sum of their per-interval consumption, each reading counted in the period it closes.
#pragma once

#include <vector>

#include "core/zone.h"
#include "store/records.h"

namespace mh::vee {

struct PeriodTotal {
  Period period;
  double consumption = 0;
  int64_t readings = 0;
  double estimated = 0;  // the part of `consumption` closed by estimated readings (the E of VEE)
};

// `readings` in ascending time order; returns the periods that hold at least one reading.
std::vector<PeriodTotal> ConsumptionPerPeriod(const std::vector<store::StoredReading>& readings, PeriodKind kind,
                                              const TimeZone& tz);

}  // namespace mh::vee
