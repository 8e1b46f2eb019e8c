// The PostgreSQL main store: the shared conformance suite (store_conformance.h) against a real
// server, then what only PostgreSQL has: the schema version, two stores (workers) on one
// database, deferred batches made durable by Pack.
#include "store/postgres/pg_store.h"

#include <gtest/gtest.h>

#include "store/postgres/pg_db.h"
#include "store/postgres/pg_store_sql.h"
#include "store/store_conformance.h"
#include "support/postgres_server.h"

namespace mh::store {
namespace {

using conformance::StoreBackend;
using conformance::StoreBackendName;
using conformance::StoreConformanceTest;

Result<std::unique_ptr<Store>> MakeStore(const std::string& scratch_dir) {
  const std::string url = mh::testing::PostgresDatabase(scratch_dir);
  if (url.empty()) return Unavailable("no PostgreSQL for this test");
  return OpenPostgresStore(PostgresStoreOptions{url});
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest, ::testing::Values(StoreBackend{"postgres", MakeStore}),
                         StoreBackendName);

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = mh::testing::PostgresDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<Store> Open() {
    Result<std::unique_ptr<Store>> s = OpenPostgresStore(PostgresStoreOptions{url_});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string url_;
};

TEST_F(PostgresStoreTest, RecordsItsVersionAndRefusesANewerOne) {
  if (url_.empty()) return;
  ASSERT_NE(Open(), nullptr);
  ASSERT_NE(Open(), nullptr);  // opening again migrates nothing
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("store").value(), kPostgresStoreSchemaVersion);
  ASSERT_TRUE((*db)->Exec("UPDATE schema_components SET version = 99 WHERE component = 'store'", "bump").ok());
  Result<std::unique_ptr<Store>> s = OpenPostgresStore(PostgresStoreOptions{url_});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("99"), std::string::npos) << s.status().message();
}

TEST_F(PostgresStoreTest, MigratesAVersion9DatabaseToTheClusterTables) {
  if (url_.empty()) return;
  {
    auto db = pg::Connection::Open(url_, "test");
    ASSERT_TRUE(db.ok());
    ASSERT_EQ((*db)->CreateSchema(pgsql::kSchema, "store", 9).value(), 9);  // what schema 9 created
  }
  ASSERT_NE(Open(), nullptr);
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("store").value(), kPostgresStoreSchemaVersion);
  auto shards = (*db)->Query("SELECT count(*) FROM shard_leases WHERE worker_id = ''", pg::Params(), "count");
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  EXPECT_EQ(shards->Int(0, 0), 64);
}

// Schema 11 (issue 18): a version-10 database's alerts gain estimated_consumption = 0, and an
// alert committed after the migration keeps its estimated part.
TEST_F(PostgresStoreTest, MigratesAVersion10DatabaseToAlertEstimates) {
  if (url_.empty()) return;
  {
    auto db = pg::Connection::Open(url_, "test");
    ASSERT_TRUE(db.ok());
    const std::string v10 = std::string(pgsql::kSchema) + pgsql::kClusterSchema;  // what schema 10 created
    ASSERT_EQ((*db)->CreateSchema(v10.c_str(), "store", 10).value(), 10);
    ASSERT_TRUE((*db)->Exec("INSERT INTO alerts (meter_id, terminal_id, period_start, ts, reading, period_consumption,"
                            " threshold, excess, created_at) VALUES ('M1', 'T1', 0, 900, 12, 12, 10, 2, 1000)",
                            "insert a version-10 alert")
                    .ok());
  }
  std::unique_ptr<Store> store = Open();
  ASSERT_NE(store, nullptr);
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("store").value(), kPostgresStoreSchemaVersion);
  std::vector<AlertRecord> old = store->ListAlerts("M1", {}, 10).value();
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].period_consumption, 12);
  EXPECT_EQ(old[0].estimated_consumption, 0);
  IngestBatch batch;
  batch.alerts = {conformance::SampleAlert("M1", "T1", 0, 1800)};
  batch.alerts[0].alert.estimated_consumption = 3.5;
  ASSERT_TRUE(store->Commit(batch).ok());
  std::vector<AlertRecord> both = store->ListAlerts("M1", {}, 10).value();
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].ts, 1800);
  EXPECT_EQ(both[1].estimated_consumption, 3.5);
}

