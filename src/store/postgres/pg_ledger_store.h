// The ledger's PostgreSQL backend: its own connection to the deployment's database, its own
// tables (ledger_*) and its schema version in schema_components. Appends from several workers
// are serialised in PostgreSQL (a transaction-level advisory lock), so the ledger stays one log.
#pragma once

#include <memory>
#include <string>

#include "store/ledger_store.h"

namespace mh::store {

struct PostgresLedgerOptions {
  std::string url;  // postgresql://user@host:port/database
  // Opens an existing ledger without creating or changing anything (the offline verifier);
  // writes then fail.
  bool read_only = false;
};

// Same component name and version as SQLite's (sqlite_ledger_store.h): one format.
inline constexpr int kPostgresLedgerSchemaVersion = 1;

Result<std::unique_ptr<LedgerStore>> OpenPostgresLedgerStore(const PostgresLedgerOptions& options);

}  // namespace mh::store
