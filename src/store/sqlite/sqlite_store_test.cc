// The SQLite store: the shared conformance suite (file in both durability modes, and in memory),
// then what only SQLite has: WAL, the schema version, reopening, and surviving a killed process.
#include "store/sqlite/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "store/sqlite/area_db.h"
#include "store/store_conformance.h"
#include "store/sqlite/sqlite_schema.h"
#include "support/sqlite_shell.h"

namespace mh::store {
namespace {

using conformance::ScopedTempDir;
using conformance::StoreBackend;
using conformance::StoreBackendName;
using conformance::StoreConformanceTest;

conformance::StoreFactory SqliteFactory(std::string synchronous) {
  return [synchronous](const std::string& dir) {
    SqliteOptions options;
    options.path = dir + "/meterhub.db";
    options.synchronous = synchronous;
    return OpenSqliteStore(options);
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(StoreBackend{"file_full", SqliteFactory("full")},
                                           StoreBackend{"file_normal", SqliteFactory("normal")},
                                           StoreBackend{"memory",
                                                        [](const std::string&) {
                                                          SqliteOptions options;
                                                          options.path = ":memory:";
                                                          return OpenSqliteStore(options);
                                                        },
                                                        /*durable=*/false}),
                         StoreBackendName);


class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  SqliteOptions Options() const {
    SqliteOptions options;
    options.path = dir_.path() + "/meterhub.db";
    return options;
  }

  std::unique_ptr<Store> Open(const SqliteOptions& options) {
    Result<std::unique_ptr<Store>> store = OpenSqliteStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  ScopedTempDir dir_;
};

std::string ReadTextFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

StoredReading Reading(const std::string& meter, int64_t ts, double value) {
  StoredReading r;
  r.meter_id = meter;
  r.ts = ts;
  r.value = value;
  r.source = "import";
  return r;
}

TEST_F(SqliteStoreTest, UsesWalModeAndForeignKeys) {
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(Options().path, "PRAGMA journal_mode"), "wal");  // persistent in the file
  EXPECT_TRUE(std::filesystem::exists(Options().path + "-wal"));
}

TEST_F(SqliteStoreTest, RecordsTheSchemaVersionOnce) {
  ASSERT_NE(Open(Options()), nullptr);
  ASSERT_NE(Open(Options()), nullptr);  // reopening does not migrate again
  const std::string current = std::to_string(sqlite_db::CurrentSchemaVersion());
  EXPECT_EQ(mh::testing::SqliteQueryText(Options().path, "SELECT max(version) FROM schema_version"), current);
  // One row per migration (versions may skip a number another branch took).
  EXPECT_EQ(mh::testing::SqliteQueryText(Options().path, "SELECT count(*) = count(DISTINCT version) FROM schema_version"), "1");
}

// The database file holds device and region keys: only its owner may read it.
TEST_F(SqliteStoreTest, CreatesTheFileReadableByItsOwnerOnly) {
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  IngestBatch batch;
  batch.accepted = {Reading("M1", 900, 1.0)};
  ASSERT_TRUE(store->Commit(batch).ok());
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((Options().path + suffix).c_str(), &st), 0) << suffix;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << Options().path + suffix;
  }
}

