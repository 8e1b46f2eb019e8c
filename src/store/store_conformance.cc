// The Store contract (store.h) as tests. Every backend runs exactly these, so a behaviour the
// pipeline or the API relies on is pinned here once, not per backend.
#include "store/store_conformance.h"

#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <limits>
#include <thread>
#include <tuple>
#include <vector>

namespace mh::store::conformance {

std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) { return info.param.name; }

void PrintTo(const StoreBackend& backend, std::ostream* out) { *out << backend.name; }

ScopedTempDir::ScopedTempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mh_store_test_XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void StoreConformanceTest::SetUp() {
  dir_ = std::make_unique<ScopedTempDir>();
  ASSERT_FALSE(dir_->path().empty()) << "cannot make a temporary directory";
  Result<std::unique_ptr<Store>> store = GetParam().make(dir_->path());
  if (IsSkipped()) return;  // the backend cannot run here (e.g. no PostgreSQL server binaries)
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

void StoreConformanceTest::Reopen() {
  store_.reset();
  Result<std::unique_ptr<Store>> store = GetParam().make(dir_->path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

void StoreConformanceTest::TearDown() {
  store_.reset();  // close before the directory goes
  dir_.reset();
}

NewAlert SampleAlert(const std::string& meter, const std::string& terminal, int64_t period_start, int64_t ts,
                     int64_t next_attempt_at) {
  NewAlert n;
  n.alert.meter_id = meter;
  n.alert.terminal_id = terminal;
  n.alert.period_start = period_start;
  n.alert.ts = ts;
  n.alert.reading = 1234.5;
  n.alert.period_consumption = 80.25;
  n.alert.threshold = 50;
  n.alert.excess = 30.25;
  n.alert.created_at = ts + 1;
  n.alert.estimated_consumption = 6.5;
  n.delivery.terminal_id = terminal;
  n.delivery.channel = "webhook";
  n.delivery.address = "http://127.0.0.1:9/" + terminal;
  n.delivery.content = R"({"meter":")" + meter + R"(","ts":)" + std::to_string(ts) + "}";
  n.delivery.next_attempt_at = next_attempt_at;
  n.delivery.updated_at = ts * 1000;
  return n;
}

namespace {

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const ::mh::Status mh_s_ = (expr);                        \
    ASSERT_TRUE(mh_s_.ok()) << #expr << ": " << mh_s_.ToString(); \
  } while (0)

// Unwraps a Result in a test; fails the test (and returns) on an error.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                                   \
  auto MH_CONCAT(r_, __LINE__) = (expr);                                                  \
  ASSERT_TRUE(MH_CONCAT(r_, __LINE__).ok()) << #expr << ": "                              \
                                            << MH_CONCAT(r_, __LINE__).status().ToString(); \
  lhs = std::move(MH_CONCAT(r_, __LINE__)).value()

// Records compared field by field: tuples of copies print readably when a test fails.
auto Fields(const MeterInfo& m) {
  return std::make_tuple(m.meter_id, m.kind, m.customer_id, m.tz_offset_s, m.interval_s, m.register_max,
                         m.customer_t1, m.created_at);
}
auto Fields(const Terminal& t) { return std::make_tuple(t.terminal_id, t.meter_id, t.channel, t.address); }
auto Fields(const StoredReading& r) {
  return std::make_tuple(r.meter_id, r.ts, r.value, r.consumption, r.source, r.quality, r.channel, r.version,
                         r.estimated);
}
auto Fields(const QuarantinedReading& q) {
  return std::make_tuple(q.meter_id, q.ts, q.value, q.raw_value, std::string(VerdictName(q.verdict)), q.reason,
                         q.source, q.received_at);
}
auto Fields(const ReadingEvent& e) { return std::make_tuple(e.meter_id, e.ts_from, e.ts_to, e.kind, e.detail); }
auto Fields(const AlertRecord& a) {
  return std::make_tuple(a.meter_id, a.terminal_id, a.period_start, a.ts, a.reading, a.period_consumption,
                         a.threshold, a.excess, a.created_at, a.estimated_consumption);
}
auto Fields(const Delivery& d) {
  return std::make_tuple(d.terminal_id, d.channel, d.address, d.content, std::string(DeliveryStatusName(d.status)),
                         d.attempts, d.next_attempt_at, d.last_error, d.updated_at, d.round_started_at, d.round_base);
}
auto Fields(const ApiToken& t) {
  return std::make_tuple(t.token_sha256, t.name, t.role, t.customer_id, t.created_at, t.expires_at, t.revoked_at);
}
auto Fields(const UserRecord& u) {
  return std::make_tuple(u.username, u.role, u.customer_id, u.password_hash, u.created_at);
}
auto Fields(const SessionRecord& s) {
  return std::make_tuple(s.session_sha256, s.username, s.token_sha256, s.created_at, s.expires_at);
}

MeterInfo Meter(const std::string& id, const std::string& customer = "C1") {
  MeterInfo m;
  m.meter_id = id;
  m.customer_id = customer;
  m.created_at = 1600000000;
  return m;
}

StoredReading Accepted(const std::string& meter, int64_t ts, double value, double consumption = 0) {
  StoredReading r;
  r.meter_id = meter;
  r.ts = ts;
  r.value = value;
  r.consumption = consumption;
  r.source = "mqtt";
  return r;
}

QuarantinedReading Quarantined(const std::string& meter, int64_t ts, std::optional<double> value,
                               Verdict verdict = Verdict::kError, const std::string& raw = "") {
  QuarantinedReading q;
  q.meter_id = meter;
  q.ts = ts;
  q.value = value;
  q.raw_value = raw;
  q.verdict = verdict;
  q.reason = "test";
  q.source = "http";
  q.received_at = ts + 5;
  return q;
}

NewAlert Alert(const std::string& meter, const std::string& terminal, int64_t period_start, int64_t ts,
               int64_t next_attempt_at = 0) {
  return SampleAlert(meter, terminal, period_start, ts, next_attempt_at);
}

std::vector<int64_t> Timestamps(const std::vector<StoredReading>& rows) {
  std::vector<int64_t> ts;
  for (const StoredReading& r : rows) ts.push_back(r.ts);
  return ts;
}

std::vector<int64_t> Timestamps(const std::vector<QuarantinedReading>& rows) {
  std::vector<int64_t> ts;
  for (const QuarantinedReading& q : rows) ts.push_back(q.ts);
  return ts;
}

std::vector<int64_t> NextAttempts(const std::vector<Delivery>& rows) {
  std::vector<int64_t> at;
  for (const Delivery& d : rows) at.push_back(d.next_attempt_at);
  return at;
}

constexpr TimeRange kAllTime{};

// --- meters and terminals ---

TEST_P(StoreConformanceTest, MeterUpsertGetAndOverwrite) {
  MeterInfo m = Meter("M1");
  m.kind = "water";
  m.register_max = 99999.9;
  ASSERT_OK(store().UpsertMeter(m));
  ASSERT_OK_AND_ASSIGN(std::optional<MeterInfo> got, store().GetMeter("M1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(m));

  // Upsert replaces every field.
  m.kind = "electricity";
  m.customer_id = "C9";
  m.tz_offset_s = -5 * 3600;
  m.interval_s = 1800;
  m.register_max.reset();
  m.customer_t1 = 7.5;
  ASSERT_OK(store().UpsertMeter(m));
  ASSERT_OK_AND_ASSIGN(got, store().GetMeter("M1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(Fields(*got), Fields(m));

  ASSERT_OK_AND_ASSIGN(std::optional<MeterInfo> missing, store().GetMeter("nope"));
  EXPECT_FALSE(missing.has_value());
  ASSERT_OK_AND_ASSIGN(int64_t count, store().CountMeters());
  EXPECT_EQ(count, 1);
}

// The TCP gateway's query (issue 16): the protocol meters registered behind one gateway, by id.
TEST_P(StoreConformanceTest, MetersBehindAGatewayAreItsProtocolMetersInIdOrder) {
  auto meter = [](const std::string& id, const std::string& protocol, const std::string& address, const std::string& gateway) {
    MeterInfo m;
    m.meter_id = id;
    m.kind = protocol == "cjt188" ? "water" : "electricity";
    m.protocol = protocol;
    m.address = address;
    m.gateway = gateway;
    return m;
  };
  for (const MeterInfo& m : {meter("E2", "dlt645", "000000000002", "DTU1"), meter("E1", "dlt645", "000000000001", "DTU1"),
                             meter("W1", "cjt188", "00000000000001", "DTU1"), meter("E3", "dlt645", "000000000003", "DTU2"),
                             meter("D1", "dlms", "MHU0000000000001", ""),
                             meter("J1", "", "", "DTU1")})  // no protocol: nothing the gateway can read
    ASSERT_TRUE(store().UpsertMeter(m).ok());
  Result<std::vector<MeterInfo>> behind = store().MetersBehindGateway("DTU1");
  ASSERT_TRUE(behind.ok()) << behind.status().ToString();
  std::vector<std::string> ids;
  for (const MeterInfo& m : *behind) ids.push_back(m.meter_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"E1", "E2", "W1"}));
  EXPECT_EQ((*behind)[2].protocol, "cjt188");
  EXPECT_EQ((*behind)[2].address, "00000000000001");
  EXPECT_EQ((*behind)[2].gateway, "DTU1");
  EXPECT_EQ(store().MetersBehindGateway("DTU2")->size(), 1u);
  EXPECT_TRUE(store().MetersBehindGateway("DTU9")->empty());
  EXPECT_TRUE(store().MetersBehindGateway("")->empty()) << "meters without a gateway are no gateway's";
  // Moved to another DTU: listed there from then on.
  ASSERT_TRUE(store().UpsertMeter(meter("E2", "dlt645", "000000000002", "DTU2")).ok());
  EXPECT_EQ(store().MetersBehindGateway("DTU1")->size(), 2u);
  EXPECT_EQ(store().MetersBehindGateway("DTU2")->size(), 2u);
}

TEST_P(StoreConformanceTest, ListMetersPagesInIdOrderAndFiltersByCustomer) {
  for (const char* id : {"M3", "M1", "M5", "M2", "M4"}) {
    ASSERT_OK(store().UpsertMeter(Meter(id, id == std::string("M2") || id == std::string("M4") ? "C2" : "C1")));
  }
  auto ids = [](const std::vector<MeterInfo>& meters) {
    std::vector<std::string> out;
    for (const MeterInfo& m : meters) out.push_back(m.meter_id);
    return out;
  };
  using Ids = std::vector<std::string>;
  ASSERT_OK_AND_ASSIGN(std::vector<MeterInfo> page, store().ListMeters("", 0, 2));
  EXPECT_EQ(ids(page), (Ids{"M1", "M2"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("", 2, 2));
  EXPECT_EQ(ids(page), (Ids{"M3", "M4"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("", 4, 2));
  EXPECT_EQ(ids(page), (Ids{"M5"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("", 5, 2));
  EXPECT_TRUE(page.empty());
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("", 0, 0));  // limit <= 0: no limit
  EXPECT_EQ(ids(page), (Ids{"M1", "M2", "M3", "M4", "M5"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("C2", 0, 10));
  EXPECT_EQ(ids(page), (Ids{"M2", "M4"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("C1", 1, 1));
  EXPECT_EQ(ids(page), (Ids{"M3"}));
  ASSERT_OK_AND_ASSIGN(page, store().ListMeters("C404", 0, 10));
  EXPECT_TRUE(page.empty());
  ASSERT_OK_AND_ASSIGN(int64_t count, store().CountMeters());
  EXPECT_EQ(count, 5);
}

TEST_P(StoreConformanceTest, CustomerThresholdSetAndClear) {
  ASSERT_OK(store().UpsertMeter(Meter("M1")));
  ASSERT_OK(store().SetCustomerThreshold("M1", 12.5));
  ASSERT_OK_AND_ASSIGN(std::optional<MeterInfo> got, store().GetMeter("M1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->customer_t1, std::optional<double>(12.5));
  EXPECT_EQ(got->customer_id, "C1");  // other fields untouched

  ASSERT_OK(store().SetCustomerThreshold("M1", std::nullopt));
  ASSERT_OK_AND_ASSIGN(got, store().GetMeter("M1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->customer_t1.has_value());

  EXPECT_EQ(store().SetCustomerThreshold("nope", 1.0).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TerminalsBindListRebindUnbind) {
  ASSERT_OK(store().UpsertMeter(Meter("M1")));
  ASSERT_OK(store().UpsertMeter(Meter("M2")));
  const Terminal t2{"T2", "M1", "sms", "+8613800000000"};
  Terminal t1{"T1", "M1", "webhook", "http://example.invalid/hook"};
  ASSERT_OK(store().BindTerminal(t2));
  ASSERT_OK(store().BindTerminal(t1));
  ASSERT_OK_AND_ASSIGN(std::vector<Terminal> terminals, store().ListTerminals("M1"));
  ASSERT_EQ(terminals.size(), 2u);
  EXPECT_EQ(Fields(terminals[0]), Fields(t1));  // ordered by terminal_id
  EXPECT_EQ(Fields(terminals[1]), Fields(t2));

  t1.channel = "email";
  t1.address = "a@example.invalid";
  ASSERT_OK(store().BindTerminal(t1));  // rebinding updates in place
  ASSERT_OK_AND_ASSIGN(terminals, store().ListTerminals("M1"));
  ASSERT_EQ(terminals.size(), 2u);
  EXPECT_EQ(Fields(terminals[0]), Fields(t1));

  ASSERT_OK_AND_ASSIGN(std::vector<Terminal> other, store().ListTerminals("M2"));
  EXPECT_TRUE(other.empty());

  ASSERT_OK(store().UnbindTerminal("M1", "T1"));
  EXPECT_EQ(store().UnbindTerminal("M1", "T1").code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(terminals, store().ListTerminals("M1"));
  ASSERT_EQ(terminals.size(), 1u);
  EXPECT_EQ(terminals[0].terminal_id, "T2");

  EXPECT_EQ(store().BindTerminal(Terminal{"T1", "nope", "sms", "1"}).code(), StatusCode::kNotFound);
}

// The pipeline's first sight of a batch's meters: registration, terminals and state together,
// unregistered ids left out; and meters first seen in a batch registered by its commit, an
// existing registration kept.
TEST_P(StoreConformanceTest, LoadMetersAndRegisterMetersInABatch) {
  MeterInfo m1 = Meter("M1");
  m1.customer_id = "C1";
  ASSERT_OK(store().UpsertMeter(m1));
  ASSERT_OK(store().UpsertMeter(Meter("M2")));
  const Terminal t{"T1", "M1", "sms", "+8613800000000"};
  ASSERT_OK(store().BindTerminal(t));
  IngestBatch batch;
  batch.states = {MeterStateRecord{"M1", "state-bytes"}};
  MeterInfo again = Meter("M1");  // an auto-registration racing an operator's: the row stays
  MeterInfo fresh = Meter("M3");
  batch.new_meters = {again, fresh};
  batch.accepted = {Accepted("M3", 900, 1.0)};
  ASSERT_OK(store().Commit(batch));

  ASSERT_OK_AND_ASSIGN(std::vector<MeterSnapshot> found, store().LoadMeters({"M9", "M1", "M2", "M3"}));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].info.meter_id, "M1");
  EXPECT_EQ(found[0].info.customer_id, "C1");
  ASSERT_EQ(found[0].terminals.size(), 1u);
  EXPECT_EQ(Fields(found[0].terminals[0]), Fields(t));
  EXPECT_EQ(found[0].state, std::optional<std::string>("state-bytes"));
  EXPECT_EQ(found[1].info.meter_id, "M2");
  EXPECT_TRUE(found[1].terminals.empty());
  EXPECT_FALSE(found[1].state.has_value());
  EXPECT_EQ(found[2].info.meter_id, "M3");
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> m3, store().QueryReadings("M3", kAllTime, 0));
  EXPECT_EQ(m3.size(), 1u);
}

// --- the ingest write path ---

TEST_P(StoreConformanceTest, CommitLandsEveryPartOfTheBatch) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 900, 10.0), Accepted("M1", 1800, 10.5, 0.5), Accepted("M2", 900, 3.0)};
  batch.accepted[1].quality = "A";
  batch.quarantined = {Quarantined("M1", 2700, 9.0, Verdict::kError),
                       Quarantined("M2", 1800, std::nullopt, Verdict::kNull, "n/a")};
  batch.events = {ReadingEvent{"M1", 900, 1800, "nem12_400", R"({"method":"E"})"}};
  batch.states = {MeterStateRecord{"M1", R"({"last":10.5})"}, MeterStateRecord{"M2", R"({"last":3})"}};
  batch.alerts = {Alert("M1", "T1", 0, 1800, 5000)};
  ASSERT_OK(store().Commit(batch));

  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> m1, store().QueryReadings("M1", kAllTime, 0));
  ASSERT_EQ(m1.size(), 2u);
  EXPECT_EQ(Fields(m1[0]), Fields(batch.accepted[0]));
  EXPECT_EQ(Fields(m1[1]), Fields(batch.accepted[1]));
  ASSERT_OK_AND_ASSIGN(std::vector<QuarantinedReading> q, store().QueryQuarantine("", kAllTime, 0));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(Fields(q[0]), Fields(batch.quarantined[1]));  // ts 1800 before 2700
  EXPECT_EQ(Fields(q[1]), Fields(batch.quarantined[0]));
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingEvent> events, store().QueryEvents("M1", kAllTime, 0));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Fields(events[0]), Fields(batch.events[0]));
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"M1", "M2", "M3"}));
  ASSERT_EQ(states.size(), 2u);
  for (const MeterStateRecord& s : states) {
    EXPECT_EQ(s.state, s.meter_id == "M1" ? R"({"last":10.5})" : R"({"last":3})");
  }
  ASSERT_OK_AND_ASSIGN(std::vector<AlertRecord> alerts, store().ListAlerts("M1", kAllTime, 0));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_GT(alerts[0].id, 0);
  EXPECT_EQ(Fields(alerts[0]), Fields(batch.alerts[0].alert));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> deliveries, store().ListDeliveries("", alerts[0].id, 0));
  ASSERT_EQ(deliveries.size(), 1u);
  EXPECT_GT(deliveries[0].id, 0);
  EXPECT_EQ(deliveries[0].alert_id, alerts[0].id);  // linked by the store
  EXPECT_EQ(Fields(deliveries[0]), Fields(batch.alerts[0].delivery));

  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 3);
  ASSERT_OK_AND_ASSIGN(int64_t quarantined, store().CountQuarantine());
  EXPECT_EQ(quarantined, 2);
}

TEST_P(StoreConformanceTest, FailedCommitLeavesNothingBehind) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 900, 10.0)};
  batch.quarantined = {Quarantined("M1", 1800, 1.0)};
  batch.events = {ReadingEvent{"M1", 900, 900, "reset", "{}"}};
  batch.states = {MeterStateRecord{"M1", "{}"}};
  batch.alerts = {Alert("M1", "T1", 0, 900)};
  // The last record is invalid (no meter), so every earlier part must be rolled back.
  batch.alerts.push_back(Alert("", "T1", 0, 1800));
  const Status status = store().Commit(batch);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();

  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 0);
  ASSERT_OK_AND_ASSIGN(int64_t quarantined, store().CountQuarantine());
  EXPECT_EQ(quarantined, 0);
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingEvent> events, store().QueryEvents("M1", kAllTime, 0));
  EXPECT_TRUE(events.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"M1"}));
  EXPECT_TRUE(states.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<AlertRecord> alerts, store().ListAlerts("", kAllTime, 0));
  EXPECT_TRUE(alerts.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> deliveries, store().ListDeliveries("", 0, 0));
  EXPECT_TRUE(deliveries.empty());

  // The store is still usable afterwards.
  batch.alerts.pop_back();
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(readings, store().CountReadings());
  EXPECT_EQ(readings, 1);
}

