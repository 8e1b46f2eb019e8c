#include "store/postgres/pg_db.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace mh::store::pg {
namespace {

// Type oids of pg_type.h (stable across versions).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kFloat4Oid = 700, kFloat8Oid = 701;

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

[[noreturn]] void Misuse(const char* what, Oid type) {
  std::fprintf(stderr, "pg::Rows: %s of a column of type oid %u\n", what, type);
  std::abort();
}

}  // namespace

StatusCode CodeFor(std::string_view s) {
  if (s.size() != 5) return StatusCode::kUnavailable;  // no SQLSTATE: the connection broke
  const std::string_view cls = s.substr(0, 2);
  if (cls == "23") return StatusCode::kAlreadyExists;
  if (cls == "40" || cls == "08" || cls == "53" || cls == "57") {
    return s == "53100" ? StatusCode::kStorageFull : StatusCode::kUnavailable;  // disk_full
  }
  if (s == "42501" || cls == "28") return StatusCode::kPermissionDenied;
  if (s == "3D000") return StatusCode::kInvalidArgument;
  return StatusCode::kInternal;
}

int64_t AdvisoryKey(std::string_view name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return static_cast<int64_t>(h >> 1);
}

// --- Params ---

Params& Params::Text(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  format_.push_back(0);
  return *this;
}
Params& Params::Bytes(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  format_.push_back(1);
  return *this;
}
Params& Params::Int(int64_t v) { return Text(std::to_string(v)); }
Params& Params::Double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return Text(buf);
}
Params& Params::Bool(bool v) { return Text(v ? "t" : "f"); }
Params& Params::Null() {
  values_.emplace_back();
  null_.push_back(true);
  format_.push_back(0);
  return *this;
}
Params& Params::TextArray(const std::vector<std::string>& values) {
  std::string a = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) a += ',';
    a += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') a += '\\';
      a += c;
    }
    a += '"';
  }
  a += '}';
  return Text(a);
}

// --- Rows ---

int64_t Rows::Int(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  const Oid type = PQftype(r_.get(), col);
  switch (type) {
    case kInt8Oid: return static_cast<int64_t>(BigEndian(p, 8));
    case kInt4Oid: return static_cast<int32_t>(BigEndian(p, 4));
    case kInt2Oid: return static_cast<int16_t>(BigEndian(p, 2));
    case kBoolOid: return p[0] != 0;
    default: Misuse("Int", type);
  }
}

double Rows::Double(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  const Oid type = PQftype(r_.get(), col);
  if (type == kFloat8Oid) {
    const uint64_t bits = BigEndian(p, 8);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  if (type == kFloat4Oid) {
    const uint32_t bits = static_cast<uint32_t>(BigEndian(p, 4));
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  if (type == kInt8Oid || type == kInt4Oid || type == kInt2Oid) return static_cast<double>(Int(row, col));
  Misuse("Double", type);
}

std::string Rows::Text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
}

int64_t Rows::affected() const { return std::atoll(PQcmdTuples(r_.get())); }

// --- Connection ---

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& url, std::string_view area) {
  if (url.empty()) return InvalidArgument("postgres " + std::string(area) + ": empty connection URL (store.url)");
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return Unavailable("postgres " + std::string(area) + ": out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(conn);
    // The URL may carry a password: name the host and database only.
    return Unavailable("postgres " + std::string(area) + ": cannot connect: " + message);
  }
  std::unique_ptr<Connection> c(new Connection(conn, std::string(area)));
  // Durable when COMMIT returns, whatever the server's default; quiet notices (IF NOT EXISTS).
  MH_RETURN_IF_ERROR(c->Exec("SET synchronous_commit = on; SET client_min_messages = warning", "configure the session"));
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

Status Connection::Error(const PGresult* result, std::string_view operation) const {
  std::string message = result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string text = "postgres " + area_ + ": " + std::string(operation) + ": " + message;
  if (state != nullptr) text += " (SQLSTATE " + std::string(state) + ")";
  return Status(CodeFor(state != nullptr ? state : ""), std::move(text));
}

Result<Rows> Connection::Check(PGresult* result, std::string_view operation) {
  const ExecStatusType st = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Rows(result);
  Status status = Error(result, operation);
  PQclear(result);
  return status;
}

Status Connection::Prepare(const std::vector<Statement>& statements) {
  for (const Statement& s : statements) {
    MH_ASSIGN_OR_RETURN(Rows ignored, Check(PQprepare(conn_, s.name, s.sql, 0, nullptr), std::string("prepare ") + s.name));
    (void)ignored;
  }
  return Status::Ok();
}

namespace {

struct Raw {
  std::vector<const char*> values;
  std::vector<int> lengths;
};

Raw RawOf(const std::vector<std::string>& values, const std::vector<bool>& null) {
  Raw r;
  for (size_t i = 0; i < values.size(); ++i) {
    r.values.push_back(null[i] ? nullptr : values[i].data());
    r.lengths.push_back(static_cast<int>(values[i].size()));
  }
  return r;
}

}  // namespace

Result<Rows> Connection::Run(const Statement& statement, const Params& p) {
  const Raw raw = RawOf(p.values_, p.null_);
  PGresult* r = PQexecPrepared(conn_, statement.name, p.size(), raw.values.data(), raw.lengths.data(),
                               p.format_.data(), /*resultFormat=*/1);
  return Check(r, statement.name);
}

Result<Rows> Connection::Query(std::string_view sql, const Params& p, std::string_view operation) {
  const Raw raw = RawOf(p.values_, p.null_);
  const std::string text(sql);
  PGresult* r = PQexecParams(conn_, text.c_str(), p.size(), nullptr, raw.values.data(), raw.lengths.data(),
                             p.format_.data(), /*resultFormat=*/1);
  return Check(r, operation);
}

Status Connection::Exec(std::string_view sql, std::string_view operation) {
  const std::string text(sql);
  PGresult* r = PQexec(conn_, text.c_str());
  // A multi-statement string returns the last result; an error stops at the failing one.
  return Check(r, operation).status();
}

bool Connection::in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }

Status Connection::Transaction(const std::function<Status()>& body) {
  MH_RETURN_IF_ERROR(Exec("BEGIN", "begin"));
  Status status = body();
  // A statement that failed inside aborts the transaction, and COMMIT would then quietly roll
  // back (it "succeeds" with the tag ROLLBACK): a body that ignored an error must not look saved.
  if (status.ok() && PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    status = Internal("postgres " + area_ + ": a statement of the transaction failed; nothing of it was written");
  }
  if (status.ok()) status = Exec("COMMIT", "commit");
  if (!status.ok() && in_transaction()) (void)Exec("ROLLBACK", "rollback");
  return status;
}

Status Connection::Pipeline(const Statement& statement, const std::vector<Params>& batch) {
  if (batch.empty()) return Status::Ok();
  if (batch.size() == 1) return Run(statement, batch[0]).status();
  if (PQenterPipelineMode(conn_) != 1) return Error(nullptr, std::string(statement.name) + ": enter pipeline mode");
  Status status;
  size_t sent = 0;
  for (const Params& p : batch) {
    const Raw raw = RawOf(p.values_, p.null_);
    if (PQsendQueryPrepared(conn_, statement.name, p.size(), raw.values.data(), raw.lengths.data(), p.format_.data(),
                            1) != 1) {
      status = Error(nullptr, std::string(statement.name) + ": send row " + std::to_string(sent));
      break;
    }
    ++sent;
  }
  if (PQpipelineSync(conn_) != 1 && status.ok()) status = Error(nullptr, std::string(statement.name) + ": sync");
  // One result (then a null) per statement sent; after an error the rest are PGRES_PIPELINE_ABORTED;
  // then the sync's PGRES_PIPELINE_SYNC.
  for (size_t i = 0; i < sent; ++i) {
    PGresult* r = PQgetResult(conn_);
    const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status.ok() && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status = Error(r, std::string(statement.name) + " (row " + std::to_string(i) + " of " + std::to_string(batch.size()) + ")");
    }
    PQclear(r);
    while ((r = PQgetResult(conn_)) != nullptr) PQclear(r);
  }
  for (;;) {  // up to and including the sync
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {
      if (PQstatus(conn_) != CONNECTION_OK) break;
      continue;
    }
    const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
    PQclear(r);
    if (sync) break;
  }
  if (PQexitPipelineMode(conn_) != 1 && status.ok()) status = Error(nullptr, std::string(statement.name) + ": leave pipeline mode");
  return status;
}