// A database written at schema version 3 (one row per reading, JSON meter states) opens, and its
// readings, quarantine and states come through the packing migration unchanged.
TEST_F(SqliteStoreTest, MigratesAVersionThreeDatabase) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Options().path.c_str(), &db), SQLITE_OK);
    const std::string schema = ReadTextFile(std::string(MH_SOURCE_DIR) + "/src/store/sqlite/testdata/schema_v3.sql");
    ASSERT_FALSE(schema.empty());
    ASSERT_EQ(sqlite3_exec(db, schema.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string rows = "BEGIN;";
    for (int m = 0; m < 3; ++m) {
      const std::string id = "M" + std::to_string(m);
      rows += "INSERT INTO meters VALUES ('" + id + "', 'electricity', 'C', 28800, 900, NULL, NULL, 0);";
      for (int i = 0; i < 300; ++i) {  // 300 readings, 15 minutes apart: more than three days
        rows += "INSERT INTO readings VALUES ('" + id + "', " + std::to_string(1700000100 + 900 * i) + ", " +
                std::to_string(100 + i) + ", " + (i ? "1" : "0") + ", '" + (i % 2 ? "mqtt" : "import") + "', '" +
                (i == 5 ? "E" : "") + "');";
      }
      rows += "INSERT INTO meter_state VALUES ('" + id + R"(', '{"v":1,"last":{"ts":1700269200,"value":399},"period_start":0,"period_end":0}');)";
    }
    rows += "INSERT INTO quarantine VALUES ('M1', 1700000000, 'error', 'v:5', 5, '', 'd<0', 'mqtt', 0);";
    rows += "INSERT INTO api_tokens VALUES ('ab', 'old', 'admin', '');";
    rows += "COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, rows.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(Options().path, "SELECT count(*) FROM sqlite_master WHERE name = 'readings'"), "0");
  ASSERT_TRUE(store->CountReadings().ok());
  EXPECT_EQ(*store->CountReadings(), 900);
  auto rows = store->QueryReadings("M1", TimeRange{}, 0);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 300u);
  EXPECT_EQ((*rows)[0].ts, 1700000100);
  EXPECT_EQ((*rows)[0].source, "import");
  EXPECT_EQ((*rows)[1].source, "mqtt");
  EXPECT_EQ((*rows)[5].quality, "E");
  EXPECT_EQ((*rows)[299].value, 399);
  EXPECT_EQ((*rows)[299].consumption, 1);
  auto last = store->LastReadingAtOrBefore("M2", 1700000100 + 900 * 150);
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->value, 250);
  auto q = store->QueryQuarantine("M1", TimeRange{}, 0);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0].channel, "");
  auto states = store->LoadMeterStates({"M0"});
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_NE(states->front().state.find("1700269200"), std::string::npos);  // the JSON form, read by src/vee
  // And new readings go on from there.
  IngestBatch more;
  more.accepted = {Reading("M1", 1700000100 + 900 * 300, 400)};
  ASSERT_TRUE(store->Commit(more).ok());
  EXPECT_EQ(*store->CountReadings(), 901);
}

// Takes version 11 (the meters-by-gateway index of issue 16) out of a file.
void UndoVersion11(const std::string& path) {
  for (const char* sql : {"DROP INDEX meters_by_gateway", "DELETE FROM schema_version WHERE version >= 11"})
    mh::testing::SqliteQueryText(path, sql);
}

// Takes a file back to schema 9 (before the alerts' estimated part of issue 18).
void UndoVersion10(const std::string& path) {
  UndoVersion11(path);
  for (const char* sql : {"ALTER TABLE alerts DROP COLUMN estimated_consumption",
                          "DELETE FROM schema_version WHERE version >= 10"})
    mh::testing::SqliteQueryText(path, sql);
}

// Takes a file back to schema 8 (before the protocol addresses of issue 16), for the migration
// tests of versions up to 9.
void UndoVersion9(const std::string& path) {
  UndoVersion10(path);
  for (const char* sql : {"DROP INDEX meters_by_address", "ALTER TABLE meters DROP COLUMN protocol",
                          "ALTER TABLE meters DROP COLUMN address", "ALTER TABLE meters DROP COLUMN gateway",
                          "ALTER TABLE meters DROP COLUMN billing_channel", "DELETE FROM schema_version WHERE version >= 9"})
    mh::testing::SqliteQueryText(path, sql);
}