TEST_P(StoreConformanceTest, CommitRejectsNonFiniteAcceptedValues) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 900, 1.0), Accepted("M1", 1800, std::numeric_limits<double>::quiet_NaN())};
  EXPECT_EQ(store().Commit(batch).code(), StatusCode::kInvalidArgument);
  batch.accepted[1].value = 2.0;
  batch.accepted[1].consumption = std::numeric_limits<double>::infinity();
  EXPECT_EQ(store().Commit(batch).code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 0);
}

// Estimates are counted apart from the readings they are stored among (GET /api/v1/status); one
// superseded by an actual reading (its estimate kept as a version) is no longer counted.
TEST_P(StoreConformanceTest, EstimatedReadingsAreCountedApart) {
  IngestBatch batch;
  StoredReading e1 = Accepted("M1", 1800, 2.0, 1.0), e2 = Accepted("M1", 2700, 3.0, 1.0);
  for (StoredReading* e : {&e1, &e2}) {
    e->estimated = true;
    e->quality = "E";
    e->source = "meterhub";
  }
  batch.accepted = {Accepted("M1", 900, 1.0), e1, e2, Accepted("M1", 3600, 4.0, 1.0)};
  batch.estimates = {ReadingEstimate{"M1", "", 1800, "linear", "{}", "meterhub", 5},
                     ReadingEstimate{"M1", "", 2700, "linear", "{}", "meterhub", 5}};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 4);
  ASSERT_OK_AND_ASSIGN(int64_t estimated, store().CountEstimatedReadings());
  EXPECT_EQ(estimated, 2);
  IngestBatch actual;
  StoredReading a = Accepted("M1", 1800, 2.1, 1.1);
  a.version = 2;
  actual.accepted = {a};
  actual.versions = {ReadingVersion{"M1", "", 1800, 1, 2.0, 1.0, "meterhub", "E", 6, "mqtt", "superseded"}};
  ASSERT_OK(store().Commit(actual));
  ASSERT_OK_AND_ASSIGN(estimated, store().CountEstimatedReadings());
  EXPECT_EQ(estimated, 1);
  ASSERT_OK_AND_ASSIGN(readings, store().CountReadings());
  EXPECT_EQ(readings, 4);
}

