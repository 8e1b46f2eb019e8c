#include "relay/target_subperiod.h"

#include <gtest/gtest.h>

namespace mh::relay {
namespace {

TEST(TargetSubPeriod, LowestMeanLevelWins) {
  // Sub-period 7: levels 2, 1 → 1.5; 20: 0, 2 → 1.0; 45: 3 → 3.0.
  std::vector<LevelReport> r = {{"A", 7, 2}, {"B", 7, 1}, {"A", 20, 0}, {"B", 20, 2}, {"C", 45, 3}};
  auto levels = RegionLevels(r);
  EXPECT_DOUBLE_EQ(levels[7], 1.5);
  EXPECT_DOUBLE_EQ(levels[20], 1.0);
  EXPECT_DOUBLE_EQ(levels[45], 3.0);
  EXPECT_EQ(TargetSubPeriod(r), 20);
}

TEST(TargetSubPeriod, TieGoesToTheLowestIndex) {
  EXPECT_EQ(TargetSubPeriod({{"A", 30, 1}, {"A", 12, 1}, {"B", 30, 1}}), 12);
}

TEST(TargetSubPeriod, ALaterReportReplacesTheEarlierOne) {
  // A first reported 3 for sub-period 5, then 0: 5 now has mean 0 and wins over 9 (mean 1).
  EXPECT_EQ(TargetSubPeriod({{"A", 5, 3}, {"A", 9, 1}, {"A", 5, 0}}), 5);
}

TEST(TargetSubPeriod, NothingReported) { EXPECT_FALSE(TargetSubPeriod({}).has_value()); }

}  // namespace
}  // namespace mh::relay