// Schema 5 (the relay outcomes): a batch recorded before it keeps its row, without a failure code.
TEST_F(SqliteStoreTest, MigratesAVersionFourRelayBatchTable) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion9(path);
  for (const char* sql : {"DROP TABLE relay_outcomes", "DROP TABLE relay_work_orders", "DROP TABLE relay_batches",
                          "CREATE TABLE relay_batches (digest_hex TEXT NOT NULL PRIMARY KEY, origin_meter_id TEXT NOT NULL,"
                          " relay_meter_id TEXT NOT NULL, outcome TEXT NOT NULL, readings INTEGER NOT NULL,"
                          " copies INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID",
                          "INSERT INTO relay_batches VALUES ('aa', 'M1', 'R1', 'accepted', 3, 1, 100)",
                          // and schemas 6 (access) and 7 (delivery rounds) undone, so the file is what
                          // a version-4 build left
                          "DROP TABLE delivery_requeues", "DROP INDEX deliveries_failed",
                          "ALTER TABLE deliveries DROP COLUMN round_started_at",
                          "ALTER TABLE deliveries DROP COLUMN round_base",
                          "DROP TABLE users", "DROP TABLE sessions", "ALTER TABLE api_tokens DROP COLUMN created_at",
                          "ALTER TABLE api_tokens DROP COLUMN expires_at", "ALTER TABLE api_tokens DROP COLUMN revoked_at",
                          "DELETE FROM schema_version WHERE version >= 5"})
    mh::testing::SqliteQueryText(path, sql);
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  auto batches = store->ListRelayBatchesFrom("M1", 0);
  ASSERT_TRUE(batches.ok()) << batches.status().ToString();
  ASSERT_EQ(batches->size(), 1u);
  EXPECT_EQ((*batches)[0].readings, 3);
  EXPECT_FALSE((*batches)[0].failure_code.has_value());
}

// Schema 7 (delivery rounds): a delivery written before it starts with no round (0, 0), and a
// failed one can be re-queued, its earlier attempts counted as the new round's base.
TEST_F(SqliteStoreTest, MigratesAVersionSixDeliveries) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion9(path);
  for (const char* sql : {"DROP TABLE delivery_requeues", "DROP INDEX deliveries_failed",
                          "ALTER TABLE deliveries DROP COLUMN round_started_at",
                          "ALTER TABLE deliveries DROP COLUMN round_base",
                          "INSERT INTO meters (meter_id, kind, customer_id, tz_offset_s, interval_s, created_at)"
                          " VALUES ('M1', 'electricity', 'C', 0, 900, 0)",
                          "INSERT INTO alerts VALUES (1, 'M1', 't1', 0, 900, 10, 10, 5, 5, 1000)",
                          "INSERT INTO deliveries (id, alert_id, meter_id, terminal_id, channel, address, content, status,"
                          " attempts, next_attempt_at, last_error, updated_at)"
                          " VALUES (7, 1, 'M1', 't1', 'webhook', 'https://example.com/h', '{}', 'failed', 3, 0, 'down', 2000)",
                          "DELETE FROM schema_version WHERE version >= 7"})
    mh::testing::SqliteQueryText(path, sql);
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"), std::to_string(sqlite_db::CurrentSchemaVersion()));
  Result<std::optional<Delivery>> before = store->GetDelivery(7);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_TRUE(before->has_value());
  EXPECT_EQ((*before)->meter_id, "M1");
  EXPECT_EQ((*before)->round_started_at, 0);
  EXPECT_EQ((*before)->round_base, 0);
  DeliveryRequeue requeue;
  requeue.at_ms = 5000;
  requeue.requested_by = "admin";
  Result<std::vector<int64_t>> ids = store->RequeueFailedDeliveries(requeue);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, std::vector<int64_t>{7});
  Result<std::optional<Delivery>> after = store->GetDelivery(7);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->status, DeliveryStatus::kPending);
  EXPECT_EQ((*after)->round_base, 3);
}