TEST_P(StoreConformanceTest, RecommittingTheSameBatchIsIdempotent) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 900, 10.0), Accepted("M1", 1800, 11.0, 1.0)};
  batch.quarantined = {Quarantined("M1", 2700, 5.0), Quarantined("M1", 3600, std::nullopt, Verdict::kNull, "x")};
  batch.events = {ReadingEvent{"M1", 900, 1800, "nem12_400", "{}"}};
  batch.states = {MeterStateRecord{"M1", "{}"}};
  batch.alerts = {Alert("M1", "T1", 0, 1800)};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK(store().Commit(batch));  // e.g. MQTT redelivery after a crash before the ack

  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 2);
  ASSERT_OK_AND_ASSIGN(int64_t quarantined, store().CountQuarantine());
  EXPECT_EQ(quarantined, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingEvent> events, store().QueryEvents("M1", kAllTime, 0));
  EXPECT_EQ(events.size(), 1u);
  // The same alert (meter, terminal, period, crossing reading) is stored, and sent, once.
  ASSERT_OK_AND_ASSIGN(std::vector<AlertRecord> alerts, store().ListAlerts("M1", kAllTime, 0));
  EXPECT_EQ(alerts.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> deliveries, store().ListDeliveries("M1", 0, 0));
  EXPECT_EQ(deliveries.size(), 1u);
}

TEST_P(StoreConformanceTest, AcceptedReadingUpsertKeepsTheLaterWrite) {
  IngestBatch first;
  first.accepted = {Accepted("M1", 900, 10.0, 0.0)};
  ASSERT_OK(store().Commit(first));
  IngestBatch second;
  second.accepted = {Accepted("M1", 900, 12.0, 2.0)};
  second.accepted[0].source = "import";
  second.accepted[0].quality = "E";
  ASSERT_OK(store().Commit(second));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("M1", kAllTime, 0));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Fields(rows[0]), Fields(second.accepted[0]));

  // Within one batch too, the later row for a key wins.
  IngestBatch both;
  both.accepted = {Accepted("M1", 1800, 20.0), Accepted("M1", 1800, 21.0)};
  ASSERT_OK(store().Commit(both));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> last, store().LastReadingAtOrBefore("M1", 1800));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->value, 21.0);
  ASSERT_OK_AND_ASSIGN(int64_t readings, store().CountReadings());
  EXPECT_EQ(readings, 2);
}

TEST_P(StoreConformanceTest, QuarantineIsDeduplicatedByMeterTsVerdictAndValue) {
  IngestBatch batch;
  batch.quarantined = {
      Quarantined("M1", 900, 5.0, Verdict::kError),
      Quarantined("M1", 900, 5.0, Verdict::kError),          // duplicate
      Quarantined("M1", 900, 6.0, Verdict::kError),          // another value
      Quarantined("M1", 900, 5.0, Verdict::kSudden),         // another verdict
      Quarantined("M1", 900, std::nullopt, Verdict::kNull, "abc"),
      Quarantined("M1", 900, std::nullopt, Verdict::kNull, "abd"),  // another raw text
      Quarantined("M1", 900, std::nullopt, Verdict::kNull, ""),     // empty value
      Quarantined("M2", 900, 5.0, Verdict::kError),          // another meter
  };
  ASSERT_OK(store().Commit(batch));
  batch.quarantined.resize(1);
  batch.quarantined[0].reason = "judged again";
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(int64_t quarantined, store().CountQuarantine());
  EXPECT_EQ(quarantined, 7);
  ASSERT_OK_AND_ASSIGN(std::vector<QuarantinedReading> m1, store().QueryQuarantine("M1", kAllTime, 0));
  EXPECT_EQ(m1.size(), 6u);
}

TEST_P(StoreConformanceTest, LastReadingAtOrBefore) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 100, 1.0), Accepted("M1", 200, 2.0), Accepted("M1", 300, 3.0),
                    Accepted("M2", 250, 9.0)};
  ASSERT_OK(store().Commit(batch));
  auto value_at = [&](const std::string& meter, int64_t t) -> std::optional<double> {
    Result<std::optional<StoredReading>> r = store().LastReadingAtOrBefore(meter, t);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || !r->has_value()) return std::nullopt;
    return (*r)->value;
  };
  EXPECT_EQ(value_at("M1", 250), 2.0);
  EXPECT_EQ(value_at("M1", 200), 2.0);  // at: inclusive
  EXPECT_EQ(value_at("M1", 99), std::nullopt);
  EXPECT_EQ(value_at("M1", std::numeric_limits<int64_t>::max()), 3.0);
  EXPECT_EQ(value_at("M2", 300), 9.0);
  EXPECT_EQ(value_at("M3", 300), std::nullopt);
}

TEST_P(StoreConformanceTest, QueryReadingsRangeLimitAndAscendingOrder) {
  IngestBatch batch;
  batch.accepted = {Accepted("M1", 400, 4.0), Accepted("M1", 100, 1.0), Accepted("M1", 300, 3.0),
                    Accepted("M1", 200, 2.0), Accepted("M2", 200, 7.0)};
  ASSERT_OK(store().Commit(batch));
  using Ts = std::vector<int64_t>;
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("M1", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{100, 200, 300, 400}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("M1", TimeRange{200, 300}, 0));  // inclusive bounds
  EXPECT_EQ(Timestamps(rows), (Ts{200, 300}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("M1", TimeRange{150, 350}, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{200, 300}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("M1", kAllTime, 2));  // the oldest first
  EXPECT_EQ(Timestamps(rows), (Ts{100, 200}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("M1", TimeRange{401, 500}, 0));
  EXPECT_TRUE(rows.empty());
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("M2", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{200}));
}

TEST_P(StoreConformanceTest, QueryQuarantineOfOneMeterOrAll) {
  IngestBatch batch;
  batch.quarantined = {Quarantined("M2", 300, 3.0), Quarantined("M1", 100, 1.0), Quarantined("M1", 400, 4.0),
                       Quarantined("M2", 200, 2.0)};
  ASSERT_OK(store().Commit(batch));
  using Ts = std::vector<int64_t>;
  ASSERT_OK_AND_ASSIGN(std::vector<QuarantinedReading> rows, store().QueryQuarantine("", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{100, 200, 300, 400}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryQuarantine("", TimeRange{200, 300}, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{200, 300}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryQuarantine("", kAllTime, 3));
  EXPECT_EQ(Timestamps(rows), (Ts{100, 200, 300}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryQuarantine("M1", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{100, 400}));
  ASSERT_OK_AND_ASSIGN(rows, store().QueryQuarantine("M2", TimeRange{250, 1000}, 0));
  EXPECT_EQ(Timestamps(rows), (Ts{300}));
}

TEST_P(StoreConformanceTest, EventsAreFoundWhenTheyOverlapTheRange) {
  IngestBatch batch;
  batch.events = {ReadingEvent{"M1", 100, 200, "nem12_400", R"({"q":"V"})"},
                  ReadingEvent{"M1", 300, 300, "reset", "{}"},
                  ReadingEvent{"M2", 100, 200, "reset", "{}"}};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingEvent> events, store().QueryEvents("M1", kAllTime, 0));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Fields(events[0]), Fields(batch.events[0]));
  EXPECT_EQ(Fields(events[1]), Fields(batch.events[1]));
  ASSERT_OK_AND_ASSIGN(events, store().QueryEvents("M1", TimeRange{150, 250}, 0));  // overlaps [100,200]
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "nem12_400");
  ASSERT_OK_AND_ASSIGN(events, store().QueryEvents("M1", TimeRange{201, 299}, 0));
  EXPECT_TRUE(events.empty());
  ASSERT_OK_AND_ASSIGN(events, store().QueryEvents("M1", kAllTime, 1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].ts_from, 100);
}

TEST_P(StoreConformanceTest, RemoveAcceptedMovesAReadingToQuarantine) {
  IngestBatch first;
  first.accepted = {Accepted("M1", 100, 1.0), Accepted("M1", 200, 500.0), Accepted("M1", 300, 3.0)};
  ASSERT_OK(store().Commit(first));
  IngestBatch rejudged;  // the spike at 200 is re-judged sudden
  rejudged.remove_accepted = {ReadingKey{"M1", 200, ""}, ReadingKey{"M1", 999, ""}};  // a missing key is no error
  rejudged.quarantined = {Quarantined("M1", 200, 500.0, Verdict::kSudden)};
  rejudged.events = {ReadingEvent{"M1", 200, 200, "requarantine", "{}"}};
  ASSERT_OK(store().Commit(rejudged));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("M1", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (std::vector<int64_t>{100, 300}));
  ASSERT_OK_AND_ASSIGN(std::vector<QuarantinedReading> q, store().QueryQuarantine("M1", kAllTime, 0));
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].verdict, Verdict::kSudden);
  EXPECT_EQ(q[0].value, std::optional<double>(500.0));
}

