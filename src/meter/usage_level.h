// SPEC 2.2: the usage level of a meter in each allocated sub-period — how often its consumption
// strays from a trimmed-mean reference, mapped through a loadable start/stop-count table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::meter {

// One row of the level table: start/stop counts T in [min, max] map to `level`.
struct LevelRange {
  int level = 0;
  int64_t min = 0;
  int64_t max = 0;  // kUnbounded for "∞)"
};

class LevelTable {
 public:
  static constexpr int64_t kUnbounded = INT64_MAX;

  // 0:[0,0] 1:[1,2] 2:[3,5] 3:[6,∞)
  static LevelTable Default();
  // The text form above: "LEVEL:[MIN,MAX]" items separated by spaces, commas or semicolons;
  // MAX may be ∞, inf or * (then ")" or "]" closes it). Ranges must not overlap and
  // must have min <= max; the message names the bad item.
  static Result<LevelTable> Parse(std::string_view text);

  // The level whose range contains t; NotFound when the table leaves t uncovered.
  Result<int> LevelOf(int64_t t) const;
  const std::vector<LevelRange>& ranges() const { return ranges_; }
  // Back to the text form ("inf" for ∞ is spelled ∞).
  std::string ToString() const;

 private:
  std::vector<LevelRange> ranges_;  // sorted by min
};

struct LevelOptions {
  double trim = 0.1;               // fraction dropped at each end before the mean, in [0, 0.5)
  std::optional<double> theta;     // |c - ref| threshold; unset: theta_factor * ref
  double theta_factor = 0.5;       // used when theta is unset
  LevelTable table = LevelTable::Default();
};

// One detection point: minutes since the window start and the consumption of that interval.
struct DetectionPoint {
  int minute = 0;
  double consumption = 0;
};

struct SubPeriodLevel {
  int sub_period = 0;
  int64_t start_stop_count = 0;  // T
  int level = 0;
};

// ref: sort, drop floor(M * trim) values at each end (a 1e-9 guard absorbs M*trim landing a
// rounding error below an integer), mean of the rest. InvalidArgument when nothing is left.
Result<double> TrimmedMeanReference(std::vector<double> consumptions, double trim);

// For each sub-period in `sub_periods` (output in ascending order): T = number of its points
// (minute / slot_minutes == sub_period) with |c - ref| > theta; ref uses every point given.
Result<std::vector<SubPeriodLevel>> ComputeUsageLevels(const std::vector<DetectionPoint>& points,
                                                       std::vector<int> sub_periods,
                                                       int slot_minutes,
                                                       const LevelOptions& options = {});

}  // namespace mh::meter