// Schema 8: one meter's quarantine at one time is found through (meter_id, ts), not by scanning
// every row the meter has in the quarantine; a version-7 file gains the index on open.
TEST_F(SqliteStoreTest, MigratesAVersionSevenQuarantineIndex) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion9(path);
  for (const char* sql : {"DROP INDEX quarantine_by_meter_ts", "DELETE FROM schema_version WHERE version >= 8"})
    mh::testing::SqliteQueryText(path, sql);
  ASSERT_EQ(mh::testing::SqliteQueryText(path, "SELECT name FROM sqlite_master WHERE name = 'quarantine_by_meter_ts'"),
            "<none>");
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite_db::CurrentSchemaVersion()));
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT name FROM sqlite_master WHERE name = 'quarantine_by_meter_ts'"),
            "quarantine_by_meter_ts");
}

// Schema 9 (issue 16): a version-8 file's meters gain an empty protocol address, gateway and
// billing channel; an address then finds its meter, and two meters cannot share one.
TEST_F(SqliteStoreTest, MigratesAVersionEightMetersToProtocolAddresses) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion9(path);
  mh::testing::SqliteQueryText(path, "INSERT INTO meters (meter_id, kind, customer_id, tz_offset_s, interval_s, created_at)"
                                     " VALUES ('M1', 'electricity', 'C', 0, 900, 0)");
  ASSERT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"), "8");
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite_db::CurrentSchemaVersion()));
  Result<std::optional<MeterInfo>> m1 = store->GetMeter("M1");
  ASSERT_TRUE(m1.ok() && m1->has_value());
  EXPECT_EQ((*m1)->protocol, "");
  EXPECT_EQ((*m1)->address, "");
  EXPECT_EQ(BillingChannelOf(**m1), "import_kwh");
  MeterInfo meter = **m1;
  meter.protocol = "dlt645";
  meter.address = "001122334455";
  meter.gateway = "DTU1";
  ASSERT_TRUE(store->UpsertMeter(meter).ok());
  Result<std::optional<MeterInfo>> found = store->FindMeterByAddress("dlt645", "001122334455");
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status().ToString();
  EXPECT_EQ((*found)->meter_id, "M1");
  EXPECT_EQ((*found)->gateway, "DTU1");
  Result<std::optional<MeterInfo>> other = store->FindMeterByAddress("cjt188", "001122334455");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  MeterInfo twin = meter;
  twin.meter_id = "M2";
  EXPECT_FALSE(store->UpsertMeter(twin).ok());
}

// Schema 10 (issue 18): a version-9 file's alerts gain estimated_consumption = 0; an alert
// committed after the migration keeps its estimated part.
TEST_F(SqliteStoreTest, MigratesAVersionNineAlertsToEstimatedConsumption) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion10(path);
  mh::testing::SqliteQueryText(path, "INSERT INTO alerts (meter_id, terminal_id, period_start, ts, reading,"
                                     " period_consumption, threshold, excess, created_at)"
                                     " VALUES ('M1', 'T1', 0, 900, 12, 12, 10, 2, 1000)");
  ASSERT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"), "9");
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite_db::CurrentSchemaVersion()));
  Result<std::vector<AlertRecord>> old = store->ListAlerts("M1", {}, 10);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  ASSERT_EQ(old->size(), 1u);
  EXPECT_EQ((*old)[0].period_consumption, 12);
  EXPECT_EQ((*old)[0].estimated_consumption, 0);
  IngestBatch batch;
  batch.alerts = {conformance::SampleAlert("M1", "T1", 0, 1800)};
  batch.alerts[0].alert.estimated_consumption = 3.5;
  ASSERT_TRUE(store->Commit(batch).ok());
  Result<std::vector<AlertRecord>> both = store->ListAlerts("M1", {}, 10);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[1].estimated_consumption, 3.5);
}

