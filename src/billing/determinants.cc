#include "billing/determinants.h"

#include <algorithm>

namespace mh::billing {

std::vector<BandTotal> SplitIntoBands(const std::vector<Interval>& intervals, const TariffCalendar& calendar,
                                      const TimeZone& tz) {
  std::vector<BandTotal> out;
  for (const std::string& b : calendar.bands()) out.push_back({b, 0, 0});
  for (const Interval& iv : intervals) {
    if (iv.end <= iv.start) {  // a zero-length interval (a meter's first reading): no time to split
      continue;
    }
    const double span = static_cast<double>(iv.end - iv.start);
    // The band of (t, next] is the band in force just after t (a reading closes the interval before it).
    for (int64_t t = iv.start; t < iv.end;) {
      const int32_t offset = tz.OffsetAt(t);
      const int64_t local = t + offset;
      int64_t stretch_end_local = 0;
      const int band = calendar.BandAtLocal(local, &stretch_end_local);
      // By the wall clock while the offset holds; a change of offset (daylight saving) before the
      // band's end starts a new stretch at the change: its local time (and band) jumps.
      int64_t next = t + (stretch_end_local - local);
      if (tz.OffsetAt(next - 1) != offset) {
        int64_t lo = t, hi = next - 1;  // OffsetAt(lo) == offset != OffsetAt(hi)
        while (hi - lo > 1) {
          const int64_t mid = lo + (hi - lo) / 2;
          (tz.OffsetAt(mid) == offset ? lo : hi) = mid;
        }
        next = hi;
      }
      const int64_t seg_end = std::min(next, iv.end);
      const double share = iv.kwh * static_cast<double>(seg_end - t) / span;
      out[band].kwh += share;
      if (iv.estimated) out[band].estimated_kwh += share;
      t = seg_end;
    }
  }
  return out;
}

}  // namespace mh::billing
