// The PostgreSQL water store: the shared conformance suite against a real server, then what only
// PostgreSQL has: a pairing conflict inside a batch does not abort the batch's transaction, and
// data survive reopening (another worker's connection).
#include "store/postgres/pg_water_store.h"

#include <gtest/gtest.h>

#include "store/water_store_conformance.h"
#include "support/postgres_server.h"

namespace mh::store {
namespace {

using conformance::WaterStoreBackend;
using conformance::WaterStoreConformanceTest;

Result<std::unique_ptr<WaterStore>> MakeStore(const std::string& scratch_dir) {
  const std::string url = mh::testing::PostgresDatabase(scratch_dir);
  if (url.empty()) return Unavailable("no PostgreSQL for this test");
  return OpenPostgresWaterStore(PostgresWaterOptions{url});
}

INSTANTIATE_TEST_SUITE_P(Postgres, WaterStoreConformanceTest, ::testing::Values(WaterStoreBackend{"postgres", MakeStore}),
                         conformance::WaterStoreBackendName);

TEST(PostgresWaterStoreTest, APairingConflictInABatchKeepsTheBatchAndOtherConnectionsSeeIt) {
  const std::string url = mh::testing::PostgresDatabase("water-batch");
  if (url.empty()) return;
  auto store = OpenPostgresWaterStore(PostgresWaterOptions{url});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  WaterStore& s = **store;
  ASSERT_TRUE(s.PutPair({"T1", "fc1", "F1", "", 1}).ok());
  Status batch = s.Batch([&]() -> Status {
    EXPECT_EQ(s.PutPair({"T2", "fc2", "F1", "", 2}).code(), StatusCode::kAlreadyExists);  // F1 is T1's
    MH_RETURN_IF_ERROR(s.PutPair({"T2", "fc2", "F2", "", 2}));
    return s.AppendHistory({0, "fc2", 2, "paired", ""}).status();
  });
  ASSERT_TRUE(batch.ok()) << batch.ToString();
  auto other = OpenPostgresWaterStore(PostgresWaterOptions{url});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ((*other)->ListPairs().value().size(), 2u);
  EXPECT_EQ((*other)->ListHistory("fc2").value().size(), 1u);
}

}  // namespace
}  // namespace mh::store