// Schema 11 (issue 16): a version-10 file gains the index of meters by gateway.
TEST_F(SqliteStoreTest, MigratesAVersionTenFileToMetersByGateway) {
  ASSERT_NE(Open(Options()), nullptr);
  const std::string path = Options().path;
  UndoVersion11(path);
  ASSERT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"), "10");
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT max(version) FROM schema_version"),
            std::to_string(sqlite_db::CurrentSchemaVersion()));
  EXPECT_EQ(mh::testing::SqliteQueryText(path, "SELECT name FROM sqlite_master WHERE name = 'meters_by_gateway'"),
            "meters_by_gateway");
  EXPECT_TRUE(store->MetersBehindGateway("DTU1").ok());  // the query itself: the stores' conformance test
}

// A full disk is the store's state, not the request's fault: kStorageFull (HTTP 507, retry), in
// the main store and in the area stores alike. max_size_bytes makes SQLite fail as on a full disk.
TEST_F(SqliteStoreTest, AFullDatabaseIsStorageFull) {
  SqliteOptions options = Options();
  options.max_size_bytes = 512 * 1024;
  std::unique_ptr<Store> store = Open(options);
  ASSERT_NE(store, nullptr);
  Status status;
  for (int batch = 0; batch < 200 && status.ok(); ++batch) {
    IngestBatch b;
    for (int i = 0; i < 1000; ++i) b.accepted.push_back(Reading("M1", 1000 * batch + i, i));
    status = store->Commit(b);
  }
  EXPECT_EQ(status.code(), StatusCode::kStorageFull) << status.ToString();
  EXPECT_NE(status.message().find("full"), std::string::npos) << status.message();
  EXPECT_EQ(area_db::CodeFor(SQLITE_FULL), StatusCode::kStorageFull);
  EXPECT_EQ(area_db::CodeFor(SQLITE_IOERR_WRITE), StatusCode::kUnavailable);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerBuild) {
  ASSERT_NE(Open(Options()), nullptr);
  mh::testing::SqliteQueryText(Options().path, "INSERT INTO schema_version (version, applied_at) VALUES (999, 0)");
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("999"), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, RejectsBadOptionsWithTheReason) {
  SqliteOptions options = Options();
  options.synchronous = "sometimes";
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);

  options = Options();
  options.path = dir_.path() + "/no/such/dir/meterhub.db";
  store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(options.path), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, DataSurviveCloseAndReopen) {
  {
    std::unique_ptr<Store> store = Open(Options());
    ASSERT_NE(store, nullptr);
    MeterInfo meter;
    meter.meter_id = "M1";
    ASSERT_TRUE(store->UpsertMeter(meter).ok());
    IngestBatch batch;
    batch.accepted = {Reading("M1", 900, 1.0), Reading("M1", 1800, 2.0)};
    batch.states = {MeterStateRecord{"M1", R"({"n":2})"}};
    ASSERT_TRUE(store->Commit(batch).ok());
    ASSERT_TRUE(store->PutToken(ApiToken{"ff00", "t", "admin", ""}).ok());
  }
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  Result<std::vector<StoredReading>> readings = store->QueryReadings("M1", TimeRange{}, 0);
  ASSERT_TRUE(readings.ok());
  EXPECT_EQ(readings->size(), 2u);
  Result<std::vector<MeterStateRecord>> states = store->LoadMeterStates({"M1"});
  ASSERT_TRUE(states.ok());
  ASSERT_EQ(states->size(), 1u);
  EXPECT_EQ((*states)[0].state, R"({"n":2})");
  Result<std::optional<MeterInfo>> meter = store->GetMeter("M1");
  ASSERT_TRUE(meter.ok());
  EXPECT_TRUE(meter->has_value());
  Result<std::optional<ApiToken>> token = store->FindToken("ff00");
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(token->has_value());
}

