// The PostgreSQL ledger store: the shared conformance suite against a real server, then what
// only PostgreSQL has: appends from several connections (workers) serialised into one log, the
// schema version, read-only opening, rows deleted behind the ledger's back.
#include "store/postgres/pg_ledger_store.h"

#include <thread>

#include <gtest/gtest.h>

#include "store/ledger_store_conformance.h"
#include "store/postgres/pg_db.h"
#include "support/postgres_server.h"

namespace mh::store {
namespace {

using conformance::LedgerStoreBackend;
using conformance::LedgerStoreConformanceTest;

Result<std::unique_ptr<LedgerStore>> MakeStore(const std::string& scratch_dir) {
  const std::string url = mh::testing::PostgresDatabase(scratch_dir);
  if (url.empty()) return Unavailable("no PostgreSQL for this test");
  return OpenPostgresLedgerStore(PostgresLedgerOptions{url});
}

INSTANTIATE_TEST_SUITE_P(Postgres, LedgerStoreConformanceTest, ::testing::Values(LedgerStoreBackend{"postgres", MakeStore}),
                         conformance::LedgerStoreBackendName);

LedgerLeaf Leaf(int64_t index, const std::string& meter, int64_t seq) {
  LedgerLeaf leaf;
  leaf.index = index;
  leaf.key = LedgerKey{meter, 7, seq};
  leaf.kind = "first-time";
  leaf.payload = meter + "/" + std::to_string(seq);
  leaf.leaf_hash = std::string(32, static_cast<char>(seq));
  return leaf;
}

class PostgresLedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = mh::testing::PostgresDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<LedgerStore> Open(bool read_only = false) {
    Result<std::unique_ptr<LedgerStore>> s = OpenPostgresLedgerStore(PostgresLedgerOptions{url_, read_only});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::string url_;
};

// Workers append through their own connections: each reads the size, then appends at it; a lost
// race is FailedPrecondition and the worker retries, as the ledger does. No index twice, no gap.
TEST_F(PostgresLedgerStoreTest, AppendsFromSeveralConnectionsFormOneLog) {
  if (url_.empty()) return;
  constexpr int kWorkers = 3, kEach = 30;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::unique_ptr<LedgerStore> store = Open();
      if (store == nullptr) return ++failures, void();
      for (int i = 0; i < kEach; ++i) {
        for (int attempt = 0;; ++attempt) {
          Result<int64_t> size = store->Size();
          if (!size.ok()) return ++failures, void();
          LedgerAppend batch;
          batch.leaves = {Leaf(*size, "W" + std::to_string(w), i)};
          Result<std::vector<int64_t>> r = store->Append(batch);
          if (r.ok()) break;
          if (r.status().code() != StatusCode::kFailedPrecondition || attempt > 1000) return ++failures, void();
        }
      }
    });
  }
  for (std::thread& t : workers) t.join();
  ASSERT_EQ(failures.load(), 0);
  std::unique_ptr<LedgerStore> store = Open();
  ASSERT_EQ(store->Size().value(), kWorkers * kEach);
  EXPECT_TRUE(store->MissingLeaves(0, kWorkers * kEach, 10).value().empty());
  for (int w = 0; w < kWorkers; ++w) EXPECT_EQ(store->LeavesOfMeter("W" + std::to_string(w), 1 << 30).value().size(), size_t{kEach});
}

TEST_F(PostgresLedgerStoreTest, ReadOnlyOpeningNeedsALedgerAndWritesNothing) {
  if (url_.empty()) return;
  EXPECT_FALSE(OpenPostgresLedgerStore(PostgresLedgerOptions{url_, true}).ok());
  {
    std::unique_ptr<LedgerStore> store = Open();
    LedgerAppend batch;
    batch.leaves = {Leaf(0, "M1", 0)};
    ASSERT_TRUE(store->Append(batch).ok());
  }
  std::unique_ptr<LedgerStore> store = Open(/*read_only=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Size().value(), 1);
  LedgerAppend more;
  more.leaves = {Leaf(1, "M1", 1)};
  EXPECT_FALSE(store->Append(more).ok());
  EXPECT_FALSE(store->PutMeta("k", "v").ok());
}

TEST_F(PostgresLedgerStoreTest, RecordsItsVersionAndRefusesANewerOne) {
  if (url_.empty()) return;
  ASSERT_NE(Open(), nullptr);
  ASSERT_NE(Open(), nullptr);
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->StoredVersion("ledger").value(), 1);
  ASSERT_TRUE((*db)->Exec("UPDATE schema_components SET version = 9 WHERE component = 'ledger'", "bump").ok());
  Result<std::unique_ptr<LedgerStore>> s = OpenPostgresLedgerStore(PostgresLedgerOptions{url_});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("9"), std::string::npos) << s.status().message();
}

TEST_F(PostgresLedgerStoreTest, DeletedRowsAreReportedMissing) {
  if (url_.empty()) return;
  std::unique_ptr<LedgerStore> store = Open();
  LedgerAppend batch;
  for (int i = 0; i < 10; ++i) batch.leaves.push_back(Leaf(i, "M1", i));
  ASSERT_TRUE(store->Append(batch).ok());
  auto db = pg::Connection::Open(url_, "test");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("DELETE FROM ledger_leaves WHERE idx IN (0, 4, 5, 9)", "delete").ok());
  EXPECT_EQ(store->MissingLeaves(0, 10, 100).value(), (std::vector<int64_t>{0, 4, 5, 9}));
  EXPECT_EQ(store->MissingLeaves(0, 10, 2).value(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(store->MissingLeaves(5, 10, 100).value(), (std::vector<int64_t>{5, 9}));
  EXPECT_TRUE(store->MissingLeaves(6, 9, 100).value().empty());
}

}  // namespace
}  // namespace mh::store
