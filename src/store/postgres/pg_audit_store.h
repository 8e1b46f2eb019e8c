// The AuditStore's PostgreSQL backend: its own connection to the deployment's database, the
// SQLite backend's tables (audit_*) in PostgreSQL types, its schema version in
// schema_components ('audit', 2, as SQLite's).
#pragma once

#include <memory>
#include <string>

#include "store/audit_store.h"

namespace mh::store {

struct PostgresAuditOptions {
  std::string url;         // postgresql://user@host:port/database
  bool read_only = false;  // `meterhub audit export` beside running workers
};

inline constexpr int kPostgresAuditSchemaVersion = 2;

Result<std::unique_ptr<AuditStore>> OpenPostgresAuditStore(const PostgresAuditOptions& options);

}  // namespace mh::store
