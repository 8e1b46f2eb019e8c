// What the method areas' SQLite stores (ledger, audit, water) share: each opens its own
// connection to the daemon's database file, creates its tables under a version in
// schema_components, and runs statements whose errors name the area and the operation.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::store::area_db {

// SQLITE_BUSY/LOCKED → Unavailable (retry), CONSTRAINT → AlreadyExists, READONLY/PERM/AUTH →
// PermissionDenied, CANTOPEN/NOTADB → InvalidArgument, anything else → Internal.
StatusCode CodeFor(int rc);
// "sqlite <area>: <operation>: <sqlite's message> (code N)".
Status Error(sqlite3* db, int rc, std::string_view area, std::string_view operation);

Status Exec(sqlite3* db, const char* sql, std::string_view area, std::string_view operation);
// The first column of the first row as text ("" when there is no row).
Result<std::string> QueryText(sqlite3* db, const char* sql, std::string_view area, std::string_view operation);

// "PRAGMA synchronous = FULL" / "= NORMAL" for "full" / "normal"; InvalidArgument naming `key` else.
Result<const char*> SynchronousPragma(const std::string& value, std::string_view key);

struct OpenOptions {
  std::string path;
  bool read_only = false;
  int busy_timeout_ms = 5000;
  std::string synchronous = "full";  // "full" or "normal"
};
// Opens the file (WAL — refused is an error, except in memory — and `synchronous` when writable).
// The caller owns the connection.
Result<sqlite3*> Open(const OpenOptions& options, std::string_view area);

// A step from the version before `to` up to `to`.
struct Migration {
  int to;
  const char* sql;
};
// In one write transaction (two processes opening a new file must not trip over each other):
// a new component gets `create_sql` (the latest schema) and `version`; an older one gets every
// migration above its stored version, in order, then `version`. Returns the version now stored;
// refuses a stored version newer than `version`.
Result<int> CreateSchema(sqlite3* db, std::string_view area, const char* create_sql, std::string_view component,
                         int version, const std::vector<Migration>& migrations = {});
// The stored version of `component`, or -1 when the file has none.
Result<int> StoredVersion(sqlite3* db, std::string_view area, std::string_view component);

// One statement for one call: prepared here and finalized at the end of the scope, or a cached
// statement reset (bindings cleared) at the end of the scope. Values are copied when bound.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view area, const char* sql);
  static Statement Reuse(sqlite3* db, std::string_view area, sqlite3_stmt* cached);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& Text(int i, std::string_view v);
  Statement& Blob(int i, std::string_view v);
  Statement& Int(int i, int64_t v);
  // SQLITE_ROW, SQLITE_DONE or an error code (a prepare or bind error included).
  int Step();
  // Runs to completion, calling `row` for every row.
  Status Run(std::string_view operation, const std::function<void(const Statement&)>& row = nullptr);
  // Steps once: true with a row, false when there is none.
  Result<bool> Next(std::string_view operation);
  // The error of the last Step, naming `operation`.
  Status Error(std::string_view operation) const;

  std::string ColText(int i) const;
  int64_t ColInt(int i) const;

 private:
  Statement(sqlite3* db, std::string_view area, sqlite3_stmt* cached, bool owned);
  sqlite3* db_;
  std::string_view area_;
  sqlite3_stmt* s_ = nullptr;
  bool owned_ = true;
  int rc_ = SQLITE_OK;
};

}  // namespace mh::store::area_db