Result<int64_t> Connection::Copy(std::string_view copy_sql, std::string_view data, std::string_view operation) {
  const std::string text(copy_sql);
  PGresult* start = PQexec(conn_, text.c_str());
  if (PQresultStatus(start) != PGRES_COPY_IN) {
    MH_ASSIGN_OR_RETURN(Rows ignored, Check(start, operation));
    (void)ignored;
    return Internal("postgres " + area_ + ": " + std::string(operation) + ": the server did not start a COPY");
  }
  PQclear(start);
  Status status;
  // The whole buffer in slices (a libpq message holds at most 1 GB; smaller ones stream better).
  constexpr size_t kSlice = 1 << 20;
  for (size_t at = 0; at < data.size() && status.ok(); at += kSlice) {
    const size_t n = std::min(kSlice, data.size() - at);
    if (PQputCopyData(conn_, data.data() + at, static_cast<int>(n)) != 1) status = Error(nullptr, operation);
  }
  if (PQputCopyEnd(conn_, status.ok() ? nullptr : "client error") != 1 && status.ok()) status = Error(nullptr, operation);
  int64_t copied = 0;
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) == PGRES_COMMAND_OK) {
      copied = std::atoll(PQcmdTuples(r));
    } else if (status.ok()) {
      status = Error(r, operation);
    }
    PQclear(r);
  }
  MH_RETURN_IF_ERROR(status);
  return copied;
}

// --- CopyRows ---

void CopyRows::Separate() {
  if (!first_) data_ += '\t';
  first_ = false;
}

CopyRows& CopyRows::Text(std::string_view v) {
  Separate();
  for (char c : v) {
    switch (c) {
      case '\\': data_ += "\\\\"; break;
      case '\t': data_ += "\\t"; break;
      case '\n': data_ += "\\n"; break;
      case '\r': data_ += "\\r"; break;
      default: data_ += c;
    }
  }
  return *this;
}

CopyRows& CopyRows::Bytes(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  Separate();
  data_ += "\\\\x";
  for (unsigned char c : v) {
    data_ += kHex[c >> 4];
    data_ += kHex[c & 15];
  }
  return *this;
}

CopyRows& CopyRows::Int(int64_t v) {
  Separate();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  data_.append(buf, r.ptr);
  return *this;
}

CopyRows& CopyRows::Double(double v) {
  Separate();
  char buf[40];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  data_.append(buf, r.ptr);
  return *this;
}

CopyRows& CopyRows::OptDouble(const std::optional<double>& v) {
  if (v) return Double(*v);
  Separate();
  data_ += "\\N";
  return *this;
}

CopyRows& CopyRows::Bool(bool v) {
  Separate();
  data_ += v ? 't' : 'f';
  return *this;
}

void CopyRows::End() {
  data_ += '\n';
  ++rows_;
  first_ = true;
}

Result<int> Connection::StoredVersion(std::string_view component) {
  MH_ASSIGN_OR_RETURN(Rows t, Query("SELECT to_regclass('schema_components') IS NOT NULL", Params(), "look for schema_components"));
  if (t.Int(0, 0) == 0) return -1;
  MH_ASSIGN_OR_RETURN(Rows v, Query("SELECT version FROM schema_components WHERE component = $1",
                                    Params().Text(component), "read the schema version"));
  return v.empty() ? -1 : static_cast<int>(v.Int(0, 0));
}

Result<int> Connection::CreateSchema(const char* create_sql, std::string_view component, int version,
                                     const std::vector<Migration>& migrations) {
  int stored = -1;
  Status status = Transaction([&]() -> Status {
    MH_ASSIGN_OR_RETURN(Rows lock, Query("SELECT pg_advisory_xact_lock($1)", Params().Int(AdvisoryKey("meterhub schema")),
                                         "lock the schema"));
    (void)lock;
    MH_RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_components (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                            "create schema_components"));
    MH_ASSIGN_OR_RETURN(stored, StoredVersion(component));
    if (stored > version) {
      return FailedPrecondition("postgres " + area_ + ": schema version " + std::to_string(stored) + " of " +
                                std::string(component) + " is newer than this build's " + std::to_string(version));
    }
    if (stored == version) return Status::Ok();
    if (stored < 0) {
      MH_RETURN_IF_ERROR(Exec(create_sql, "create the " + std::string(component) + " schema"));
    } else {
      for (const Migration& m : migrations) {
        if (m.to <= stored || m.to > version) continue;
        MH_RETURN_IF_ERROR(Exec(m.sql, "migrate " + std::string(component) + " to version " + std::to_string(m.to)));
      }
    }
    MH_ASSIGN_OR_RETURN(Rows set, Query("INSERT INTO schema_components (component, version) VALUES ($1, $2)"
                                        " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                                        Params().Text(component).Int(version), "record the schema version"));
    (void)set;
    stored = version;
    return Status::Ok();
  });
  MH_RETURN_IF_ERROR(status);
  return stored;
}

}  // namespace mh::store::pg