TEST_P(StoreConformanceTest, RemoveQuarantinedReacceptsReadings) {
  IngestBatch first;
  first.accepted = {Accepted("M1", 100, 5.0)};
  first.quarantined = {Quarantined("M1", 200, 1.0, Verdict::kError), Quarantined("M1", 300, 2.0, Verdict::kNull),
                       Quarantined("M1", 350, 9.0, Verdict::kSudden)};
  ASSERT_OK(store().Commit(first));
  IngestBatch rejudged;  // a meter reset: the reading at 200 (and one of this batch, 400) are ok after all
  rejudged.quarantined = {Quarantined("M1", 400, 3.0, Verdict::kError)};
  rejudged.accepted = {Accepted("M1", 200, 1.0), Accepted("M1", 350, 9.0), Accepted("M1", 400, 3.0)};
  rejudged.remove_quarantined = {ReadingKey{"M1", 200}, ReadingKey{"M1", 350}, ReadingKey{"M1", 400},
                                 ReadingKey{"M1", 300}};
  ASSERT_OK(store().Commit(rejudged));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("M1", kAllTime, 0));
  EXPECT_EQ(Timestamps(rows), (std::vector<int64_t>{100, 200, 350, 400}));
  ASSERT_OK_AND_ASSIGN(std::vector<QuarantinedReading> q, store().QueryQuarantine("M1", kAllTime, 0));
  ASSERT_EQ(q.size(), 1u);  // `error` and `sudden` rows leave: the null at 300 stays
  EXPECT_EQ(q[0].ts, 300);
}

TEST_P(StoreConformanceTest, EveryDeliveryAttemptIsKept) {
  IngestBatch batch;
  batch.alerts = {Alert("M1", "T1", 0, 100, 100)};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> due, store().DueDeliveries(1000, 0));
  ASSERT_EQ(due.size(), 1u);
  Delivery d = due[0];
  d.attempts = 1;
  d.last_error = "HTTP 503";
  d.updated_at = 1000;
  d.next_attempt_at = 2000;
  ASSERT_OK(store().UpdateDelivery(d));
  d.attempts = 2;
  d.status = DeliveryStatus::kSent;
  d.last_error = "";
  d.updated_at = 2100;
  ASSERT_OK(store().UpdateDelivery(d));
  ASSERT_OK_AND_ASSIGN(std::vector<DeliveryAttempt> attempts, store().ListDeliveryAttempts(d.id));
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[0].at_ms, 1000);
  EXPECT_EQ(attempts[0].status, DeliveryStatus::kPending);
  EXPECT_EQ(attempts[0].error, "HTTP 503");
  EXPECT_EQ(attempts[1].attempt, 2);
  EXPECT_EQ(attempts[1].status, DeliveryStatus::kSent);
  ASSERT_OK_AND_ASSIGN(attempts, store().ListDeliveryAttempts(d.id + 1000));
  EXPECT_TRUE(attempts.empty());
}

TEST_P(StoreConformanceTest, RelayMetersRegisterListAndOverwrite) {
  ASSERT_OK(store().UpsertRelayMeter({"M2", "440305001", "000002", "Street A", std::string(64, 'a'), 10}));
  ASSERT_OK(store().UpsertRelayMeter({"M1", "440305001", "000001", "Street A", std::string(64, 'b'), 10}));
  ASSERT_OK(store().UpsertRelayMeter({"M9", "110101001", "000001", "Street B", std::string(64, 'c'), 10}));
  ASSERT_OK_AND_ASSIGN(std::vector<RelayMeter> region, store().ListRelayMeters("440305001"));
  ASSERT_EQ(region.size(), 2u);
  EXPECT_EQ(region[0].meter_id, "M1");  // by position code
  EXPECT_EQ(region[1].device_key_hex, std::string(64, 'a'));
  ASSERT_OK_AND_ASSIGN(std::vector<RelayMeter> all, store().ListRelayMeters(""));
  EXPECT_EQ(all.size(), 3u);
  ASSERT_OK(store().UpsertRelayMeter({"M1", "440305001", "000007", "Street A", std::string(64, 'd'), 20}));
  ASSERT_OK_AND_ASSIGN(std::optional<RelayMeter> m1, store().GetRelayMeter("M1"));
  ASSERT_TRUE(m1.has_value());
  EXPECT_EQ(m1->position_code, "000007");
  EXPECT_EQ(m1->registered_at, 20);
  ASSERT_OK_AND_ASSIGN(std::optional<RelayMeter> none, store().GetRelayMeter("M5"));
  EXPECT_FALSE(none.has_value());
}

TEST_P(StoreConformanceTest, LevelReportsOfAMeterAreReplacedAsAWhole) {
  const std::string region = "440305001";
  ASSERT_OK(store().ReplaceLevelReports("M1", {{"M1", region, 3, 2, 100}, {"M1", region, 40, 0, 100}}));
  ASSERT_OK(store().ReplaceLevelReports("M2", {{"M2", region, 3, 1, 100}}));
  ASSERT_OK(store().ReplaceLevelReports("M1", {{"M1", region, 40, 1, 200}}));
  ASSERT_OK_AND_ASSIGN(std::vector<RelayLevelReport> reports, store().ListLevelReports(region));
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].meter_id, "M1");
  EXPECT_EQ(reports[0].sub_period, 40);
  EXPECT_EQ(reports[0].level, 1);
  EXPECT_EQ(reports[0].reported_at, 200);
  EXPECT_EQ(reports[1].meter_id, "M2");
  EXPECT_FALSE(store().ReplaceLevelReports("M1", {{"M2", region, 1, 1, 1}}).ok());  // not its own
  ASSERT_OK_AND_ASSIGN(reports, store().ListLevelReports("000000000"));
  EXPECT_TRUE(reports.empty());
}

TEST_P(StoreConformanceTest, RegionKeysNewestFirstAndIdsUnique) {
  ASSERT_OK(store().PutRegionKey({"440305001", 1, std::string(64, '1'), 1000}));
  ASSERT_OK(store().PutRegionKey({"440305001", 2, std::string(64, '2'), 2000}));
  ASSERT_OK(store().PutRegionKey({"110101001", 1, std::string(64, '3'), 1500}));
  EXPECT_EQ(store().PutRegionKey({"440305001", 2, std::string(64, '4'), 3000}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store().PutRegionKey({"440305001", 0, std::string(64, '4'), 3000}).code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(std::vector<RegionKeyRecord> keys, store().ListRegionKeys("440305001"));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key_id, 2);
  EXPECT_EQ(keys[1].key_hex, std::string(64, '1'));
  ASSERT_OK(store().DeleteRegionKey("440305001", 1));
  ASSERT_OK_AND_ASSIGN(keys, store().ListRegionKeys("440305001"));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].key_id, 2);
}

TEST_P(StoreConformanceTest, RelayBatchesAreRecordedOncePerTagAndCopiesCounted) {
  ASSERT_OK_AND_ASSIGN(bool fresh, store().RecordRelayBatch({"aa", "M1", "R1", "accepted", 5, 1, 100}));
  EXPECT_TRUE(fresh);
  ASSERT_OK_AND_ASSIGN(fresh, store().RecordRelayBatch({"aa", "M1", "R2", "accepted", 5, 1, 200}));
  EXPECT_FALSE(fresh);
  ASSERT_OK_AND_ASSIGN(fresh, store().RecordRelayBatch({"bb", "M2", "R2", "rejected", 3, 1, 300}));
  EXPECT_TRUE(fresh);
  ASSERT_OK_AND_ASSIGN(fresh, store().RecordRelayBatch({"cc", "M3", "R1", "unknown_origin", 2, 1, 400}));
  ASSERT_OK_AND_ASSIGN(RelayBatchTotals totals, store().SumRelayBatches());
  EXPECT_EQ(totals.accepted, 1);
  EXPECT_EQ(totals.rejected, 1);
  EXPECT_EQ(totals.unknown_origin, 1);
  EXPECT_EQ(totals.duplicates, 1);
  EXPECT_EQ(totals.readings, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<RelayBatchRecord> of_r1, store().ListRelayBatches("R1", 0));
  ASSERT_EQ(of_r1.size(), 2u);
  EXPECT_EQ(of_r1[0].digest_hex, "cc");  // newest first
  EXPECT_EQ(of_r1[1].copies, 2);
  EXPECT_EQ(of_r1[1].relay_meter_id, "R1");  // the first carrier stays
  ASSERT_OK_AND_ASSIGN(std::vector<RelayBatchRecord> all, store().ListRelayBatches("", 2));
  EXPECT_EQ(all.size(), 2u);
  EXPECT_FALSE(store().RecordRelayBatch({"", "M1", "R1", "accepted", 1, 1, 1}).ok());
}

