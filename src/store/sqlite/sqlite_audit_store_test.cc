// The SQLite AuditStore: the conformance suite on a file of its own and on a file shared with the
// ledger, plus what only SQLite has (reopening, read-only, a newer schema refused).
#include "store/sqlite/sqlite_audit_store.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "store/audit_store_conformance.h"
#include "store/sqlite/sqlite_ledger_store.h"

namespace mh::store {
namespace {

using conformance::AuditStoreBackend;
using conformance::AuditStoreConformanceTest;

Result<std::unique_ptr<AuditStore>> MakeFile(const std::string& dir) {
  return OpenSqliteAuditStore(SqliteAuditOptions{dir + "/audit.db"});
}
Result<std::unique_ptr<AuditStore>> MakeMemory(const std::string&) { return std::unique_ptr<AuditStore>(NewMemoryAuditStore()); }

INSTANTIATE_TEST_SUITE_P(Backends, AuditStoreConformanceTest,
                         ::testing::Values(AuditStoreBackend{"sqlite_file", MakeFile}, AuditStoreBackend{"memory", MakeMemory}),
                         conformance::AuditStoreBackendName);

TEST(SqliteAuditStoreTest, SharesTheFileReopensAndRefusesNewerSchema) {
  const std::string path = ::testing::TempDir() + "/sqlite-audit-store-shared.db";
  std::remove(path.c_str());
  {
    SqliteLedgerOptions lo;
    lo.path = path;
    ASSERT_TRUE(OpenSqliteLedgerStore(lo).ok());
    auto s = OpenSqliteAuditStore(SqliteAuditOptions{path});
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE((*s)->PutSegments(AuditSegments{"M1", "f", "d", "c", 7}).ok());
  }
  {
    SqliteAuditOptions ro{path};
    ro.read_only = true;
    auto s = OpenSqliteAuditStore(ro);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((**(*s)->GetSegments("M1")).received_at, 7);
    EXPECT_FALSE((*s)->PutSegments(AuditSegments{"M2", "f", "d", "c", 7}).ok());
  }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
  sqlite3_exec(h, "UPDATE schema_components SET version = 3 WHERE component = 'audit'", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto newer = OpenSqliteAuditStore(SqliteAuditOptions{path});
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("audit store: schema version 3 is newer"), std::string::npos) << newer.status().message();
  const std::string empty = ::testing::TempDir() + "/sqlite-audit-store-empty.db";
  std::remove(empty.c_str());
  SqliteAuditOptions ro{empty};
  ro.read_only = true;
  EXPECT_FALSE(OpenSqliteAuditStore(ro).ok());
}

// A version-1 file (issue 5's daemon) is migrated when opened: its results stay, and gain the
// columns of version 2; the audited-meters table appears.
TEST(SqliteAuditStoreTest, MigratesVersion1) {
  const std::string path = ::testing::TempDir() + "/sqlite-audit-store-v1.db";
  std::remove(path.c_str());
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, R"sql(
    CREATE TABLE schema_components (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
    INSERT INTO schema_components VALUES ('audit', 1);
    CREATE TABLE audit_segments (meter_id TEXT PRIMARY KEY, fixed_image BLOB NOT NULL, dynamic_text BLOB NOT NULL,
      compare_text BLOB NOT NULL, received_at INTEGER NOT NULL);
    CREATE TABLE audit_results (id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, audited_at INTEGER NOT NULL,
      trigger TEXT NOT NULL, pass INTEGER NOT NULL, alarms TEXT NOT NULL, reasons TEXT NOT NULL, order_id TEXT NOT NULL);
    CREATE INDEX audit_results_meter ON audit_results (meter_id, id);
    CREATE TABLE audit_orders (id TEXT PRIMARY KEY, meter_id TEXT NOT NULL, created_at INTEGER NOT NULL,
      priority TEXT NOT NULL, summary TEXT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL,
      attempts INTEGER NOT NULL, last_error TEXT NOT NULL);
    INSERT INTO audit_results VALUES (1, 'M1', 100, 'request', 1, '[]', '[]', '');
  )sql", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
  auto s = OpenSqliteAuditStore(SqliteAuditOptions{path});
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto results = (*s)->Results("M1", 10);
  ASSERT_TRUE(results.ok()) << results.status().message();
  ASSERT_EQ(results->size(), 1u);
  EXPECT_TRUE((*results)[0].pass);
  EXPECT_EQ((*results)[0].segments, "");
  EXPECT_TRUE((*results)[0].notes.empty());
  ASSERT_TRUE((*s)->PutMeter(AuditMeterRow{"M1", "enterprise", "", 1, 0, 0, 0, 0}).ok());
  EXPECT_EQ((*(*s)->GetMeter("M1"))->user_attribute, "enterprise");
  s->reset();
  ASSERT_EQ(sqlite3_open(path.c_str(), &h), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT version FROM schema_components WHERE component = 'audit'", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), kAuditSchemaVersion);
  sqlite3_finalize(st);
  sqlite3_close(h);
}

}  // namespace
}  // namespace mh::store
