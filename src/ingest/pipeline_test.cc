// The pipeline on a real (in-memory SQLite) store: late readings — a plain retry or a relay
// delivering, at night, what failed to upload during the day — are judged against their stored
// neighbours, not rejected as out of order.
#include "ingest/pipeline.h"

#include <map>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "core/time.h"
#include "core/zone.h"
#include "ingest/pipeline_fixture_for_test.h"
#include "store/sqlite/sqlite_store.h"
#include "vee/peak.h"

namespace mh::ingest {
namespace {

class PipelineLateTest : public PipelineOnMemoryStoreTest {
 protected:

  SubmitSummary Submit(std::vector<Reading> readings, const std::string& source = "relay:R1") {
    auto r = pipeline_->Submit(readings, source);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : SubmitSummary{};
  }

  std::vector<store::StoredReading> Stored() {
    return *store_->QueryReadings("M1", store::TimeRange{}, 0);
  }
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
  const std::vector<store::StoredReading> rows = Stored();
  ASSERT_EQ(rows.size(), 3u);  // 900, the estimate of the gap at 1800 (kept), 2700
  EXPECT_TRUE(rows[1].estimated);
  EXPECT_DOUBLE_EQ(rows[1].value, 11.5);
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

// The pipeline asks the store whether an abnormal reading is a redelivery only when the reading is
// not later than every quarantined one of its meter (issue 12: asking for each made a faulty meter's
// import quadratic). Redeliveries are still recognised: in order, late, and after a restart.
TEST_F(PipelineLateTest, RedeliveredAbnormalReadingsAreDuplicatesWhateverTheirOrder) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 1800, 9.0, ""}, {"M1", 2700, 8.0, ""}, {"M1", 3600, 12.0, ""}}, "mqtt");
  ASSERT_EQ(store_->QueryQuarantine("M1", store::TimeRange{}, 0)->size(), 2u);
  EXPECT_EQ(Submit({{"M1", 2700, 8.0, ""}}, "mqtt").duplicates, 1);  // the newest quarantined one
  EXPECT_EQ(Submit({{"M1", 1800, 9.0, ""}}, "mqtt").duplicates, 1);  // an older one
  // Quarantined after the meter's horizon was learned, then redelivered.
  Submit({{"M1", 4500, 11.0, ""}}, "mqtt");
  EXPECT_EQ(Submit({{"M1", 4500, 11.0, ""}}, "mqtt").duplicates, 1);
  // A new process knows no horizon: it asks the store.
  Pipeline restarted(store_.get(), &clock_, PipelineOptions{});
  auto again = restarted.Submit({{"M1", 4500, 11.0, ""}}, "mqtt");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->duplicates, 1);
  EXPECT_EQ(store_->QueryQuarantine("M1", store::TimeRange{}, 0)->size(), 3u);
}

TEST_F(PipelineLateTest, ALateNullIsQuarantinedAsNull) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 2700, 13.0, ""}}, "mqtt");
  const SubmitSummary late = Submit({{"M1", 1800, std::nullopt, "E"}});
  EXPECT_EQ(late.quarantined[static_cast<int>(Verdict::kNull)], 1);
}

}  // namespace
}  // namespace mh::ingest