// A bulk load's readings (deferred: never logged) are packed in one transaction, whatever their
// number; more than the 20,000 changes a logged pack commits at a time all arrive, and survive.
TEST_F(SqliteStoreTest, ABulkLoadLargerThanAPackTransactionPacksWhole) {
  constexpr int kMeters = 2500, kReadings = 10;  // 25,000 changes
  {
    std::unique_ptr<Store> store = Open(Options());
    ASSERT_NE(store, nullptr);
    for (int t = 0; t < kReadings; ++t) {
      IngestBatch bulk;
      bulk.deferred = true;
      for (int m = 0; m < kMeters; ++m)
        bulk.accepted.push_back(Reading("B" + std::to_string(m), 1700006400 + 900 * t, 10.0 + t));
      ASSERT_TRUE(store->Commit(bulk).ok());
    }
    EXPECT_EQ(store->UnpackedReadings(), kMeters * kReadings);
    ASSERT_TRUE(store->Pack().ok());
    EXPECT_EQ(store->UnpackedReadings(), 0);
  }
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  Result<int64_t> count = store->CountReadings();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, kMeters * kReadings);
  for (const char* meter : {"B0", "B1249", "B2499"}) {
    Result<std::vector<StoredReading>> rows = store->QueryReadings(meter, TimeRange{}, 0);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), static_cast<size_t>(kReadings)) << meter;
    EXPECT_EQ(rows->back().value, 10.0 + kReadings - 1) << meter;
  }
}

