// The SQLite water store: the shared conformance suite (file in both durability modes, and in
// memory), then what only SQLite has: living beside the other tables in one file, the schema
// version, and surviving close and reopen.
#include "store/sqlite/sqlite_water_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

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

int WaterSchemaVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db, "SELECT version FROM schema_components WHERE component = 'water'", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    version = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return version;
}

void ExecSql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// A version-1 database (as round 2 wrote it: every table but water_case_states) is migrated in
// place: its rows stay, the new table appears, the version becomes 2.
TEST_P(SqliteWaterOnly, MigratesAVersion1DatabaseInPlace) {
  const std::string path = scratch_dir() + "/v1.db";
  {
    auto water = OpenSqliteWaterStore({path, "full", 5000});
    ASSERT_TRUE(water.ok()) << water.status().ToString();
    ASSERT_TRUE((*water)->PutPair({"T1", "fc1", "F1", "", 1}).ok());
    ASSERT_TRUE((*water)->AppendHistory({0, "fc1", 5, "detected", "x"}).ok());
  }
  EXPECT_EQ(WaterSchemaVersion(path), 2);
  ExecSql(path, "DROP TABLE water_case_states; UPDATE schema_components SET version = 1 WHERE component = 'water'");
  ASSERT_EQ(WaterSchemaVersion(path), 1);
  auto again = OpenSqliteWaterStore({path, "full", 5000});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(WaterSchemaVersion(path), 2);
  EXPECT_EQ((*again)->ListPairs()->size(), 1u);
  EXPECT_EQ((*again)->ListHistory("fc1")->size(), 1u);
  ASSERT_TRUE((*again)->PutCaseState({"fc1", "{}", 9}).ok());
  EXPECT_TRUE((*again)->GetCaseState("fc1")->has_value());
}

TEST_P(SqliteWaterOnly, RefusesANewerSchema) {
  const std::string path = scratch_dir() + "/v9.db";
  { ASSERT_TRUE(OpenSqliteWaterStore({path, "full", 5000}).ok()); }
  ExecSql(path, "UPDATE schema_components SET version = 9 WHERE component = 'water'");
  auto newer = OpenSqliteWaterStore({path, "full", 5000});
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().ToString().find("newer"), std::string::npos) << newer.status().ToString();
}

// A batch commits once: its writes survive close and reopen together.
TEST_P(SqliteWaterOnly, BatchIsDurableAcrossReopen) {
  const std::string path = scratch_dir() + "/batch.db";
  {
    auto water = OpenSqliteWaterStore({path, "full", 5000});
    ASSERT_TRUE(water.ok());
    WaterStore* w = water->get();
    ASSERT_TRUE(w->Batch([&]() -> Status {
                   MH_RETURN_IF_ERROR(w->AddFrame({0, "fc1", "T1", "terminal", false, 0, 60, 1, "x"}).status());
                   return w->PutCaseState({"fc1", "{\"k\":1}", 2});
                 }).ok());
  }
  auto again = OpenSqliteWaterStore({path, "full", 5000});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->ListFrames("fc1", "", 0, 60)->size(), 1u);
  EXPECT_EQ((*(*again)->GetCaseState("fc1"))->state, "{\"k\":1}");
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
