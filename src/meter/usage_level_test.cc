// SPEC 2.2 exact vectors, checked by hand and with python3 (math.floor(M*trim), mean of the rest):
//   c = [1,1,1,1,1, 1,2,1,1,1, 2,0,2,1,2, 9,0,2,0,2] at minutes 0..19, slot 5 min.
//   trim 0.1: M = 20, floor(2.0) = 2 per end; sorted drops 0,0 and 2,9; the 16 left sum to 20,
//   ref = 1.25; theta = 0.625. T per sub-period = [0, 1, 4, 5] → default levels [0, 1, 2, 2].
//   theta 0.9: only 0 and 9 stray → T = [0, 0, 1, 3] → levels [0, 0, 1, 2].
#include "meter/usage_level.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

std::vector<DetectionPoint> Points() {
  const double c[] = {1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 0, 2, 1, 2, 9, 0, 2, 0, 2};
  std::vector<DetectionPoint> p;
  for (int m = 0; m < 20; ++m) p.push_back({m, c[m]});
  return p;
}

TEST(LevelTableTest, DefaultAndParse) {
  const LevelTable d = LevelTable::Default();
  EXPECT_EQ(d.ToString(), "0:[0,0] 1:[1,2] 2:[3,5] 3:[6,∞)");
  auto p = LevelTable::Parse("0:[0,0] 1:[1,2] 2:[3,5] 3:[6,∞)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ToString(), d.ToString());
  for (auto [t, level] : std::vector<std::pair<int, int>>{{0, 0}, {1, 1}, {2, 1}, {3, 2}, {5, 2}, {6, 3}, {1000, 3}}) {
    EXPECT_EQ(*d.LevelOf(t), level) << t;
  }
  auto q = LevelTable::Parse("1:[1, 3) 0:[0,0]; 2:[3,inf)");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->ToString(), "0:[0,0] 1:[1,2] 2:[3,∞)");
}

TEST(LevelTableTest, Rejects) {
  EXPECT_FALSE(LevelTable::Parse("").ok());
  EXPECT_FALSE(LevelTable::Parse("0:[0,1] 1:[1,2]").ok());  // overlap
  EXPECT_FALSE(LevelTable::Parse("0:[2,1]").ok());
  EXPECT_FALSE(LevelTable::Parse("0:[0,x]").ok());
  EXPECT_FALSE(LevelTable::Parse("0:[0,1").ok());
  auto gap = LevelTable::Parse("0:[0,0] 2:[3,5]");
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->LevelOf(1).status().code(), StatusCode::kNotFound);
}

TEST(ReferenceTest, TrimmedMean) {
  EXPECT_DOUBLE_EQ(*TrimmedMeanReference({1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 2, 0, 2, 1, 2, 9, 0, 2, 0, 2}, 0.1), 1.25);
  EXPECT_DOUBLE_EQ(*TrimmedMeanReference({5, 1, 100}, 0.1), 106.0 / 3);  // floor(0.3) = 0
  EXPECT_DOUBLE_EQ(*TrimmedMeanReference({5, 1, 100}, 0.34), 5);         // floor(1.02) = 1
  // 0.29 * 100 = 28.999999999999996 in double: the guard keeps floor at 29.
  std::vector<double> h(100);
  for (int i = 0; i < 100; ++i) h[i] = i * i;
  // python3: sum(i*i for i in range(29, 71)) / 42 (floor 28 would give 2611.5).
  EXPECT_DOUBLE_EQ(*TrimmedMeanReference(h, 0.29), 2597.1666666666665);
  EXPECT_FALSE(TrimmedMeanReference({}, 0.1).ok());
  EXPECT_FALSE(TrimmedMeanReference({1, 2}, 0.5).ok());
}

TEST(UsageLevelTest, ExactVector) {
  auto r = ComputeUsageLevels(Points(), {3, 0, 1, 2}, 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  const int64_t t[] = {0, 1, 4, 5};
  const int level[] = {0, 1, 2, 2};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*r)[i].sub_period, i);
    EXPECT_EQ((*r)[i].start_stop_count, t[i]) << i;
    EXPECT_EQ((*r)[i].level, level[i]) << i;
  }
}

TEST(UsageLevelTest, AbsoluteTheta) {
  LevelOptions o;
  o.theta = 0.9;
  auto r = ComputeUsageLevels(Points(), {0, 1, 2, 3}, 5, o);
  ASSERT_TRUE(r.ok());
  const int64_t t[] = {0, 0, 1, 3};
  const int level[] = {0, 0, 1, 2};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ((*r)[i].start_stop_count, t[i]) << i;
    EXPECT_EQ((*r)[i].level, level[i]) << i;
  }
}

TEST(UsageLevelTest, OnlyAllocatedSubPeriods) {
  auto r = ComputeUsageLevels(Points(), {2}, 5);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].start_stop_count, 4);  // ref still uses all 20 points
  EXPECT_FALSE(ComputeUsageLevels({}, {0}, 5).ok());
}

}  // namespace
}  // namespace mh::meter
