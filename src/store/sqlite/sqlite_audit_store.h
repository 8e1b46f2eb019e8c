// The AuditStore's SQLite backend: its own connection to a database file (the main store's file;
// WAL), its own tables (audit_*), its schema version in schema_components ('audit', 2; version 1
// files are migrated when opened for writing).
#pragma once

#include <memory>
#include <string>

#include "store/audit_store.h"

namespace mh::store {

struct SqliteAuditOptions {
  std::string path = "meterhub.db";
  bool read_only = false;  // `meterhub audit export` from a running daemon's file
  int busy_timeout_ms = 5000;
};

inline constexpr const char* kAuditSchemaComponent = "audit";
inline constexpr int kAuditSchemaVersion = 2;

Result<std::unique_ptr<AuditStore>> OpenSqliteAuditStore(const SqliteAuditOptions& options);

}  // namespace mh::store