TEST_P(StoreConformanceTest, RelayBatchesKeepTheirFailureCodeByOrigin) {
  RelayBatchRecord coded{"aa", "M1", "R1", "accepted", 5, 1, 100, 7};
  ASSERT_OK(store().RecordRelayBatch(coded).status());
  ASSERT_OK(store().RecordRelayBatch({"bb", "M1", "R2", "rejected", 2, 1, 200, 65535}).status());
  ASSERT_OK(store().RecordRelayBatch({"cc", "M2", "R1", "accepted", 1, 1, 300}).status());  // no code known
  ASSERT_OK_AND_ASSIGN(std::vector<RelayBatchRecord> from_m1, store().ListRelayBatchesFrom("M1", 0));
  ASSERT_EQ(from_m1.size(), 2u);
  EXPECT_EQ(from_m1[0].digest_hex, "bb");  // newest first
  EXPECT_EQ(from_m1[0].failure_code, 65535);
  EXPECT_EQ(from_m1[1].failure_code, 7);
  EXPECT_EQ(from_m1[1].relay_meter_id, "R1");
  ASSERT_OK_AND_ASSIGN(std::vector<RelayBatchRecord> from_m2, store().ListRelayBatchesFrom("M2", 0));
  ASSERT_EQ(from_m2.size(), 1u);
  EXPECT_FALSE(from_m2[0].failure_code.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<RelayBatchRecord> of_r1, store().ListRelayBatches("R1", 1));
  ASSERT_EQ(of_r1.size(), 1u);
  EXPECT_EQ(of_r1[0].digest_hex, "cc");
  ASSERT_OK_AND_ASSIGN(from_m1, store().ListRelayBatchesFrom("M1", 1));
  EXPECT_EQ(from_m1.size(), 1u);
  ASSERT_OK_AND_ASSIGN(from_m1, store().ListRelayBatchesFrom("M9", 0));
  EXPECT_TRUE(from_m1.empty());
}

TEST_P(StoreConformanceTest, RelayOutcomesAreKeptOncePerNightAndSummedPerRegion) {
  auto outcome = [](std::string meter, std::string region, int64_t night, int64_t attempts, int64_t failures) {
    RelayOutcomeRecord o;
    o.meter_id = std::move(meter);
    o.region_code = std::move(region);
    o.night = night;
    o.uplink_attempts = attempts;
    o.uplink_failures = failures;
    o.uplink_failure_codes = failures > 0 ? "7,42" : "";
    o.relay_attempts = 3;
    o.relay_failures = 1;
    o.delivered_via_relay = failures;
    o.aged_out = 1;
    o.queued = 0;
    o.relays_json = R"([{"ssid":"x","failure_code":7,"readings":2,"ok":true}])";
    o.received_at = night * 1000 + 5;
    return o;
  };
  const RelayOutcomeRecord first = outcome("M1", "440305001", 86400, 96, 96);
  ASSERT_OK_AND_ASSIGN(bool fresh, store().PutRelayOutcome(first));
  EXPECT_TRUE(fresh);
  ASSERT_OK_AND_ASSIGN(fresh, store().PutRelayOutcome(outcome("M1", "440305001", 86400, 1, 0)));  // sent again
  EXPECT_FALSE(fresh);
  ASSERT_OK(store().PutRelayOutcome(outcome("M1", "440305001", 2 * 86400, 96, 3)).status());
  ASSERT_OK(store().PutRelayOutcome(outcome("M2", "440305001", 86400, 0, 0)).status());
  ASSERT_OK(store().PutRelayOutcome(outcome("M9", "110101001", 86400, 10, 10)).status());
  EXPECT_EQ(store().PutRelayOutcome(outcome("", "110101001", 86400, 10, 10)).status().code(), StatusCode::kInvalidArgument);

  ASSERT_OK_AND_ASSIGN(std::vector<RelayOutcomeRecord> m1, store().ListRelayOutcomes("M1", INT64_MAX, 0));
  ASSERT_EQ(m1.size(), 2u);
  EXPECT_EQ(m1[0].night, 2 * 86400);  // newest night first
  EXPECT_EQ(m1[1], first);            // every field as first stored
  EXPECT_TRUE(m1[1].UplinkFailed());
  EXPECT_FALSE(m1[0].UplinkFailed());
  ASSERT_OK_AND_ASSIGN(m1, store().ListRelayOutcomes("M1", 2 * 86400 - 1, 0));
  ASSERT_EQ(m1.size(), 1u);
  EXPECT_EQ(m1[0].night, 86400);
  ASSERT_OK_AND_ASSIGN(m1, store().ListRelayOutcomes("M1", INT64_MAX, 1));
  EXPECT_EQ(m1.size(), 1u);

  ASSERT_OK_AND_ASSIGN(RelayOutcomeTotals region, store().SumRelayOutcomes("440305001"));
  EXPECT_EQ(region.reports, 3);
  EXPECT_EQ(region.meters, 2);
  EXPECT_EQ(region.uplink_attempts, 96 + 96 + 0);
  EXPECT_EQ(region.uplink_failures, 96 + 3);
  EXPECT_EQ(region.uplink_failed_nights, 1);  // M2's night without attempts is not a failed one
  EXPECT_EQ(region.relay_attempts, 9);
  EXPECT_EQ(region.relay_failures, 3);
  EXPECT_EQ(region.delivered_via_relay, 99);
  EXPECT_EQ(region.aged_out, 3);
  ASSERT_OK_AND_ASSIGN(RelayOutcomeTotals all, store().SumRelayOutcomes(""));
  EXPECT_EQ(all.reports, 4);
  EXPECT_EQ(all.meters, 3);
  EXPECT_EQ(all.uplink_failed_nights, 2);
  ASSERT_OK_AND_ASSIGN(RelayOutcomeTotals none, store().SumRelayOutcomes("999999999"));
  EXPECT_EQ(none.reports, 0);
}

TEST_P(StoreConformanceTest, RelayWorkOrdersOpenOncePerStreakAndTrackTheirDelivery) {
  RelayWorkOrder order;
  order.meter_id = "M1";
  order.first_night = 86400;
  order.last_night = 3 * 86400;
  order.nights = 3;
  order.content = R"({"type":"relay_uplink_work_order"})";
  order.state = "open";
  order.opened_at = order.updated_at = 1000;
  ASSERT_OK_AND_ASSIGN(bool opened, store().OpenRelayWorkOrder(&order));
  EXPECT_TRUE(opened);
  EXPECT_GT(order.id, 0);
  RelayWorkOrder again = order;
  again.id = 0;
  again.last_night = 4 * 86400;
  ASSERT_OK_AND_ASSIGN(opened, store().OpenRelayWorkOrder(&again));  // the same streak
  EXPECT_FALSE(opened);
  EXPECT_EQ(again.id, 0);
  RelayWorkOrder next = order;
  next.id = 0;
  next.first_night = 10 * 86400;
  ASSERT_OK_AND_ASSIGN(opened, store().OpenRelayWorkOrder(&next));  // a later streak
  EXPECT_TRUE(opened);
  EXPECT_GT(next.id, order.id);
  RelayWorkOrder other = order;
  other.id = 0;
  other.meter_id = "M2";
  ASSERT_OK(store().OpenRelayWorkOrder(&other).status());
  RelayWorkOrder nameless;
  EXPECT_EQ(store().OpenRelayWorkOrder(&nameless).status().code(), StatusCode::kInvalidArgument);

  order.state = "sent";
  order.attempts = 2;
  order.last_error = "";
  order.updated_at = 2000;
  ASSERT_OK(store().UpdateRelayWorkOrder(order));
  RelayWorkOrder missing = order;
  missing.id = 999;
  EXPECT_EQ(store().UpdateRelayWorkOrder(missing).code(), StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(std::vector<RelayWorkOrder> m1, store().ListRelayWorkOrders("M1", "", 0));
  ASSERT_EQ(m1.size(), 2u);
  EXPECT_EQ(m1[0].id, next.id);  // newest first
  EXPECT_EQ(m1[1], order);       // every field as written
  ASSERT_OK_AND_ASSIGN(std::vector<RelayWorkOrder> open, store().ListRelayWorkOrders("", "open", 0));
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].meter_id, "M2");
  ASSERT_OK_AND_ASSIGN(open, store().ListRelayWorkOrders("", "open", 1));
  EXPECT_EQ(open.size(), 1u);
}

TEST_P(StoreConformanceTest, MeterStatesUpsertAndLoadOnlyExisting) {
  IngestBatch batch;
  batch.states = {MeterStateRecord{"M1", R"({"v":1})"}, MeterStateRecord{"M2", R"({"v":2})"}};
  ASSERT_OK(store().Commit(batch));
  batch.states = {MeterStateRecord{"M1", R"({"v":3})"}};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"M1", "M9"}));
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].meter_id, "M1");
  EXPECT_EQ(states[0].state, R"({"v":3})");
  ASSERT_OK_AND_ASSIGN(states, store().LoadMeterStates({}));
  EXPECT_TRUE(states.empty());
}

// --- alerts and deliveries ---

