#include "vee/consumption.h"

namespace mh::vee {

std::vector<PeriodTotal> ConsumptionPerPeriod(const std::vector<store::StoredReading>& readings, PeriodKind kind,
                                              const TimeZone& tz) {
  std::vector<PeriodTotal> out;
  for (const auto& r : readings) {
    if (out.empty() || r.ts > out.back().period.end) {
      out.push_back({PeriodOf(r.ts, kind, tz), 0, 0});
    }
    out.back().consumption += r.consumption;
    out.back().readings += 1;
    if (r.estimated) out.back().estimated += r.consumption;
  }
  return out;
}

}  // namespace mh::vee