TEST_F(PostgresStoreTest, MigratesAVersion10DatabaseToTheWorkersListenAddresses) {
  if (url_.empty()) return;
  {
    auto db = pg::Connection::Open(url_, "test");
    ASSERT_TRUE(db.ok());
    const std::string v10 = std::string(pgsql::kSchema) + pgsql::kClusterSchema;  // what schema 10 created
    ASSERT_EQ((*db)->CreateSchema(v10.c_str(), "store", 10).value(), 10);
    ASSERT_TRUE((*db)->Exec("INSERT INTO workers (worker_id, expires_at) VALUES ('old', now())", "a v10 worker").ok());
  }
  ASSERT_NE(Open(), nullptr);
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("store").value(), kPostgresStoreSchemaVersion);
  auto listen = (*db)->Query("SELECT listen FROM workers WHERE worker_id = 'old'", pg::Params(), "listen");
  ASSERT_TRUE(listen.ok()) << listen.status().ToString();
  ASSERT_EQ(listen->size(), 1);
  EXPECT_EQ(listen->Text(0, 0), "");
}

// Schema 13 (issue 16): a version-10 database gains the index of meters by gateway.
TEST_F(PostgresStoreTest, MigratesAVersion10DatabaseToMetersByGateway) {
  if (url_.empty()) return;
  {
    auto db = pg::Connection::Open(url_, "test");
    ASSERT_TRUE(db.ok());
    const std::string v10 = std::string(pgsql::kSchema) + pgsql::kClusterSchema;  // what schema 10 created
    ASSERT_EQ((*db)->CreateSchema(v10.c_str(), "store", 10).value(), 10);
  }
  std::unique_ptr<Store> store = Open();
  ASSERT_NE(store, nullptr);
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("store").value(), kPostgresStoreSchemaVersion);
  auto index = (*db)->Query("SELECT count(*) FROM pg_indexes WHERE indexname = 'meters_by_gateway'", pg::Params(), "index");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->Int(0, 0), 1);
  EXPECT_TRUE(store->MetersBehindGateway("DTU1").ok());  // the query itself: the stores' conformance test
}

TEST_F(PostgresStoreTest, RefusesAnUnreachableServerWithItsReason) {
  Result<std::unique_ptr<Store>> s = OpenPostgresStore(PostgresStoreOptions{"postgresql://nobody@127.0.0.1:1/none"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status().ToString();
}

// Two workers' stores on one database: both commit, each sees the other's readings, and a batch
// replayed by the other (a redelivery after a takeover) keeps one reading per key.
TEST_F(PostgresStoreTest, TwoStoresOnOneDatabaseShareTheReadings) {
  if (url_.empty()) return;
  std::unique_ptr<Store> a = Open(), b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  IngestBatch batch;
  for (int i = 0; i < 100; ++i) {
    StoredReading r;
    r.meter_id = "W" + std::to_string(i % 10);
    r.ts = 900 * (i / 10 + 1);
    r.value = i;
    r.source = "mqtt";
    batch.accepted.push_back(r);
  }
  batch.states = {MeterStateRecord{"W1", std::string("\0\1\2\\\t\n", 6)}};
  ASSERT_TRUE(a->Commit(batch).ok());
  ASSERT_TRUE(b->Commit(batch).ok());
  EXPECT_EQ(b->CountReadings().value(), 100);
  EXPECT_EQ(b->QueryReadings("W3", {}, 0).value().size(), 10u);
  std::vector<MeterStateRecord> states = a->LoadMeterStates({"W1"}).value();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, std::string("\0\1\2\\\t\n", 6));  // bytes survive COPY's escapes
}

// Text with COPY's special characters lands as it was sent.
TEST_F(PostgresStoreTest, ReadingTextFieldsSurviveCopyEscapes) {
  if (url_.empty()) return;
  std::unique_ptr<Store> s = Open();
  ASSERT_NE(s, nullptr);
  IngestBatch batch;
  StoredReading r;
  r.meter_id = "M\\1\tx";
  r.channel = "ch\n2";
  r.ts = 900;
  r.value = 0.1;
  r.source = "relay:\\N";
  r.quality = "\r";
  batch.accepted = {r};
  ASSERT_TRUE(s->Commit(batch).ok());
  std::optional<StoredReading> got = s->GetReading(r.meter_id, 900, r.channel).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->source, r.source);
  EXPECT_EQ(got->quality, r.quality);
  EXPECT_EQ(got->value, 0.1);
}

}  // namespace
}  // namespace mh::store