TEST_P(StoreConformanceTest, AlertsListedAndCountedPerMeterTerminalAndPeriod) {
  IngestBatch batch;
  batch.alerts = {Alert("M1", "T1", 1000, 1100), Alert("M1", "T1", 1000, 1200), Alert("M1", "T2", 1000, 1100),
                  Alert("M1", "T1", 2000, 2100), Alert("M2", "T1", 1000, 1100)};
  ASSERT_OK(store().Commit(batch));
  auto count = [&](const std::string& meter, const std::string& terminal, int64_t period) -> int64_t {
    Result<int64_t> n = store().CountAlerts(meter, terminal, period);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  };
  EXPECT_EQ(count("M1", "T1", 1000), 2);
  EXPECT_EQ(count("M1", "T2", 1000), 1);
  EXPECT_EQ(count("M1", "T1", 2000), 1);
  EXPECT_EQ(count("M2", "T1", 1000), 1);
  EXPECT_EQ(count("M2", "T2", 1000), 0);
  EXPECT_EQ(count("M1", "T1", 3000), 0);

  ASSERT_OK_AND_ASSIGN(std::vector<AlertRecord> alerts, store().ListAlerts("M1", kAllTime, 0));
  ASSERT_EQ(alerts.size(), 4u);
  for (size_t i = 1; i < alerts.size(); ++i) EXPECT_LE(alerts[i - 1].created_at, alerts[i].created_at);
  ASSERT_OK_AND_ASSIGN(alerts, store().ListAlerts("M1", TimeRange{1150, 1250}, 0));  // created = ts + 1
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].ts, 1200);
  ASSERT_OK_AND_ASSIGN(alerts, store().ListAlerts("", kAllTime, 0));
  EXPECT_EQ(alerts.size(), 5u);
  ASSERT_OK_AND_ASSIGN(alerts, store().ListAlerts("", kAllTime, 2));
  EXPECT_EQ(alerts.size(), 2u);
}

// Re-sending failed deliveries: only failed ones, selected by id, meter and failure time, become
// pending in a new round, atomically with a record of who asked.
TEST_P(StoreConformanceTest, FailedDeliveriesAreRequeuedInANewRound) {
  IngestBatch batch;
  batch.alerts = {Alert("M1", "T1", 0, 100), Alert("M1", "T1", 0, 200), Alert("M2", "T1", 0, 300)};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> all, store().DueDeliveries(1000, 0));
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) {
    Delivery d = all[i];
    EXPECT_EQ(d.meter_id, i < 2 ? "M1" : "M2");
    d.status = i == 1 ? DeliveryStatus::kSent : DeliveryStatus::kFailed;
    d.attempts = 3;
    d.round_started_at = 500;
    d.updated_at = 1000 * static_cast<int64_t>(i + 1);
    d.last_error = "HTTP 503";
    ASSERT_OK(store().UpdateDelivery(d));
  }
  ASSERT_OK_AND_ASSIGN(std::optional<Delivery> got, store().GetDelivery(all[0].id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->round_started_at, 500);
  EXPECT_EQ(got->meter_id, "M1");
  ASSERT_OK_AND_ASSIGN(got, store().GetDelivery(all[2].id + 100));
  EXPECT_FALSE(got.has_value());

  DeliveryRequeue sent_one;
  sent_one.delivery_id = all[1].id;  // sent: not re-queued
  sent_one.at_ms = 5000;
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> ids, store().RequeueFailedDeliveries(sent_one));
  EXPECT_TRUE(ids.empty());
  DeliveryRequeue since;
  since.failed_since = 2500;  // only M2's (failed at 3000)
  since.at_ms = 6000;
  since.requested_by = "operator ops";
  ASSERT_OK_AND_ASSIGN(ids, store().RequeueFailedDeliveries(since));
  EXPECT_EQ(ids, std::vector<int64_t>{all[2].id});
  DeliveryRequeue of_meter;
  of_meter.meter_id = "M1";
  of_meter.at_ms = 7000;
  of_meter.requested_by = "customer alice";
  ASSERT_OK_AND_ASSIGN(ids, store().RequeueFailedDeliveries(of_meter));
  EXPECT_EQ(ids, std::vector<int64_t>{all[0].id});
  ASSERT_OK_AND_ASSIGN(ids, store().RequeueFailedDeliveries(of_meter));
  EXPECT_TRUE(ids.empty()) << "pending now: nothing to re-queue";

  ASSERT_OK_AND_ASSIGN(got, store().GetDelivery(all[0].id));
  EXPECT_EQ(got->status, DeliveryStatus::kPending);
  EXPECT_EQ(got->next_attempt_at, 7000);
  EXPECT_EQ(got->updated_at, 7000);
  EXPECT_EQ(got->attempts, 3);
  EXPECT_EQ(got->round_started_at, 0);
  EXPECT_EQ(got->round_base, 3);
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> due, store().DueDeliveries(7000, 0));
  EXPECT_EQ(due.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<DeliveryRequeueRecord> requeues, store().ListDeliveryRequeues(all[0].id));
  ASSERT_EQ(requeues.size(), 1u);
  EXPECT_EQ(requeues[0].at_ms, 7000);
  EXPECT_EQ(requeues[0].after_attempts, 3);
  EXPECT_EQ(requeues[0].requested_by, "customer alice");
  ASSERT_OK_AND_ASSIGN(requeues, store().ListDeliveryRequeues(all[1].id));
  EXPECT_TRUE(requeues.empty());
}

TEST_P(StoreConformanceTest, DueDeliveriesArePendingOnesInNextAttemptOrder) {
  IngestBatch batch;
  batch.alerts = {Alert("M2", "T1", 0, 100, 300), Alert("M1", "T1", 0, 200, 100), Alert("M1", "T1", 0, 300, 200)};
  ASSERT_OK(store().Commit(batch));
  using At = std::vector<int64_t>;
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> due, store().DueDeliveries(250, 0));
  EXPECT_EQ(NextAttempts(due), (At{100, 200}));
  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(1000, 2));
  EXPECT_EQ(NextAttempts(due), (At{100, 200}));
  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(99, 0));
  EXPECT_TRUE(due.empty());

  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(1000, 0));
  ASSERT_EQ(due.size(), 3u);
  Delivery sent = due[0];  // next_attempt_at 100
  sent.status = DeliveryStatus::kSent;
  sent.attempts = 1;
  sent.updated_at = 150;
  ASSERT_OK(store().UpdateDelivery(sent));
  Delivery retry = due[1];  // 200: failed once, retried later
  retry.attempts = 1;
  retry.last_error = "HTTP 503";
  retry.next_attempt_at = 900;
  retry.updated_at = 210;
  ASSERT_OK(store().UpdateDelivery(retry));
  Delivery failed = due[2];  // 300: given up
  failed.status = DeliveryStatus::kFailed;
  failed.attempts = 5;
  failed.last_error = "gave up";
  ASSERT_OK(store().UpdateDelivery(failed));

  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(1000, 0));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, retry.id);
  EXPECT_EQ(Fields(due[0]), Fields(retry));
  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(800, 0));
  EXPECT_TRUE(due.empty());

  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> log, store().ListDeliveries("", sent.alert_id, 0));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(Fields(log[0]), Fields(sent));
  ASSERT_OK_AND_ASSIGN(log, store().ListDeliveries("M1", 0, 0));
  EXPECT_EQ(log.size(), 2u);
  ASSERT_OK_AND_ASSIGN(log, store().ListDeliveries("M2", 0, 0));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(Fields(log[0]), Fields(failed));
  ASSERT_OK_AND_ASSIGN(log, store().ListDeliveries("", 0, 0));
  EXPECT_EQ(log.size(), 3u);

  Delivery ghost = sent;
  ghost.id = 1 << 30;
  EXPECT_EQ(store().UpdateDelivery(ghost).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AClaimedDeliveryIsDueAgainOnlyWhenTheClaimExpires) {
  IngestBatch batch;
  batch.alerts = {Alert("M1", "T1", 0, 100, 100)};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(std::vector<Delivery> due, store().DueDeliveries(1000, 0));
  ASSERT_EQ(due.size(), 1u);
  const int64_t id = due[0].id, at = due[0].next_attempt_at;
  ASSERT_OK_AND_ASSIGN(bool won, store().ClaimDelivery(id, at, 5000));
  EXPECT_TRUE(won);
  ASSERT_OK_AND_ASSIGN(won, store().ClaimDelivery(id, at, 6000));  // a second dispatcher: too late
  EXPECT_FALSE(won);
  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(4999, 0));
  EXPECT_TRUE(due.empty());
  ASSERT_OK_AND_ASSIGN(due, store().DueDeliveries(5000, 0));  // its claimer died: due again
  ASSERT_EQ(due.size(), 1u);
  Delivery sent = due[0];
  sent.status = DeliveryStatus::kSent;
  sent.attempts = 1;
  sent.updated_at = 5100;
  ASSERT_OK(store().UpdateDelivery(sent));
  ASSERT_OK_AND_ASSIGN(won, store().ClaimDelivery(id, sent.next_attempt_at, 9000));  // recorded: not pending
  EXPECT_FALSE(won);
  ASSERT_OK_AND_ASSIGN(won, store().ClaimDelivery(1 << 30, 0, 9000));
  EXPECT_FALSE(won);
}

// --- API tokens ---

