// Billing determinants (issue 18 item 4): a meter's interval consumption split into the bands of
// its tariff calendar, in the meter's zone (a 23- or 25-hour day has its own hours).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "billing/tariff.h"
#include "core/zone.h"

namespace mh::billing {

// The consumption of (start, end]: how much, and whether it is an estimate (the E of VEE).
struct Interval {
  int64_t start = 0;
  int64_t end = 0;
  double kwh = 0;
  bool estimated = false;
};

struct BandTotal {
  std::string band;
  double kwh = 0;            // everything in the band, estimated part included
  double estimated_kwh = 0;  // the part from estimated intervals
};

// Per band of `calendar` (in its order, zero bands included). An interval that spans a band
// change is split in proportion to the time it spends in each band (consumption is taken as
// even inside an interval: exact for intervals that do not cross a band change).
std::vector<BandTotal> SplitIntoBands(const std::vector<Interval>& intervals, const TariffCalendar& calendar,
                                      const TimeZone& tz);

}  // namespace mh::billing
