// The pipeline on a real (in-memory SQLite) store: late readings — a plain retry or a relay
// delivering, at night, what failed to upload during the day — are judged against their stored
// neighbours, not rejected as out of order.
#include "ingest/pipeline.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "store/sqlite/sqlite_store.h"

namespace mh::ingest {
namespace {

class PipelineLateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = ":memory:";
    auto s = store::OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    PipelineOptions options;
    options.auto_register = true;
    pipeline_ = std::make_unique<Pipeline>(store_.get(), &clock_, options);
  }

  SubmitSummary Submit(std::vector<Reading> readings, const std::string& source = "relay:R1") {
    auto r = pipeline_->Submit(readings, source);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SubmitSummary{};
  }

  std::vector<store::StoredReading> Stored() {
    return *store_->QueryReadings("M1", store::TimeRange{}, 0);
  }

  SimulatedClock clock_{1'600'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineLateTest, ALateReadingBetweenItsNeighboursIsAcceptedAndTheNextConsumptionRecomputed) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 2700, 13.0, ""}}, "mqtt");
  const SubmitSummary late = Submit({{"M1", 1800, 12.5, ""}});
  EXPECT_EQ(late.accepted, 1);
  EXPECT_EQ(late.late, 1);
  const std::vector<store::StoredReading> rows = Stored();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].ts, 1800);
  EXPECT_DOUBLE_EQ(rows[1].consumption, 2.5);
  EXPECT_EQ(rows[1].source, "relay:R1");
  EXPECT_DOUBLE_EQ(rows[2].consumption, 0.5);  // 13.0 − 12.5, was 3.0
  EXPECT_EQ(rows[2].source, "mqtt");
  // Delivered again through another relay: stored once.
  const SubmitSummary again = Submit({{"M1", 1800, 12.5, ""}}, "relay:R2");
  EXPECT_EQ(again.duplicates, 1);
  EXPECT_EQ(Stored().size(), 3u);
}

TEST_F(PipelineLateTest, ALateReadingOutsideItsNeighboursIsQuarantinedNamingThem) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 2700, 13.0, ""}}, "mqtt");
  const SubmitSummary late = Submit({{"M1", 1800, 14.0, ""}});
  EXPECT_EQ(late.accepted, 0);
  EXPECT_EQ(late.quarantined[static_cast<int>(Verdict::kError)], 1);
  auto q = store_->QueryQuarantine("M1", store::TimeRange{}, 0);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_NE((*q)[0].reason.find("not between its accepted neighbours: 10 at"), std::string::npos) << (*q)[0].reason;
  EXPECT_NE((*q)[0].reason.find("13 at"), std::string::npos) << (*q)[0].reason;
  EXPECT_EQ(Stored().size(), 2u);
}

TEST_F(PipelineLateTest, LateReadingsInOneBatchSeeEachOther) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 3600, 14.0, ""}}, "mqtt");
  // A relay batch: two failed readings, newest first.
  const SubmitSummary late = Submit({{"M1", 2700, 13.0, ""}, {"M1", 1800, 11.0, ""}});
  EXPECT_EQ(late.accepted, 2);
  const std::vector<store::StoredReading> rows = Stored();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(rows[1].consumption, 1.0);  // 11 − 10
  EXPECT_DOUBLE_EQ(rows[2].consumption, 2.0);  // 13 − 11
  EXPECT_DOUBLE_EQ(rows[3].consumption, 1.0);  // 14 − 13
  double total = 0;
  for (const auto& r : rows) total += r.consumption;
  EXPECT_DOUBLE_EQ(total, 4.0);  // the meter's consumption is unchanged by backfilling
}

TEST_F(PipelineLateTest, ALateNullIsQuarantinedAsNull) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 2700, 13.0, ""}}, "mqtt");
  const SubmitSummary late = Submit({{"M1", 1800, std::nullopt, "E"}});
  EXPECT_EQ(late.quarantined[static_cast<int>(Verdict::kNull)], 1);
}

}  // namespace
}  // namespace mh::ingest