TEST_P(StoreConformanceTest, TokensPutFindAndReplace) {
  ApiToken token{"ab12", "ops laptop", "operator", "", 1700000000, 1707776000, 0};
  ASSERT_OK(store().PutToken(token));
  ASSERT_OK_AND_ASSIGN(std::optional<ApiToken> found, store().FindToken("ab12"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(token));
  token.role = "customer";
  token.customer_id = "C7";
  ASSERT_OK(store().PutToken(token));
  ASSERT_OK_AND_ASSIGN(found, store().FindToken("ab12"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(token));
  ASSERT_OK_AND_ASSIGN(found, store().FindToken("cd34"));
  EXPECT_FALSE(found.has_value());
}

// --- access: token lifecycle, users, sessions ---

TEST_P(StoreConformanceTest, TokensListedOldestFirstAndRevokedOnceWithTheirSessions) {
  ASSERT_OK(store().PutToken({"bb", "second", "operator", "", 200, 0, 0}));
  ASSERT_OK(store().PutToken({"aa", "first", "customer", "C1", 100, 900, 0}));
  ASSERT_OK(store().PutSession({"s1", "", "bb", 210, 5000}));
  ASSERT_OK(store().PutSession({"s2", "", "aa", 210, 5000}));
  ASSERT_OK_AND_ASSIGN(std::vector<ApiToken> tokens, store().ListTokens());
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].token_sha256, "aa");
  EXPECT_EQ(tokens[1].token_sha256, "bb");

  ASSERT_OK(store().RevokeToken("bb", 300));
  ASSERT_OK(store().RevokeToken("bb", 400));  // the first revocation time stays
  ASSERT_OK_AND_ASSIGN(std::optional<ApiToken> revoked, store().FindToken("bb"));
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(revoked->revoked_at, 300);
  ASSERT_OK_AND_ASSIGN(std::optional<SessionRecord> gone, store().FindSession("s1"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<SessionRecord> kept, store().FindSession("s2"));
  EXPECT_TRUE(kept.has_value());
  EXPECT_EQ(store().RevokeToken("zz", 300).code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, UsersAddGetListAndDeleteWithTheirSessions) {
  UserRecord ann{"ann", "operator", "", "$argon2id$x", 100};
  UserRecord bob{"bob", "customer", "C1", "$argon2id$y", 110};
  ASSERT_OK(store().AddUser(bob));
  ASSERT_OK(store().AddUser(ann));
  EXPECT_EQ(store().AddUser(ann).code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(std::optional<UserRecord> found, store().GetUser("bob"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(bob));
  ASSERT_OK_AND_ASSIGN(std::vector<UserRecord> users, store().ListUsers());
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].username, "ann");

  ASSERT_OK(store().PutSession({"s1", "bob", "", 120, 5000}));
  ASSERT_OK(store().PutSession({"s2", "ann", "", 120, 5000}));
  ASSERT_OK(store().DeleteUser("bob"));
  ASSERT_OK_AND_ASSIGN(found, store().GetUser("bob"));
  EXPECT_FALSE(found.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<SessionRecord> gone, store().FindSession("s1"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<SessionRecord> kept, store().FindSession("s2"));
  EXPECT_TRUE(kept.has_value());
  EXPECT_EQ(store().DeleteUser("bob").code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, SessionsPutFindDeleteAndExpire) {
  SessionRecord s{"s1", "ann", "", 100, 1000};
  ASSERT_OK(store().PutSession(s));
  ASSERT_OK(store().PutSession({"s2", "", "aa", 100, 2000}));
  EXPECT_EQ(store().PutSession({"s3", "ann", "aa", 100, 2000}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().PutSession({"s3", "", "", 100, 2000}).code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(std::optional<SessionRecord> found, store().FindSession("s1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(Fields(*found), Fields(s));
  ASSERT_OK_AND_ASSIGN(int64_t expired, store().DeleteExpiredSessions(1000));
  EXPECT_EQ(expired, 1);
  ASSERT_OK_AND_ASSIGN(found, store().FindSession("s1"));
  EXPECT_FALSE(found.has_value());
  ASSERT_OK(store().DeleteSession("s2"));
  ASSERT_OK(store().DeleteSession("s2"));  // not there: not an error
  ASSERT_OK_AND_ASSIGN(found, store().FindSession("s2"));
  EXPECT_FALSE(found.has_value());
}

// --- aggregates for the fleet view ---

TEST_P(StoreConformanceTest, SearchMetersFiltersPagesAndCountsAllMatches) {
  for (int i = 0; i < 7; ++i) {
    MeterInfo m = Meter("E" + std::to_string(i), i < 3 ? "ACME" : "C9");
    m.kind = i % 2 == 0 ? "electricity" : "water";
    ASSERT_OK(store().UpsertMeter(m));
  }
  ASSERT_OK(store().UpsertRelayMeter({"E1", "110101001", "000001", "street", "00", 1}));
  MeterQuery q;
  q.limit = 2;
  q.offset = 1;
  ASSERT_OK_AND_ASSIGN(MeterPage page, store().SearchMeters(q));
  EXPECT_EQ(page.total, 7);
  ASSERT_EQ(page.meters.size(), 2u);
  EXPECT_EQ(page.meters[0].meter_id, "E1");
  q = MeterQuery{};
  q.text = "acm";  // customer id, any case
  ASSERT_OK_AND_ASSIGN(page, store().SearchMeters(q));
  EXPECT_EQ(page.total, 3);
  q.kind = "water";
  ASSERT_OK_AND_ASSIGN(page, store().SearchMeters(q));
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.meters[0].meter_id, "E1");
  q = MeterQuery{};
  q.customer_id = "C9";
  q.text = "e1";  // matches no meter of C9
  ASSERT_OK_AND_ASSIGN(page, store().SearchMeters(q));
  EXPECT_EQ(page.total, 0);
  q = MeterQuery{};
  q.region_code = "110101001";
  ASSERT_OK_AND_ASSIGN(page, store().SearchMeters(q));
  ASSERT_EQ(page.total, 1);
  EXPECT_EQ(page.meters[0].meter_id, "E1");
}

TEST_P(StoreConformanceTest, FleetCountsByKindRegionStateVerdictAndDelivery) {
  for (const char* id : {"A", "B", "C", "D"}) {
    MeterInfo m = Meter(id);
    if (std::string(id) == "D") m.kind = "water";
    ASSERT_OK(store().UpsertMeter(m));
  }
  ASSERT_OK(store().UpsertRelayMeter({"A", "110101001", "000001", "street", "00", 1}));
  IngestBatch batch;
  batch.quarantined = {Quarantined("A", 5000, 1.0), Quarantined("B", 5000, std::nullopt, Verdict::kNull, "x"),
                       Quarantined("C", 100, 1.0, Verdict::kSudden)};
  batch.alerts = {Alert("A", "T1", 0, 6000)};  // created_at 6001
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK_AND_ASSIGN(FleetCounts f, store().CountFleet(/*alerts_since=*/6000, /*quarantine_since=*/1000));
  EXPECT_EQ(f.meters, 4);
  using KC = std::vector<std::pair<std::string, int64_t>>;
  EXPECT_EQ(f.by_kind, (KC{{"electricity", 3}, {"water", 1}}));
  EXPECT_EQ(f.by_region, (KC{{"", 3}, {"110101001", 1}}));
  // A has an alert (and quarantine), B quarantine since 1000, C's is older, D nothing.
  EXPECT_EQ(f.by_state, (KC{{"alerted", 1}, {"normal", 2}, {"quarantined", 1}}));
  EXPECT_EQ(f.quarantine_by_verdict, (KC{{"error", 1}, {"null", 1}, {"sudden", 1}}));
  EXPECT_EQ(f.deliveries_by_status, (KC{{"pending", 1}}));
  EXPECT_EQ(f.alerts_since, 1);
  ASSERT_OK_AND_ASSIGN(f, store().CountFleet(7000, 1000));
  EXPECT_EQ(f.alerts_since, 0);
  EXPECT_EQ(f.by_state, (KC{{"alerted", 0}, {"normal", 2}, {"quarantined", 2}}));
}

// --- threads ---

// Writers commit batches for their own meters while a reader queries. Each batch adds
// kPerBatch readings of one meter at once, so any reader seeing a count that is not a multiple
// of it has seen half a transaction.
TEST_P(StoreConformanceTest, ConcurrentCommitsAndReads) {
  constexpr int kWriters = 4;
  constexpr int kBatches = 25;
  constexpr int kPerBatch = 40;
  std::atomic<int> writers_left{kWriters};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const std::string meter = "W" + std::to_string(w);
      for (int b = 0; b < kBatches; ++b) {
        IngestBatch batch;
        for (int i = 0; i < kPerBatch; ++i) {
          const int64_t ts = int64_t{900} * (b * kPerBatch + i + 1);
          batch.accepted.push_back(Accepted(meter, ts, static_cast<double>(ts) / 900, 1.0));
        }
        batch.states = {MeterStateRecord{meter, std::to_string(b)}};
        if (Status c = store().Commit(batch); !c.ok()) {
          ++failures;
          ADD_FAILURE() << c.ToString();
        }
      }
      --writers_left;
    });
  }
  threads.emplace_back([&] {
    int64_t previous_total = 0;
    while (writers_left.load() > 0) {
      for (int w = 0; w < kWriters; ++w) {
        Result<std::vector<StoredReading>> rows = store().QueryReadings("W" + std::to_string(w), kAllTime, 0);
        if (!rows.ok() || rows->size() % kPerBatch != 0) ++failures;
      }
      Result<int64_t> total = store().CountReadings();
      if (!total.ok() || *total < previous_total || *total % kPerBatch != 0) ++failures;
      if (total.ok()) previous_total = *total;
      if (!store().LoadMeterStates({"W0", "W1"}).ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(int64_t total, store().CountReadings());
  EXPECT_EQ(total, kWriters * kBatches * kPerBatch);
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"W0", "W3"}));
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].state, std::to_string(kBatches - 1));
}


// --- readings: the packed layout, the log in front of it, channels, versions ------------------

StoredReading Packed(const std::string& meter, int64_t ts, double value, double consumption,
                       const std::string& source = "mqtt") {
  StoredReading r;
  r.meter_id = meter;
  r.ts = ts;
  r.value = value;
  r.consumption = consumption;
  r.source = source;
  return r;
}

// Three days of 15-minute readings of two meters, with corrections and removals interleaved.
std::vector<StoredReading> ThreeDays(const std::string& meter) {
  std::vector<StoredReading> out;
  for (int i = 0; i < 3 * 96; ++i) out.push_back(Packed(meter, 1700006400 + 900 * i, 10 + 0.25 * i, i ? 0.25 : 0));
  return out;
}

TEST_P(StoreConformanceTest, PackingKeepsEveryReadingExactly) {
  IngestBatch a, b;
  a.accepted = ThreeDays("P1");
  b.accepted = ThreeDays("P2");
  b.accepted[10].quality = "E";
  b.accepted[11].source = "relay:R7";
  ASSERT_OK(store().Commit(a));
  ASSERT_OK(store().Commit(b));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> before, store().QueryReadings("P2", {}, 0));
  ASSERT_EQ(before.size(), 288u);
  EXPECT_EQ(store().UnpackedReadings(), 576);
  ASSERT_OK(store().Pack());
  EXPECT_EQ(store().UnpackedReadings(), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> after, store().QueryReadings("P2", {}, 0));
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(Fields(after[i]), Fields(before[i])) << i;
  ASSERT_OK_AND_ASSIGN(int64_t count, store().CountReadings());
  EXPECT_EQ(count, 576);
  // Ranges inside a packed day, across days, and limits.
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> mid,
                       store().QueryReadings("P1", {1700006400 + 900 * 90, 1700006400 + 900 * 100}, 0));
  ASSERT_EQ(mid.size(), 11u);
  EXPECT_EQ(mid.front().ts, 1700006400 + 900 * 90);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> first3, store().QueryReadings("P1", {}, 3));
  ASSERT_EQ(first3.size(), 3u);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> last, store().LastReadingAtOrBefore("P1", 1700006400 + 900 * 200 + 5));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ts, 1700006400 + 900 * 200);
  // Packing again with nothing new changes nothing.
  ASSERT_OK(store().Pack());
  ASSERT_OK_AND_ASSIGN(count, store().CountReadings());
  EXPECT_EQ(count, 576);
}