// A failure inside SQLite itself, halfway through a batch, rolls the whole batch back and names
// the operation and SQLite's message.
TEST_F(SqliteStoreTest, SqliteFailureMidBatchRollsBackAndIsReported) {
  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  mh::testing::SqliteQueryText(Options().path,
            "CREATE TRIGGER fail_state BEFORE INSERT ON meter_state_log WHEN NEW.meter_id = 'BAD'"
            " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  store = Open(Options());  // statements prepared after the trigger exists
  ASSERT_NE(store, nullptr);
  IngestBatch batch;
  batch.accepted = {Reading("M1", 900, 1.0)};
  batch.states = {MeterStateRecord{"M1", "{}"}, MeterStateRecord{"BAD", "{}"}};
  const Status status = store->Commit(batch);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("state of meter BAD"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("injected failure"), std::string::npos) << status.message();
  Result<int64_t> readings = store->CountReadings();
  ASSERT_TRUE(readings.ok());
  EXPECT_EQ(*readings, 0);
  Result<std::vector<MeterStateRecord>> states = store->LoadMeterStates({"M1"});
  ASSERT_TRUE(states.ok());
  EXPECT_TRUE(states->empty());
}

// WAL lets readers go on while another connection holds the write lock; a writer that cannot get
// the lock within busy_timeout gets Unavailable, not a hang.
TEST_F(SqliteStoreTest, ReadsProceedWhileTheWriteLockIsHeld) {
  SqliteOptions options = Options();
  options.busy_timeout_ms = 1500;
  std::unique_ptr<Store> store = Open(options);
  ASSERT_NE(store, nullptr);
  IngestBatch batch;
  batch.accepted = {Reading("M1", 900, 1.0)};
  ASSERT_TRUE(store->Commit(batch).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO store_counters VALUES ('test', 1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  const auto start = std::chrono::steady_clock::now();
  Result<std::vector<StoredReading>> rows = store->QueryReadings("M1", TimeRange{}, 0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 1u);
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));  // a read that waited would take 1.5 s

  batch.accepted = {Reading("M1", 1800, 2.0)};
  const Status blocked = store->Commit(batch);
  EXPECT_EQ(blocked.code(), StatusCode::kUnavailable) << blocked.ToString();
  EXPECT_NE(blocked.message().find("commit batch"), std::string::npos) << blocked.message();

  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(store->Commit(batch).ok());  // and the store recovers
}

// --- crash safety: a child process commits and dies without closing anything ---

constexpr int kReadingsPerBatch = 50;

// Batch b: kReadingsPerBatch readings of meter "C", one quarantined row, and the state "b", so
// a half-applied batch would show as a count that is not a multiple, or a state out of step.
IngestBatch CrashBatch(int b) {
  IngestBatch batch;
  for (int i = 0; i < kReadingsPerBatch; ++i) {
    const int64_t ts = int64_t{900} * (int64_t{b} * kReadingsPerBatch + i + 1);
    batch.accepted.push_back(Reading("C", ts, static_cast<double>(ts)));
  }
  QuarantinedReading q;
  q.meter_id = "C";
  q.ts = int64_t{900} * (int64_t{b} * kReadingsPerBatch + 1) + 1;
  q.raw_value = "bad";
  batch.quarantined = {q};
  batch.states = {MeterStateRecord{"C", std::to_string(b)}};
  return batch;
}

// In the child: commit batches 0.. (up to `max_batches`), writing each acknowledged batch
// number to `ack_fd`, then die as told. Never returns.
[[noreturn]] void CommitUntilDeath(const SqliteOptions& options, int ack_fd, int max_batches, bool sigkill) {
  Result<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  if (!store.ok()) _exit(2);
  for (int b = 0; b < max_batches; ++b) {
    if (!(*store)->Commit(CrashBatch(b)).ok()) _exit(3);
    const int32_t acked = b;
    if (write(ack_fd, &acked, sizeof(acked)) != sizeof(acked)) _exit(4);
  }
  if (sigkill) raise(SIGKILL);
  _exit(0);  // no destructors: the store is never closed
}

// Checks the database after the child died: every acknowledged batch is there, and every batch
// there is whole.
void ExpectWholeBatches(Store& store, int acked_batches) {
  Result<int64_t> readings = store.CountReadings();
  ASSERT_TRUE(readings.ok()) << readings.status().ToString();
  Result<int64_t> quarantined = store.CountQuarantine();
  ASSERT_TRUE(quarantined.ok());
  EXPECT_EQ(*readings % kReadingsPerBatch, 0) << "a batch was half-applied";
  const int64_t batches = *readings / kReadingsPerBatch;
  EXPECT_GE(batches, acked_batches) << "an acknowledged batch was lost";
  EXPECT_EQ(*quarantined, batches);
  Result<std::vector<MeterStateRecord>> states = store.LoadMeterStates({"C"});
  ASSERT_TRUE(states.ok());
  if (batches > 0) {
    ASSERT_EQ(states->size(), 1u);
    EXPECT_EQ((*states)[0].state, std::to_string(batches - 1));
  }
}

TEST_F(SqliteStoreTest, CommittedBatchesSurviveExitWithoutClose) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CommitUntilDeath(Options(), fds[1], 5, /*sigkill=*/false);
  }
  close(fds[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  int acked = 0;
  int32_t b = 0;
  while (read(fds[0], &b, sizeof(b)) == sizeof(b)) acked = b + 1;
  close(fds[0]);
  EXPECT_EQ(acked, 5);

  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  ExpectWholeBatches(*store, acked);
  Result<int64_t> readings = store->CountReadings();
  ASSERT_TRUE(readings.ok());
  EXPECT_EQ(*readings, 5 * kReadingsPerBatch);
}

TEST_F(SqliteStoreTest, CommittedBatchesSurviveSigkillMidIngest) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CommitUntilDeath(Options(), fds[1], 1 << 20, /*sigkill=*/true);
  }
  close(fds[1]);
  // Let it get going, then kill it wherever it is (most likely inside a transaction).
  int acked = 0;
  int32_t b = 0;
  while (acked < 20 && read(fds[0], &b, sizeof(b)) == sizeof(b)) acked = b + 1;
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  while (read(fds[0], &b, sizeof(b)) == sizeof(b)) acked = b + 1;  // acks sent before it died
  close(fds[0]);
  ASSERT_GE(acked, 20);

  std::unique_ptr<Store> store = Open(Options());
  ASSERT_NE(store, nullptr);
  ExpectWholeBatches(*store, acked);
}

}  // namespace
}  // namespace mh::store
