// SPEC 4.1 at the head-end: D from the meter's consumption over the days before its cycle against
// the mean of the other meters of its region, and its user attribute.
#include "audit/cycle_planner.h"

#include <gtest/gtest.h>

namespace mh::audit {
namespace {

constexpr int64_t kDay = 20777;  // the cycle's first day
constexpr int64_t kStart = kDay * 86400;
constexpr int64_t kThirtyDays = 30 * 86400;

class CyclePlannerTest : public ::testing::Test {
 protected:
  // A meter of `region` that used `kwh` over the 30 days before kDay (readings at both ends).
  void Meter(const std::string& id, const std::string& region, double kwh, const std::string& attribute = "residential") {
    readings_.AddReading(id, kStart - kThirtyDays - 3600, 1000);
    readings_.AddReading(id, kStart - 3600, 1000 + kwh);
    ASSERT_TRUE(store_->PutMeter(store::AuditMeterRow{id, attribute, region}).ok());
  }
  int D(const std::string& id) {
    auto row = store_->GetMeter(id);
    auto plan = planner_.Plan(**row, kDay, 0);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return plan.ok() ? plan->d : -1;
  }

  MemoryConsumptionSource readings_;
  std::unique_ptr<store::AuditStore> store_ = store::NewMemoryAuditStore();
  CyclePlanner planner_{&readings_, store_.get()};
};

TEST_F(CyclePlannerTest, AgainstTheRegionMean) {
  Meter("A", "110101001", 300);
  Meter("B", "110101001", 300);
  Meter("C", "110101001", 600);   // twice the others' mean: 3 / (1 + 1) = 1.5 → 2
  Meter("E", "110101001", 300, "enterprise");
  Meter("X", "220202002", 5000);  // another region: not in the mean
  // A's others: B 300, C 600, E 300 → Ē = 400; |300 − 400| / 400 = 0.25: 3 / 1.25 = 2.4 → 2.
  EXPECT_EQ(D("A"), 2);
  EXPECT_EQ(D("C"), 2);
  // An enterprise meter is watched daily, whatever it used.
  EXPECT_EQ(D("E"), 1);
  auto plan = planner_.Plan(**store_->GetMeter("A"), kDay, 0);
  EXPECT_DOUBLE_EQ(plan->consumption, 300);
  EXPECT_DOUBLE_EQ(plan->region_mean, 400);
  EXPECT_EQ(plan->others, 3);
  EXPECT_EQ(plan->region, "110101001");
  // X alone in its region: Ē = 0, any consumption is off the (empty) mean: D_min.
  EXPECT_EQ(D("X"), 1);
}

TEST_F(CyclePlannerTest, EqualToTheMeanIsQ) {
  Meter("A", "110101001", 300);
  Meter("B", "110101001", 300);
  EXPECT_EQ(D("A"), 3);
}

TEST_F(CyclePlannerTest, MetersWithoutReadingsAndRelayRegions) {
  Meter("A", "", 300);
  readings_.SetRegion("A", "330303003");  // no region at commissioning: its relay identity's
  readings_.SetRegion("R1", "330303003");
  readings_.AddReading("R1", kStart - kThirtyDays, 50);
  readings_.AddReading("R1", kStart - 1, 350);
  readings_.SetRegion("R2", "330303003");  // registered in the relay, no readings: left out of Ē
  auto plan = planner_.Plan(**store_->GetMeter("A"), kDay, 0);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->region, "330303003");
  EXPECT_EQ(plan->others, 1);
  EXPECT_DOUBLE_EQ(plan->region_mean, 300);
  EXPECT_EQ(plan->d, 3);
  // A meter with no readings in the span counts as having used nothing: |0 − 300| / 300 = 1 → 2.
  ASSERT_TRUE(store_->PutMeter(store::AuditMeterRow{"Q", "residential", "330303003"}).ok());
  EXPECT_EQ(D("Q"), 2);
  EXPECT_FALSE(planner_.Plan(store::AuditMeterRow{"Z", "household", ""}, kDay, 0).ok());
}

TEST(MemoryConsumptionSourceTest, RegisterDifferences) {
  MemoryConsumptionSource s;
  EXPECT_FALSE(*s.IsRegistered("M"));
  s.AddReading("M", 100, 10);
  s.AddReading("M", 200, 15);
  s.AddReading("M", 300, 22);
  EXPECT_TRUE(*s.IsRegistered("M"));
  EXPECT_EQ(*s.Consumption("M", 100, 300), 12);
  EXPECT_EQ(*s.Consumption("M", 150, 250), 5);   // register at 150 is the one of 100
  EXPECT_EQ(*s.Consumption("M", 0, 300), 12);    // history starts inside: from the first reading
  EXPECT_FALSE(s.Consumption("M", 0, 50)->has_value());
  EXPECT_FALSE(s.Consumption("N", 0, 500)->has_value());
}

}  // namespace
}  // namespace mh::audit
