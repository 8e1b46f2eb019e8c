// The ledger's SQLite backend: its own connection to a database file (the main store's file is
// fine; both use WAL), its own tables (ledger_*), and its schema version in schema_components.
#pragma once

#include <memory>
#include <string>

#include "store/ledger_store.h"

namespace mh::store {

struct SqliteLedgerOptions {
  std::string path = "meterhub.db";
  // "full": every append fsync'd (survives power loss); "normal": survives a process crash only.
  std::string synchronous = "full";
  int busy_timeout_ms = 5000;
  // Opens an existing ledger without creating or changing anything (the offline verifier);
  // writes then fail.
  bool read_only = false;
};

// The component name and version recorded in schema_components(component, version).
inline constexpr const char* kLedgerSchemaComponent = "ledger";
inline constexpr int kLedgerSchemaVersion = 1;

// Opens (creating the tables as needed) the ledger in the database at options.path.
Result<std::unique_ptr<LedgerStore>> OpenSqliteLedgerStore(const SqliteLedgerOptions& options);

}  // namespace mh::store
