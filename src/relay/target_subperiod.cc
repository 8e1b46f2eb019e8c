#include "relay/target_subperiod.h"

#include <utility>

namespace mh::relay {

std::map<int, double> RegionLevels(const std::vector<LevelReport>& reports) {
  std::map<std::pair<int, std::string>, int> latest;  // (sub-period, meter) → level
  for (const auto& r : reports) latest[{r.sub_period, r.meter_id}] = r.level;
  std::map<int, std::pair<double, int>> sums;  // sub-period → (sum, count)
  for (const auto& [key, level] : latest) {
    auto& s = sums[key.first];
    s.first += level;
    s.second += 1;
  }
  std::map<int, double> out;
  for (const auto& [sub_period, s] : sums) out[sub_period] = s.first / s.second;
  return out;
}

std::optional<int> TargetSubPeriod(const std::vector<LevelReport>& reports) {
  std::optional<int> best;
  double best_level = 0;
  for (const auto& [sub_period, level] : RegionLevels(reports)) {  // ascending index: ties keep the lowest
    if (!best || level < best_level) {
      best = sub_period;
      best_level = level;
    }
  }
  return best;
}

}  // namespace mh::relay