namespace mh::ingest {
namespace {

// Issue 10 item 4: a stored reading is never silently rewritten. A different value for a stored
// (meter, ts) is a value_conflict event naming both values; the first value stays.
TEST_F(PipelineLateTest, ADifferentValueForAStoredReadingIsAConflictNotARewrite) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 1800, 11.0, ""}, {"M1", 2700, 12.0, ""}}, "http");
  const SubmitSummary rewrite = Submit({{"M1", 1800, 11.5, ""}}, "http");
  EXPECT_EQ(rewrite.conflicts, 1);
  EXPECT_EQ(rewrite.accepted, 0);
  EXPECT_EQ(rewrite.quarantined_total(), 0);
  const auto rows = Stored();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].value, 11.0);
  // The newest reading (p) too.
  EXPECT_EQ(Submit({{"M1", 2700, 99.0, ""}}, "mqtt").conflicts, 1);
  EXPECT_EQ(Stored()[2].value, 12.0);
  auto events = store_->QueryEvents("M1", store::TimeRange{}, 0);
  ASSERT_TRUE(events.ok());
  int conflicts = 0;
  for (const auto& e : *events) {
    if (e.kind != "value_conflict") continue;
    ++conflicts;
    if (e.ts_from == 1800) {
      EXPECT_NE(e.detail.find("\"stored\":11.0"), std::string::npos) << e.detail;
      EXPECT_NE(e.detail.find("\"received\":11.5"), std::string::npos) << e.detail;
    }
  }
  EXPECT_EQ(conflicts, 2);
  // The same value again is a plain duplicate.
  EXPECT_EQ(Submit({{"M1", 1800, 11.0, ""}}, "mqtt").duplicates, 1);
}

// A deliberate correction is a new version with who and why; the old value is kept, and the next
// reading's consumption follows.
TEST_F(PipelineLateTest, ACorrectionIsANewVersionAndKeepsTheOldValue) {
  Submit({{"M1", 900, 10.0, ""}, {"M1", 1800, 11.0, ""}, {"M1", 2700, 12.0, ""}}, "http");
  Pipeline::Correction c{"M1", 1800, 11.5, "register misread by the field technician", "ops", ""};
  auto revised = pipeline_->Correct(c);
  ASSERT_TRUE(revised.ok()) << revised.status().ToString();
  EXPECT_EQ(revised->version, 2u);
  const auto rows = Stored();
  EXPECT_EQ(rows[1].value, 11.5);
  EXPECT_DOUBLE_EQ(rows[1].consumption, 1.5);
  EXPECT_DOUBLE_EQ(rows[2].consumption, 0.5);
  auto versions = store_->ListReadingVersions("M1", 1800);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].value, 11.0);
  EXPECT_EQ((*versions)[0].replaced_by, "ops");
  EXPECT_EQ((*versions)[0].reason, "register misread by the field technician");
  // A value outside the neighbours is refused and nothing changes.
  Pipeline::Correction bad{"M1", 1800, 12.5, "typo", "ops", ""};
  auto refused = pipeline_->Correct(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Stored()[1].value, 11.5);
  Pipeline::Correction missing{"M1", 999, 10.5, "x", "ops", ""};
  EXPECT_EQ(pipeline_->Correct(missing).status().code(), StatusCode::kNotFound);
  // Correcting p moves p: the next reading is judged against the corrected register.
  ASSERT_TRUE(pipeline_->Correct({"M1", 2700, 12.2, "x", "ops", ""}).ok());
  EXPECT_EQ(Submit({{"M1", 3600, 12.1, ""}}, "mqtt").quarantined[static_cast<int>(Verdict::kError)], 1);
}

// Issue 10 item 5: one bad clock must not poison a meter.
TEST_F(PipelineLateTest, ReadingsFromTheFutureAreRefusedAndKept) {
  const int64_t now = clock_.NowSeconds();
  const SubmitSummary s = Submit({{"M1", now, 10.0, ""}, {"M1", 4102444800 /* 2100-01-01 */, 11.0, ""},
                                  {"M1", now + 900, 10.5, ""}},
                                 "mqtt");
  EXPECT_EQ(s.accepted, 2);
  EXPECT_EQ(s.rejected, 1);
  ASSERT_EQ(s.issues.size(), 1u);
  EXPECT_EQ(s.issues[0].line, 1);
  EXPECT_NE(s.issues[0].message.find("future"), std::string::npos);
  auto events = store_->QueryEvents("M1", store::TimeRange{}, 0);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "future_timestamp");
  // Within max_future plus the meter's interval: accepted.
  EXPECT_EQ(Submit({{"M1", now + 900 + 300, 10.7, ""}}, "mqtt").accepted, 1);
}

