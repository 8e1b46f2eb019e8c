// The SQLite ledger store: the shared conformance suite (file in both durability modes, and in
// memory), then what only SQLite has: living beside the main store in one file, the schema
// version, read-only opening, and surviving close and reopen.
#include "store/sqlite/sqlite_ledger_store.h"

#include <gtest/gtest.h>

#include "store/ledger_store_conformance.h"
#include "store/sqlite/sqlite_store.h"
#include "support/sqlite_shell.h"

namespace mh::store {
namespace {

using conformance::LedgerStoreBackend;
using conformance::LedgerStoreBackendName;
using conformance::LedgerStoreConformanceTest;
using conformance::LedgerScratchDir;

conformance::LedgerStoreFactory Factory(std::string synchronous) {
  return [synchronous](const std::string& dir) {
    SqliteLedgerOptions options;
    options.path = dir + "/meterhub.db";
    options.synchronous = synchronous;
    return OpenSqliteLedgerStore(options);
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LedgerStoreConformanceTest,
                         ::testing::Values(LedgerStoreBackend{"file_full", Factory("full")},
                                           LedgerStoreBackend{"file_normal", Factory("normal")},
                                           LedgerStoreBackend{"memory",
                                                              [](const std::string&) {
                                                                SqliteLedgerOptions options;
                                                                options.path = ":memory:";
                                                                return OpenSqliteLedgerStore(options);
                                                              }}),
                         LedgerStoreBackendName);


class SqliteLedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string Path() const { return dir_.path() + "/meterhub.db"; }
  std::unique_ptr<LedgerStore> Open(bool read_only = false) {
    SqliteLedgerOptions options;
    options.path = Path();
    options.read_only = read_only;
    Result<std::unique_ptr<LedgerStore>> store = OpenSqliteLedgerStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  LedgerScratchDir dir_;
};

LedgerLeaf Leaf(int64_t index, const std::string& payload) {
  LedgerLeaf leaf;
  leaf.index = index;
  leaf.key = LedgerKey{"M1", 7, index};
  leaf.kind = "first-time";
  leaf.payload = payload;
  leaf.leaf_hash = std::string(32, static_cast<char>(index));
  return leaf;
}

TEST_F(SqliteLedgerStoreTest, SharesTheMainStoresFile) {
  SqliteOptions main_options;
  main_options.path = Path();
  Result<std::unique_ptr<Store>> main_store = OpenSqliteStore(main_options);
  ASSERT_TRUE(main_store.ok()) << main_store.status().ToString();
  std::unique_ptr<LedgerStore> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  LedgerAppend batch;
  batch.leaves = {Leaf(0, "a")};
  ASSERT_TRUE(ledger->Append(batch).ok());
  EXPECT_EQ(mh::testing::SqliteQueryText(Path(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(mh::testing::SqliteQueryText(Path(), "SELECT version FROM schema_components WHERE component = 'ledger'"), "1");
  EXPECT_EQ(mh::testing::SqliteQueryText(Path(), "SELECT count(*) FROM ledger_leaves"), "1");
  EXPECT_NE(mh::testing::SqliteQueryText(Path(), "SELECT max(version) FROM schema_version"), "<error>");  // the main store's own
}

TEST_F(SqliteLedgerStoreTest, RecordsItsVersionOnceAndRefusesANewerOne) {
  ASSERT_NE(Open(), nullptr);
  ASSERT_NE(Open(), nullptr);
  EXPECT_EQ(mh::testing::SqliteQueryText(Path(), "SELECT count(*) FROM schema_components WHERE component = 'ledger'"), "1");
  mh::testing::SqliteQueryText(Path(), "UPDATE schema_components SET version = 9 WHERE component = 'ledger'");
  SqliteLedgerOptions options;
  options.path = Path();
  Result<std::unique_ptr<LedgerStore>> store = OpenSqliteLedgerStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("9"), std::string::npos) << store.status().message();
}

TEST_F(SqliteLedgerStoreTest, DataSurviveReopenAndReadOnlyOpeningChangesNothing) {
  {
    std::unique_ptr<LedgerStore> store = Open();
    ASSERT_NE(store, nullptr);
    LedgerAppend batch;
    batch.leaves = {Leaf(0, "a"), Leaf(1, "b")};
    batch.nodes = {LedgerNode{1, 0, std::string(32, 'n')}};
    ASSERT_TRUE(store->Append(batch).ok());
    ASSERT_TRUE(store->PutHead(LedgerTreeHead{2, std::string(32, 'r'), 5, std::string(64, 's')}).ok());
  }
  std::unique_ptr<LedgerStore> store = Open(/*read_only=*/true);
  ASSERT_NE(store, nullptr);
  Result<int64_t> size = store->Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 2);
  Result<std::optional<LedgerTreeHead>> head = store->LatestHead();
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(head->has_value());
  EXPECT_EQ((*head)->size, 2);
  LedgerAppend more;
  more.leaves = {Leaf(2, "c")};
  EXPECT_FALSE(store->Append(more).ok());
}

TEST_F(SqliteLedgerStoreTest, ReadOnlyOpeningOfANonLedgerIsRefused) {
  SqliteLedgerOptions options;
  options.path = Path();
  options.read_only = true;
  EXPECT_FALSE(OpenSqliteLedgerStore(options).ok());  // no file at all
  mh::testing::SqliteQueryText(Path(), "SELECT 1");                      // (does not create it either)
  SqliteOptions main_options;
  main_options.path = Path();
  ASSERT_TRUE(OpenSqliteStore(main_options).ok());
  Result<std::unique_ptr<LedgerStore>> store = OpenSqliteLedgerStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("holds no ledger"), std::string::npos) << store.status().message();
}

TEST_F(SqliteLedgerStoreTest, DeletedRowsAreReportedMissing) {
  std::unique_ptr<LedgerStore> store = Open();
  ASSERT_NE(store, nullptr);
  LedgerAppend batch;
  for (int i = 0; i < 10; ++i) batch.leaves.push_back(Leaf(i, "p"));
  ASSERT_TRUE(store->Append(batch).ok());
  mh::testing::SqliteQueryText(Path(), "DELETE FROM ledger_leaves WHERE idx IN (0, 4, 5, 9)");
  Result<std::vector<int64_t>> missing = store->MissingLeaves(0, 10, 100);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, (std::vector<int64_t>{0, 4, 5, 9}));
  missing = store->MissingLeaves(0, 10, 2);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, (std::vector<int64_t>{0, 4}));
  missing = store->MissingLeaves(5, 10, 100);  // a range: the check of what was appended since
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, (std::vector<int64_t>{5, 9}));
  missing = store->MissingLeaves(6, 9, 100);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

TEST_F(SqliteLedgerStoreTest, RejectsBadOptions) {
  SqliteLedgerOptions options;
  options.path = Path();
  options.synchronous = "sometimes";
  EXPECT_EQ(OpenSqliteLedgerStore(options).status().code(), StatusCode::kInvalidArgument);
  options = SqliteLedgerOptions();
  options.path = dir_.path() + "/no/such/dir/x.db";
  Result<std::unique_ptr<LedgerStore>> store = OpenSqliteLedgerStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find(options.path), std::string::npos) << store.status().message();
}

}  // namespace
}  // namespace mh::store
