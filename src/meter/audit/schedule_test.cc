// SPEC 4.1 / 4.4 exact vectors: D, the windows of the day, the day → window map, D'.
#include "meter/audit/schedule.h"

#include <cmath>

#include <gtest/gtest.h>

namespace mh::meter::audit {
namespace {

TEST(CycleLengthTest, FormulaVectors) {
  // Residential (Q = 3) meter on the region mean: D = 3, the seed's 3-day cycle.
  EXPECT_EQ(*CycleLength(100, 100, kResidentialQ), 3);
  EXPECT_EQ(*CycleLength(150, 100, kResidentialQ), 2);   // 3 / 1.5
  EXPECT_EQ(*CycleLength(300, 100, kResidentialQ), 1);   // 3 / 3
  EXPECT_EQ(*CycleLength(120, 100, kResidentialQ), 3);   // 3 / 1.2 = 2.5 → half away from zero
  EXPECT_EQ(*CycleLength(80, 100, kResidentialQ), 3);    // |−20| / 100 too
  EXPECT_EQ(*CycleLength(100, 100, kEnterpriseQ), 1);    // enterprise: watched every day
  EXPECT_EQ(*CycleLength(0, 0, kResidentialQ), 3);       // nothing anywhere: no deviation
  EXPECT_EQ(*CycleLength(5, 0, kResidentialQ), 1);       // ε: a huge deviation → D_min
  CycleOptions o;
  o.time_weight = 3;
  EXPECT_EQ(*CycleLength(100, 100, kResidentialQ, o), 7);  // 9 clamped to D_max
  o.time_weight = 2.5;
  EXPECT_EQ(*CycleLength(100, 100, kEnterpriseQ, o), 3);   // 2.5 → 3
  EXPECT_FALSE(CycleLength(100, 100, 0).ok());
  EXPECT_FALSE(CycleLength(std::nan(""), 100, 3).ok());
  o.d_min = 5;
  o.d_max = 4;
  EXPECT_FALSE(CycleLength(100, 100, 3, o).ok());
  EXPECT_DOUBLE_EQ(RegionMean({90, 100, 110}), 100);
  EXPECT_EQ(RegionMean({}), 0);
}

TEST(AdjustedCycleTest, LabelVectors) {
  EXPECT_EQ(AdjustedCycleLength(0, 0), 3);
  EXPECT_EQ(AdjustedCycleLength(3, 2), 2);    // 3 / 1.5
  EXPECT_EQ(AdjustedCycleLength(5, 5), 2);    // 3 / 2 = 1.5 → 2
  EXPECT_EQ(AdjustedCycleLength(8, 7), 1);    // 3 / 2.5 = 1.2
  EXPECT_EQ(AdjustedCycleLength(100, 100), 1);
  EXPECT_EQ(AdjustedCycleLength(1, 1, {7, 0.1}), 6);  // 7 / 1.2 = 5.83
}

TEST(WindowTest, SeedThreeDays) {
  EXPECT_EQ(WindowOf(1, 3), (WindowSpan{0, 28800}));       // 0–8 h
  EXPECT_EQ(WindowOf(2, 3), (WindowSpan{28800, 57600}));   // 8–16 h
  EXPECT_EQ(WindowOf(3, 3), (WindowSpan{57600, 86400}));   // 16–24 h
  EXPECT_EQ(WindowOf(1, 1), (WindowSpan{0, 86400}));
  // D = 7: floor bounds tile the day exactly.
  EXPECT_EQ(WindowOf(1, 7), (WindowSpan{0, 12342}));
  EXPECT_EQ(WindowOf(2, 7), (WindowSpan{12342, 24685}));
  EXPECT_EQ(WindowOf(7, 7), (WindowSpan{74057, 86400}));
  int64_t total = 0;
  for (int w = 1; w <= 7; ++w) total += WindowOf(w, 7).length();
  EXPECT_EQ(total, 86400);
}

TEST(CycleTest, DaysAndUtcTimes) {
  const int64_t day = *ParseDay("2026-11-20");
  EXPECT_EQ(day, 20777);
  EXPECT_EQ(FormatDay(day), "2026-11-20");
  EXPECT_FALSE(ParseDay("2026-02-30").ok());
  EXPECT_FALSE(ParseDay("2026-1-20").ok());
  Cycle c{day, 3, 0};
  EXPECT_EQ(c.WindowOnDay(day - 1), 0);
  EXPECT_EQ(c.WindowOnDay(day), 1);
  EXPECT_EQ(c.WindowOnDay(day + 2), 3);
  EXPECT_EQ(c.WindowOnDay(day + 3), 0);
  EXPECT_EQ(c.WindowStartUtc(1), 1795132800);
  EXPECT_EQ(c.WindowEndUtc(1), 1795132800 + 28800);
  EXPECT_EQ(c.WindowStartUtc(2), 1795132800 + 86400 + 28800);
  Cycle east{day, 3, 8 * 3600};  // UTC+8: local midnight is 16:00 UTC the day before
  EXPECT_EQ(east.WindowStartUtc(1), 1795132800 - 8 * 3600);
  EXPECT_EQ(LocalDay(1795132800 - 1, 0), day - 1);
  EXPECT_EQ(LocalDay(1795132800 - 8 * 3600, 8 * 3600), day);
  EXPECT_EQ(LocalDay(-1, 0), -1);
}

}  // namespace
}  // namespace mh::meter::audit
