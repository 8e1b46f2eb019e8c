#include "store/sqlite/area_db.h"

#include <utility>

namespace mh::store::area_db {

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_NOMEM: return StatusCode::kUnavailable;
    case SQLITE_FULL: return StatusCode::kStorageFull;
    case SQLITE_CONSTRAINT: return StatusCode::kAlreadyExists;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return StatusCode::kPermissionDenied;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB: return StatusCode::kInvalidArgument;
    default: return StatusCode::kInternal;
  }
}

Status Error(sqlite3* db, int rc, std::string_view area, std::string_view operation) {
  std::string message = "sqlite ";
  message.append(area).append(": ").append(operation).append(": ");
  message.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  message.append(" (code ").append(std::to_string(rc)).append(")");
  return Status(CodeFor(rc), std::move(message));
}

Status Exec(sqlite3* db, const char* sql, std::string_view area, std::string_view operation) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = error != nullptr ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  return Status(CodeFor(rc), "sqlite " + std::string(area) + ": " + std::string(operation) + ": " + message);
}

Result<std::string> QueryText(sqlite3* db, const char* sql, std::string_view area, std::string_view operation) {
  Statement q(db, area, sql);
  MH_ASSIGN_OR_RETURN(bool row, q.Next(operation));
  return row ? q.ColText(0) : std::string();
}

Result<const char*> SynchronousPragma(const std::string& value, std::string_view key) {
  if (value == "full") return "PRAGMA synchronous = FULL";
  if (value == "normal") return "PRAGMA synchronous = NORMAL";
  return InvalidArgument(std::string(key) + " must be \"full\" or \"normal\", not \"" + value + "\"");
}

Result<sqlite3*> Open(const OpenOptions& options, std::string_view area) {
  MH_ASSIGN_OR_RETURN(const char* synchronous,
                      SynchronousPragma(options.synchronous, "sqlite " + std::string(area) + ": synchronous"));
  if (options.path.empty()) return InvalidArgument("sqlite " + std::string(area) + ": empty database path");
  sqlite3* db = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  const int rc = sqlite3_open_v2(options.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = Error(db, rc, area, "open " + options.path);
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  if (!options.read_only) {
    Result<std::string> mode = QueryText(db, "PRAGMA journal_mode = WAL", area, "set WAL mode");
    Status status = mode.status();
    if (status.ok() && *mode != "wal" && *mode != "memory") {
      status = FailedPrecondition("sqlite " + std::string(area) + ": WAL mode refused (journal_mode is " + *mode + ")");
    }
    if (status.ok()) status = Exec(db, synchronous, area, "set synchronous");
    if (!status.ok()) {
      sqlite3_close_v2(db);
      return status.WithContext(options.path);
    }
  }
  return db;
}

Result<int> StoredVersion(sqlite3* db, std::string_view area, std::string_view component) {
  MH_ASSIGN_OR_RETURN(std::string tables,
                      QueryText(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_components'",
                                area, "look for schema_components"));
  if (tables == "0") return -1;
  Statement q(db, area, "SELECT version FROM schema_components WHERE component = ?1");
  q.Text(1, component);
  MH_ASSIGN_OR_RETURN(bool row, q.Next("read the schema version"));
  return row ? static_cast<int>(q.ColInt(0)) : -1;
}

Result<int> CreateSchema(sqlite3* db, std::string_view area, const char* create_sql, std::string_view component,
                         int version, const std::vector<Migration>& migrations) {
  MH_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", area, "create tables"));
  Status status = Exec(db, "CREATE TABLE IF NOT EXISTS schema_components (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                       area, "create schema_components");
  Result<int> stored = -1;
  if (status.ok()) {
    stored = StoredVersion(db, area, component);
    if (!stored.ok()) status = stored.status();
  }
  if (status.ok() && *stored > version) {
    status = FailedPrecondition("sqlite " + std::string(area) + ": schema version " + std::to_string(*stored) +
                                " is newer than this build understands (" + std::to_string(version) + ")");
  } else if (status.ok() && *stored < version) {
    if (*stored < 0) {
      status = Exec(db, create_sql, area, "create tables");
    } else {
      for (const Migration& m : migrations) {
        if (m.to > *stored && status.ok()) {
          status = Exec(db, m.sql, area, "migrate to schema version " + std::to_string(m.to));
        }
      }
    }
    if (status.ok()) {
      Statement q(db, area, "INSERT OR REPLACE INTO schema_components (component, version) VALUES (?1, ?2)");
      q.Text(1, component).Int(2, version);
      status = q.Run("record the schema version");
      stored = version;
    }
  }
  if (status.ok()) status = Exec(db, "COMMIT", area, "create tables");
  if (!status.ok()) {
    if (sqlite3_get_autocommit(db) == 0) (void)Exec(db, "ROLLBACK", area, "rollback");
    return status;
  }
  return *stored;
}

Statement::Statement(sqlite3* db, std::string_view area, const char* sql) : db_(db), area_(area) {
  rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
}

Statement::Statement(sqlite3* db, std::string_view area, sqlite3_stmt* cached, bool owned)
    : db_(db), area_(area), s_(cached), owned_(owned) {}

Statement Statement::Reuse(sqlite3* db, std::string_view area, sqlite3_stmt* cached) {
  return Statement(db, area, cached, /*owned=*/false);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), area_(other.area_), s_(std::exchange(other.s_, nullptr)), owned_(other.owned_), rc_(other.rc_) {}

Statement::~Statement() {
  if (s_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Statement& Statement::Text(int i, std::string_view v) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::Blob(int i, std::string_view v) {
  if (rc_ == SQLITE_OK) {
    rc_ = sqlite3_bind_blob(s_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::Int(int i, int64_t v) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(s_, i, v);
  return *this;
}

int Statement::Step() {
  if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) return rc_;
  rc_ = sqlite3_step(s_);
  return rc_;
}

Status Statement::Run(std::string_view operation, const std::function<void(const Statement&)>& row) {
  for (;;) {
    const int rc = Step();
    if (rc == SQLITE_ROW) {
      if (row) row(*this);
      continue;
    }
    if (rc == SQLITE_DONE) return Status::Ok();
    return Error(operation);
  }
}

Result<bool> Statement::Next(std::string_view operation) {
  const int rc = Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(operation);
}

Status Statement::Error(std::string_view operation) const {
  return area_db::Error(db_, rc_, area_, operation);
}

std::string Statement::ColText(int i) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(s_, i));
  return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(s_, i));
}

int64_t Statement::ColInt(int i) const { return sqlite3_column_int64(s_, i); }

}  // namespace mh::store::area_db
