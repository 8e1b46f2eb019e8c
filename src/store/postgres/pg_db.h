// What MeterHub's PostgreSQL stores share (the twin of sqlite/area_db): a connection opened from
// a postgresql:// URL, named prepared statements, parameters (text, or binary for bytes) and
// binary results, transactions, the schema version of each component, and errors as Status
// naming the area, the statement and PostgreSQL's SQLSTATE. One Connection per store object,
// used under that object's lock (a libpq connection is not thread-safe).
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::store::pg {

// SQLSTATE → code: 23xxx (integrity) AlreadyExists; 40xxx (serialization, deadlock), 08xxx
// (connection), 53xxx (resources), 57xxx (shutdown) Unavailable; 42501 and 28xxx
// PermissionDenied; 3D000 (no such database) InvalidArgument; anything else Internal.
StatusCode CodeFor(std::string_view sqlstate);

// The parameters of one statement. Text and integers are sent as text, bytes in binary (so a
// bytea column takes them as they are). Values are copied.
class Params {
 public:
  Params& Text(std::string_view v);
  Params& Bytes(std::string_view v);
  Params& Int(int64_t v);
  Params& Double(double v);
  Params& Bool(bool v);
  Params& Null();
  // A LIMIT: `limit`, or NULL (no limit) when it is <= 0.
  Params& Limit(int64_t limit) { return limit > 0 ? Int(limit) : Null(); }
  // A text[] array literal of `values` (for = ANY($n) and unnest).
  Params& TextArray(const std::vector<std::string>& values);
  int size() const { return static_cast<int>(values_.size()); }

 private:
  friend class Connection;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> format_;  // 0 text, 1 binary
};

// The rows of one result, every column in binary: Int reads int2/int4/int8/bool, Double
// float4/float8 (and integers), Text and Bytes the raw bytes. Reading a column of another type
// is a programmer error (abort).
class Rows {
 public:
  explicit Rows(PGresult* result) : r_(result, &PQclear) {}
  int size() const { return PQntuples(r_.get()); }
  bool empty() const { return size() == 0; }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  std::string Text(int row, int col) const;
  std::string Bytes(int row, int col) const { return Text(row, col); }
  std::optional<int64_t> OptInt(int row, int col) const {
    return IsNull(row, col) ? std::nullopt : std::optional<int64_t>(Int(row, col));
  }
  // Rows changed by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

// One named statement of a store: its name is the index in the store's statement table.
struct Statement {
  const char* name;  // also what errors call it
  const char* sql;
};

class Connection {
 public:
  // Connects to `url` (a postgresql:// URL or a key=value conninfo); `area` prefixes every error
  // ("postgres <area>: ..."). The session runs with synchronous_commit on: committed = durable.
  static Result<std::unique_ptr<Connection>> Open(const std::string& url, std::string_view area);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares every statement of `statements` under its name.
  Status Prepare(const std::vector<Statement>& statements);
  // Runs a prepared statement.
  Result<Rows> Run(const Statement& statement, const Params& params = Params());
  // The same, an error also saying what it was for ("store order X: postgres ...").
  Result<Rows> Run(const Statement& statement, const Params& params, const std::string& context) {
    Result<Rows> r = Run(statement, params);
    if (!r.ok()) return r.status().WithContext(context);
    return r;
  }
  // Runs SQL text (one or several statements, no parameters); `operation` names it in errors.
  Status Exec(std::string_view sql, std::string_view operation);
  // Runs SQL text with parameters once (not prepared).
  Result<Rows> Query(std::string_view sql, const Params& params, std::string_view operation);

  // BEGIN, `body`, COMMIT — ROLLBACK when `body` or the commit fails (the body's Status is
  // returned), or when a statement in it failed even if `body` ignored that. Not nestable.
  Status Transaction(const std::function<Status()>& body);
  bool in_transaction() const;

  // COPY ... FROM STDIN (`copy_sql`) fed with `data`, rows in COPY's text format (CopyRows
  // builds them); returns the rows copied. PostgreSQL's bulk path: one message, no per-row parse.
  Result<int64_t> Copy(std::string_view copy_sql, std::string_view data, std::string_view operation);

  // Runs `statement` for every Params of `batch` in one round trip (libpq pipeline mode); stops
  // at the first error, naming the row.
  Status Pipeline(const Statement& statement, const std::vector<Params>& batch);

  // In one transaction under an advisory lock (two workers opening a new database must not trip
  // over each other): a component not yet in schema_components gets `create_sql` and `version`;
  // an older one each migration above its version, in order. Refuses a newer stored version.
  struct Migration {
    int to;
    const char* sql;
  };
  Result<int> CreateSchema(const char* create_sql, std::string_view component, int version,
                           const std::vector<Migration>& migrations = {});
  // The stored version of `component`, or -1 when the database has none.
  Result<int> StoredVersion(std::string_view component);

  // "postgres <area>: <operation>: <message> (SQLSTATE xxxxx)".
  Status Error(const PGresult* result, std::string_view operation) const;
  std::string_view area() const { return area_; }
  PGconn* raw() { return conn_; }

 private:
  Connection(PGconn* conn, std::string area) : conn_(conn), area_(std::move(area)) {}
  Result<Rows> Check(PGresult* result, std::string_view operation);
  PGconn* conn_;
  std::string area_;
};

// Rows in COPY's text format: fields separated by tabs, rows by newlines, backslash escapes.
class CopyRows {
 public:
  CopyRows& Text(std::string_view v);
  // bytea: its hex form (\\x...).
  CopyRows& Bytes(std::string_view v);
  CopyRows& Int(int64_t v);
  CopyRows& Double(double v);
  CopyRows& OptDouble(const std::optional<double>& v);
  CopyRows& Bool(bool v);
  // Ends the row.
  void End();
  const std::string& data() const { return data_; }
  int64_t rows() const { return rows_; }
  void Clear() { data_.clear(), rows_ = 0, first_ = true; }

 private:
  void Separate();
  std::string data_;
  int64_t rows_ = 0;
  bool first_ = true;
};

// A stable 63-bit key for pg_advisory_xact_lock from a name (FNV-1a-64).
int64_t AdvisoryKey(std::string_view name);

}  // namespace mh::store::pg
