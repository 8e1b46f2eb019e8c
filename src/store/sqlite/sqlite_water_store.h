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
inline constexpr int kWaterSchemaVersion = 1;

// Opens (creating the tables as needed) the water tables in the database at options.path.
Result<std::unique_ptr<WaterStore>> OpenSqliteWaterStore(const SqliteWaterOptions& options);

}  // namespace mh::store
