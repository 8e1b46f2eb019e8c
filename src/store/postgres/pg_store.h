// The main store (store.h) on PostgreSQL: the SQLite store's v8 layout in PostgreSQL types, keyed
// by meter first, created and migrated on open (schema_components 'store'). The ingest batch is
// one transaction: readings and meter states COPY'd into session temp tables and merged with one
// INSERT … ON CONFLICT each; the rest pipelined prepared statements.
#pragma once

#include <memory>
#include <string>

#include "store/commit_fence.h"
#include "store/store.h"

namespace mh::store {

struct PostgresStoreOptions {
  std::string url;  // postgresql://user@host:port/database
  int max_readers = 4;  // read connections kept open beside the writer's
};

// The SQLite schema version this layout copies (9, docs/storage.md), plus, on PostgreSQL only,
// version 10: the scale-out's shard and singleton leases; 11: alerts' estimated part (SQLite 10);
// 12: the workers' listen addresses; 13: meters by gateway (SQLite 11).
inline constexpr int kPostgresStoreSchemaVersion = 13;

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);

// Scale-out (SPEC 7): from now on every Commit of `store` (a PostgreSQL store, else
// FailedPrecondition) that stores readings checks, inside its transaction, that `fence` still
// holds the leases of their meters' shards, and fails with Unavailable (rolled back) when not.
Status SetCommitFence(Store& store, std::shared_ptr<const CommitFence> fence);

}  // namespace mh::store
