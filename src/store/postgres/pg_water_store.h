// The water store's PostgreSQL backend: its own connection to the deployment's database, the
// SQLite backend's tables (water_*) in PostgreSQL types, its schema version in
// schema_components ('water', 2, as SQLite's).
#pragma once

#include <memory>
#include <string>

#include "store/water_store.h"

namespace mh::store {

struct PostgresWaterOptions {
  std::string url;  // postgresql://user@host:port/database
};

inline constexpr int kPostgresWaterSchemaVersion = 2;

Result<std::unique_ptr<WaterStore>> OpenPostgresWaterStore(const PostgresWaterOptions& options);

}  // namespace mh::store
