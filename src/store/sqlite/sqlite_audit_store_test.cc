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
  sqlite3_exec(h, "UPDATE schema_components SET version = 2 WHERE component = 'audit'", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto newer = OpenSqliteAuditStore(SqliteAuditOptions{path});
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("audit store: schema version 2 is newer"), std::string::npos) << newer.status().message();
  const std::string empty = ::testing::TempDir() + "/sqlite-audit-store-empty.db";
  std::remove(empty.c_str());
  SqliteAuditOptions ro{empty};
  ro.read_only = true;
  EXPECT_FALSE(OpenSqliteAuditStore(ro).ok());
}

}  // namespace
}  // namespace mh::store
