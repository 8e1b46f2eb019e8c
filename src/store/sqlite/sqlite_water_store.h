// The water store's SQLite backend: its own connection to a database file (the main store's file
// is fine; WAL), its own tables (water_*), and its schema version in schema_components.
#pragma once

#include <memory>
#include <string>

#include "store/water_store.h"

namespace mh::store {

struct SqliteWaterOptions {
  std::string path = "meterhub.db";
  std::string synchronous = "full";  // "full" | "normal"
  int busy_timeout_ms = 5000;
};

inline constexpr const char* kWaterSchemaComponent = "water";
// 1: pairs, frames, windows, commands, history, work orders, photos; 2: + water_case_states
// (migrated in place when a version-1 database is opened).
inline constexpr int kWaterSchemaVersion = 2;

// Opens (creating the tables as needed) the water tables in the database at options.path.
Result<std::unique_ptr<WaterStore>> OpenSqliteWaterStore(const SqliteWaterOptions& options);

}  // namespace mh::store