// Issue 10 item 10: a meter's rows sent newest first are all judged (late path), in parts, and
// every reading is stored once with consumptions that add up.
TEST_F(PipelineLateTest, NewestFirstRowsAreAllAccepted) {
  std::vector<Reading> rows;
  for (int i = 24999; i >= 0; --i) rows.push_back({"M1", 900 + 900 * int64_t{i}, 100.0 + i, ""});
  const SubmitSummary s = Submit(rows, "http");
  EXPECT_EQ(s.accepted, 25000);
  EXPECT_EQ(s.late, 24999);
  const auto stored = Stored();
  ASSERT_EQ(stored.size(), 25000u);
  double total = 0;
  for (const auto& r : stored) total += r.consumption;
  EXPECT_DOUBLE_EQ(total, 24999.0);
}

// Bulk loading (`meterhub import`): a meter's validation state is written once, at Pack, not
// with every batch it appears in — and never lost on the way.
TEST_F(PipelineLateTest, ABulkLoadHoldsStatesUntilPackAndAForgottenEntryKeepsItsState) {
  PipelineOptions options;
  options.auto_register = true;
  options.deferred_commits = true;
  Pipeline bulk(store_.get(), &clock_, options);
  ASSERT_TRUE(bulk.Submit({{"M1", 900, 10.0, ""}}, "import").ok());
  ASSERT_TRUE(bulk.Submit({{"M1", 1800, 11.0, ""}}, "import").ok());
  EXPECT_TRUE(store_->LoadMeterStates({"M1"})->empty()) << "the state went to the store before Pack";
  // Dropped from the cache mid-load: its next use must continue from 11.0, not from nothing.
  bulk.Invalidate("M1");
  auto third = bulk.Submit({{"M1", 2700, 12.5, ""}}, "import");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->accepted, 1);
  ASSERT_TRUE(bulk.Pack().ok());
  ASSERT_EQ(store_->LoadMeterStates({"M1"})->size(), 1u);
  // A daemon started on the loaded store judges the next reading against the last one loaded.
  Pipeline live(store_.get(), &clock_, PipelineOptions{});
  auto next = live.Submit({{"M1", 3600, 13.0, ""}}, "mqtt");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->accepted, 1);
  const std::vector<store::StoredReading> rows = Stored();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_DOUBLE_EQ(rows[2].consumption, 1.5);
  EXPECT_DOUBLE_EQ(rows[3].consumption, 0.5);
}