TEST_P(StoreConformanceTest, ChangesAfterPackingMergeOverThePackedReadings) {
  IngestBatch a;
  a.accepted = ThreeDays("P1");
  ASSERT_OK(store().Commit(a));
  ASSERT_OK(store().Pack());
  IngestBatch b;
  StoredReading changed = Packed("P1", 1700006400 + 900 * 5, 11.3, 0.3);
  changed.version = 2;
  b.accepted = {changed, Packed("P1", 1700006400 + 900 * 5 + 450, 11.2, 0.2)};  // a late one in between
  b.remove_accepted = {ReadingKey{"P1", 1700006400 + 900 * 7, ""}};
  ASSERT_OK(store().Commit(b));
  auto check = [&](const char* when) {
    ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("P1", {}, 0));
    EXPECT_EQ(rows.size(), 288u) << when;  // +1 late, -1 removed
    ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> r5, store().GetReading("P1", 1700006400 + 900 * 5));
    ASSERT_TRUE(r5.has_value()) << when;
    EXPECT_EQ(r5->value, 11.3) << when;
    EXPECT_EQ(r5->version, 2u) << when;
    ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> r7, store().GetReading("P1", 1700006400 + 900 * 7));
    EXPECT_FALSE(r7.has_value()) << when;
    ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> before8, store().LastReadingAtOrBefore("P1", 1700006400 + 900 * 8 - 1));
    ASSERT_TRUE(before8.has_value()) << when;
    EXPECT_EQ(before8->ts, 1700006400 + 900 * 6) << when;  // 7 was removed
    ASSERT_OK_AND_ASSIGN(int64_t count, store().CountReadings());
    EXPECT_EQ(count, 288) << when;
  };
  check("before packing");
  ASSERT_OK(store().Pack());
  check("after packing");
}

TEST_P(StoreConformanceTest, ReadingsSurviveARestartPackedOrNot) {
  if (!GetParam().durable) GTEST_SKIP() << GetParam().name << " keeps nothing across a restart";
  IngestBatch a, b;
  a.accepted = ThreeDays("P1");
  b.accepted = ThreeDays("P2");
  b.states = {MeterStateRecord{"P2", std::string("\x02state", 6)}};
  ASSERT_OK(store().Commit(a));
  ASSERT_OK(store().Pack());
  ASSERT_OK(store().Commit(b));  // in the log only
  Reopen();
  ASSERT_OK_AND_ASSIGN(int64_t count, store().CountReadings());
  EXPECT_EQ(count, 576);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> p2, store().QueryReadings("P2", {}, 0));
  EXPECT_EQ(p2.size(), 288u);
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"P2"}));
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, std::string("\x02state", 6));
  ASSERT_OK(store().Pack());
  Reopen();
  ASSERT_OK_AND_ASSIGN(p2, store().QueryReadings("P2", {}, 0));
  EXPECT_EQ(p2.size(), 288u);
  ASSERT_OK_AND_ASSIGN(states, store().LoadMeterStates({"P2"}));
  ASSERT_EQ(states.size(), 1u);
  ASSERT_OK_AND_ASSIGN(count, store().CountReadings());
  EXPECT_EQ(count, 576);
}

TEST_P(StoreConformanceTest, ADeferredBatchIsDurableOnlyOncePacked) {
  IngestBatch bulk;
  bulk.deferred = true;
  bulk.accepted = ThreeDays("D1");
  bulk.states = {MeterStateRecord{"D1", "s1"}};
  ASSERT_OK(store().Commit(bulk));
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> rows, store().QueryReadings("D1", {}, 0));
  EXPECT_EQ(rows.size(), 288u);  // visible at once
  ASSERT_OK(store().Pack());
  if (!GetParam().durable) return;
  Reopen();
  ASSERT_OK_AND_ASSIGN(rows, store().QueryReadings("D1", {}, 0));
  EXPECT_EQ(rows.size(), 288u);
  ASSERT_OK_AND_ASSIGN(std::vector<MeterStateRecord> states, store().LoadMeterStates({"D1"}));
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, "s1");
}

TEST_P(StoreConformanceTest, ChannelsOfAMeterAreSeparateSeries) {
  IngestBatch batch;
  StoredReading reactive = Packed("C1", 1700000900, 5, 0);
  reactive.channel = "00030000";
  batch.accepted = {Packed("C1", 1700000900, 100, 0), reactive};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK(store().Pack());
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> billing, store().QueryReadings("C1", {}, 0));
  ASSERT_EQ(billing.size(), 1u);
  EXPECT_EQ(billing[0].value, 100);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> other, store().QueryReadings("C1", {}, 0, "00030000"));
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].value, 5);
  EXPECT_EQ(other[0].channel, "00030000");
  ASSERT_OK_AND_ASSIGN(std::vector<StoredReading> none, store().QueryReadings("C1", {}, 0, "nosuch"));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreConformanceTest, ReplacedValuesAreKeptAsVersions) {
  IngestBatch first;
  first.accepted = {Packed("V1", 1700000900, 10, 0)};
  ASSERT_OK(store().Commit(first));
  IngestBatch corrected;
  StoredReading v2 = Packed("V1", 1700000900, 10.5, 0, "mqtt");
  v2.version = 2;
  corrected.accepted = {v2};
  ReadingVersion old;
  old.meter_id = "V1";
  old.ts = 1700000900;
  old.version = 1;
  old.value = 10;
  old.source = "mqtt";
  old.replaced_at = 1700001000;
  old.replaced_by = "ops";
  old.reason = "register misread";
  corrected.versions = {old};
  ASSERT_OK(store().Commit(corrected));
  ASSERT_OK(store().Commit(corrected));  // re-committed: still one version
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingVersion> versions, store().ListReadingVersions("V1", 1700000900));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].value, 10);
  EXPECT_EQ(versions[0].replaced_by, "ops");
  EXPECT_EQ(versions[0].reason, "register misread");
  ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> now, store().GetReading("V1", 1700000900));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->value, 10.5);
  EXPECT_EQ(now->version, 2u);
  ASSERT_OK_AND_ASSIGN(int64_t count, store().CountReadings());
  EXPECT_EQ(count, 1);
}

// An estimate (docs/estimation.md) is a reading flagged estimated with a row saying how it was
// made; an actual reading superseding it keeps the estimate as a version.
TEST_P(StoreConformanceTest, EstimatesKeepHowTheyWereMade) {
  IngestBatch batch;
  StoredReading e = Packed("E1", 1700000900, 10.5, 0.5);
  e.estimated = true;
  e.quality = "E";
  batch.accepted = {Packed("E1", 1700000000, 10, 0), e, Packed("E1", 1700001800, 11, 0.5)};
  batch.estimates = {{"E1", "", 1700000900, "linear", R"({"from":{"ts":1700000000,"value":10}})", "meterhub",
                      1700002000}};
  ASSERT_OK(store().Commit(batch));
  ASSERT_OK(store().Commit(batch));  // re-committed: still one row
  ASSERT_OK_AND_ASSIGN(std::optional<ReadingEstimate> how, store().GetEstimate("E1", 1700000900));
  ASSERT_TRUE(how.has_value());
  EXPECT_EQ(how->method, "linear");
  EXPECT_EQ(how->estimated_by, "meterhub");
  EXPECT_EQ(how->inputs, R"({"from":{"ts":1700000000,"value":10}})");
  EXPECT_EQ(how->created_at, 1700002000);
  ASSERT_OK_AND_ASSIGN(std::optional<ReadingEstimate> none, store().GetEstimate("E1", 1700000000));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<StoredReading> stored, store().GetReading("E1", 1700000900));
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->estimated);
  EXPECT_EQ(stored->quality, "E");

  IngestBatch actual;
  StoredReading a = Packed("E1", 1700000900, 10.4, 0.4);
  a.version = 2;
  actual.accepted = {a};
  actual.versions = {{"E1", "", 1700000900, 1, 10.5, 0.5, "meterhub", "E", 1700003000, "mqtt", "actual reading"}};
  ASSERT_OK(store().Commit(actual));
  ASSERT_OK_AND_ASSIGN(stored, store().GetReading("E1", 1700000900));
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->estimated);
  EXPECT_EQ(stored->value, 10.4);
  EXPECT_EQ(stored->version, 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<ReadingVersion> versions, store().ListReadingVersions("E1", 1700000900));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].quality, "E");
  EXPECT_EQ(versions[0].value, 10.5);
}

}  // namespace
}  // namespace mh::store::conformance
