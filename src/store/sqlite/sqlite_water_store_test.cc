// The SQLite water store: the shared conformance suite (file in both durability modes, and in
// memory), then what only SQLite has: living beside the other tables in one file, the schema
// version, and surviving close and reopen.
#include "store/sqlite/sqlite_water_store.h"

#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "store/water_store_conformance.h"

namespace mh::store {
namespace {

using conformance::WaterStoreBackend;
using conformance::WaterStoreBackendName;
using conformance::WaterStoreConformanceTest;

conformance::WaterStoreFactory Factory(std::string synchronous) {
  return [synchronous](const std::string& dir) {
    SqliteWaterOptions options;
    options.path = dir + "/meterhub.db";
    options.synchronous = synchronous;
    return OpenSqliteWaterStore(options);
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, WaterStoreConformanceTest,
                         ::testing::Values(WaterStoreBackend{"file_full", Factory("full")},
                                           WaterStoreBackend{"file_normal", Factory("normal")},
                                           WaterStoreBackend{"memory",
                                                             [](const std::string&) {
                                                               SqliteWaterOptions options;
                                                               options.path = ":memory:";
                                                               return OpenSqliteWaterStore(options);
                                                             }}),
                         WaterStoreBackendName);

class SqliteWaterOnly : public WaterStoreConformanceTest {};

TEST_P(SqliteWaterOnly, SharesTheMainStoreFileAndSurvivesReopen) {
  const std::string path = scratch_dir() + "/shared.db";
  SqliteOptions main_options;
  main_options.path = path;
  auto main_store = OpenSqliteStore(main_options);
  ASSERT_TRUE(main_store.ok()) << main_store.status().ToString();
  {
    auto water = OpenSqliteWaterStore({path, "full", 5000});
    ASSERT_TRUE(water.ok()) << water.status().ToString();
    ASSERT_TRUE((*water)->PutPair({"T1", "fc1", "F1", "+8613800000001", 1}).ok());
    ASSERT_TRUE((*water)->AppendHistory({0, "fc1", 5, "detected", "x"}).ok());
  }
  auto again = OpenSqliteWaterStore({path, "full", 5000});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto pairs = (*again)->ListPairs();
  ASSERT_TRUE(pairs.ok());
  ASSERT_EQ(pairs->size(), 1u);
  auto h = (*again)->ListHistory("fc1");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->size(), 1u);
  EXPECT_TRUE((*main_store)->CountReadings().ok());
}

TEST_P(SqliteWaterOnly, RefusesABadSynchronousValue) {
  auto bad = OpenSqliteWaterStore({scratch_dir() + "/x.db", "sometimes", 5000});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("synchronous"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, SqliteWaterOnly, ::testing::Values(WaterStoreBackend{"file", Factory("full")}),
                         WaterStoreBackendName);

}  // namespace
}  // namespace mh::store
