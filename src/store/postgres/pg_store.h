// The main store (store.h) on PostgreSQL: the SQLite store's v8 layout in PostgreSQL types, keyed
// by meter first, created and migrated on open (schema_components 'store'). The ingest batch is
// one transaction: readings and meter states COPY'd into session temp tables and merged with one
// INSERT … ON CONFLICT each; the rest pipelined prepared statements.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace mh::store {

struct PostgresStoreOptions {
  std::string url;  // postgresql://user@host:port/database
  int max_readers = 4;  // read connections kept open beside the writer's
};

// The SQLite schema version this layout copies (docs/storage.md).
inline constexpr int kPostgresStoreSchemaVersion = 9;

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);

}  // namespace mh::store