TEST_F(PipelineLateTest, ACancelledPipelineRefusesWork) {
  pipeline_->Cancel();
  auto r = pipeline_->Submit({{"M1", 900, 1.0, ""}}, "http");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mh::ingest

namespace mh::ingest {
namespace {

// Issue 17 item 7 in the daemon's pipeline, with the seed's numbers (T2 = 10.4, T1 = 103): the
// reading at 16:30 on 2020-10-30 against the accepted one at 16:30 the day before.
TEST(PipelineSamePeriod, TheThirdDifferenceMakesAReadingSudden) {
  for (double coefficient : {0.0, 1.0}) {
    store::SqliteOptions so;
    so.path = ":memory:";
    auto st = store::OpenSqliteStore(so);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    SimulatedClock clock{1'700'000'000'000};
    PipelineOptions o;
    o.auto_register = true;
    o.default_meter.interval_s = 3600;
    o.vee.peak = vee::PeakPeriod{*ParseTimestamp("2020-10-20T00:00:00+08:00"), *ParseTimestamp("2020-10-25T00:00:00+08:00")};
    o.vee.same_period_coefficient = coefficient;
    Pipeline pipeline(st->get(), &clock, o);
    const std::vector<std::pair<const char*, double>> rows = {
        {"2020-10-20T00:00:00+08:00", 1000}, {"2020-10-20T01:00:00+08:00", 1003}, {"2020-10-20T02:00:00+08:00", 1008},
        {"2020-10-20T03:00:00+08:00", 1010}, {"2020-10-20T04:00:00+08:00", 1015}, {"2020-10-20T05:00:00+08:00", 1023},
        {"2020-10-20T06:00:00+08:00", 1029}, {"2020-10-21T00:00:00+08:00", 1088}, {"2020-10-22T00:00:00+08:00", 1191},
        {"2020-10-23T00:00:00+08:00", 1283}, {"2020-10-24T00:00:00+08:00", 1372}, {"2020-10-25T00:00:00+08:00", 1455},
        {"2020-10-29T16:00:00+08:00", 1790}, {"2020-10-29T16:30:00+08:00", 1795}, {"2020-10-30T16:00:00+08:00", 1892}};
    for (const auto& [ts, value] : rows) {
      auto r = pipeline.Submit({{"M1", *ParseTimestamp(ts), value, ""}}, "mqtt");  // one by one, as a meter sends
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->accepted, 1) << ts;
    }
    auto last = pipeline.Submit({{"M1", *ParseTimestamp("2020-10-30T16:30:00+08:00"), 1900.0, ""}}, "mqtt");
    ASSERT_TRUE(last.ok());
    if (coefficient == 0) {
      EXPECT_EQ(last->accepted, 1);  // off by default
      continue;
    }
    EXPECT_EQ(last->quarantined[static_cast<int>(Verdict::kSudden)], 1);
    auto q = (*st)->QueryQuarantine("M1", store::TimeRange{}, 0);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ(q->size(), 1u);
    EXPECT_NE((*q)[0].reason.find("d3=105 > 1 x T1=103 against accepted 1795 at 2020-10-29T08:30:00Z"), std::string::npos)
        << (*q)[0].reason;
  }
}

// A yearly peak range is a span of local dates in each meter's own zone, not in the zone the
// configuration was read in: "07-01..07-01" read at +08:00 is 2024-06-30T22:00Z..2024-07-01T22:00Z
// for a meter in Berlin. The same hourly rows (+1 each hour, +5 at 20:00Z) teach M1 (Berlin) a
// T2 that holds the +5 (learned after 22:00Z), while M2 (+08:00) learns T2 = 1.3 at 16:00Z and
// finds the +5 sudden.
TEST(PipelineYearlyPeak, IsResolvedInTheMetersZone) {
  store::SqliteOptions so;
  so.path = ":memory:";
  auto st = store::OpenSqliteStore(so);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  auto berlin = TimeZone::Parse("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().message();
  const TimeZone plus8 = TimeZone::Fixed(8 * 3600);
  for (auto [id, zone] : {std::pair<const char*, TimeZone>{"M1", *berlin}, {"M2", plus8}}) {
    store::MeterInfo m;
    m.meter_id = id;
    m.kind = "electricity";
    m.interval_s = 3600;
    store::SetZone(m, zone);
    ASSERT_TRUE((*st)->UpsertMeter(m).ok());
  }
  SimulatedClock clock{1'730'000'000'000};
  PipelineOptions o;
  o.default_meter.tz = plus8;
  o.default_meter.interval_s = 3600;
  auto peak = vee::ParsePeak({"07-01..07-01"}, plus8);
  ASSERT_TRUE(peak.ok()) << peak.status().message();
  o.vee.peak = *peak;
  Pipeline pipeline(st->get(), &clock, o);
  int64_t ts = *ParseTimestamp("2024-06-30T15:00:00Z");
  const int64_t jump = *ParseTimestamp("2024-07-01T20:00:00Z");
  const int64_t end = *ParseTimestamp("2024-07-02T01:00:00Z");
  double value = 100;
  std::map<std::string, int> sudden;
  for (; ts <= end; ts += 3600) {
    value += ts == jump ? 5 : ts == end ? 3 : 1;
    for (const char* id : {"M1", "M2"}) {
      auto r = pipeline.Submit({{id, ts, value, ""}}, "mqtt");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      sudden[id] += r->quarantined[static_cast<int>(Verdict::kSudden)];
    }
  }
  EXPECT_EQ(sudden["M1"], 0);  // T2 = 5 × 1.3: the +3 after the peak is fine too
  EXPECT_GE(sudden["M2"], 1);  // from the +5 at 20:00Z on, after its peak ended at 16:00Z
}

}  // namespace
}  // namespace mh::ingest
