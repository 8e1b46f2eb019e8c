#include "store/sqlite/sqlite_audit_store.h"

#include <sqlite3.h>

#include <mutex>

#include <nlohmann/json.hpp>

namespace mh::store {
namespace {

using json = nlohmann::json;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_components (component TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_segments (
  meter_id TEXT PRIMARY KEY, fixed_image BLOB NOT NULL, dynamic_text BLOB NOT NULL,
  compare_text BLOB NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_results (
  id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, audited_at INTEGER NOT NULL, trigger TEXT NOT NULL,
  pass INTEGER NOT NULL, alarms TEXT NOT NULL, reasons TEXT NOT NULL, order_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_results_meter ON audit_results (meter_id, id);
CREATE TABLE IF NOT EXISTS audit_orders (
  id TEXT PRIMARY KEY, meter_id TEXT NOT NULL, created_at INTEGER NOT NULL, priority TEXT NOT NULL,
  summary TEXT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL);
INSERT OR IGNORE INTO schema_components (component, version) VALUES ('audit', 1);
)sql";

// One prepared statement, finalized when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Int(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  std::string Col(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, i)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

std::vector<std::string> FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      if (e.is_string()) out.push_back(e.get<std::string>());
    }
  }
  return out;
}

class SqliteAuditStore final : public AuditStore {
 public:
  explicit SqliteAuditStore(sqlite3* db) : db_(db) {}
  ~SqliteAuditStore() override { sqlite3_close(db_); }

  Status PutSegments(const AuditSegments& s) override {
    std::lock_guard lock(mu_);
    Stmt st(db_,
            "INSERT INTO audit_segments (meter_id, fixed_image, dynamic_text, compare_text, received_at) VALUES (?,?,?,?,?) "
            "ON CONFLICT(meter_id) DO UPDATE SET fixed_image = excluded.fixed_image, dynamic_text = excluded.dynamic_text, "
            "compare_text = excluded.compare_text, received_at = excluded.received_at");
    if (!st.ok()) return Error("prepare");
    st.Text(1, s.meter_id).Blob(2, s.fixed_image).Blob(3, s.dynamic_text).Blob(4, s.compare_text).Int(5, s.received_at);
    return st.Step() == SQLITE_DONE ? Status::Ok() : Error("store segments of " + s.meter_id);
  }

  Result<std::optional<AuditSegments>> GetSegments(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "SELECT fixed_image, dynamic_text, compare_text, received_at FROM audit_segments WHERE meter_id = ?");
    if (!st.ok()) return Error("prepare");
    st.Text(1, meter_id);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return std::optional<AuditSegments>();
    if (rc != SQLITE_ROW) return Error("read segments of " + meter_id);
    return std::optional<AuditSegments>(AuditSegments{meter_id, st.Col(0), st.Col(1), st.Col(2), st.ColInt(3)});
  }

  Result<std::vector<std::string>> MetersWithSegments() override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "SELECT meter_id FROM audit_segments ORDER BY meter_id");
    if (!st.ok()) return Error("prepare");
    std::vector<std::string> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Col(0));
    if (rc != SQLITE_DONE) return Error("list meters");
    return out;
  }

  Result<int64_t> AddResult(const AuditResultRow& r) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, "INSERT INTO audit_results (meter_id, audited_at, trigger, pass, alarms, reasons, order_id) VALUES (?,?,?,?,?,?,?)");
    if (!st.ok()) return Error("prepare");
    st.Text(1, r.meter_id).Int(2, r.audited_at).Text(3, r.trigger).Int(4, r.pass ? 1 : 0);
    st.Text(5, json(r.alarms).dump()).Text(6, json(r.reasons).dump()).Text(7, r.order_id);
    if (st.Step() != SQLITE_DONE) return Error("store a result of " + r.meter_id);
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<AuditResultRow>> Results(const std::string& meter_id, int limit) override {
    std::lock_guard lock(mu_);
    Stmt st(db_,
            "SELECT id, meter_id, audited_at, trigger, pass, alarms, reasons, order_id FROM audit_results "
            "WHERE (?1 = '' OR meter_id = ?1) ORDER BY id DESC LIMIT ?2");
    if (!st.ok()) return Error("prepare");
    st.Text(1, meter_id).Int(2, limit);
    std::vector<AuditResultRow> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      AuditResultRow r;
      r.id = st.ColInt(0);
      r.meter_id = st.Col(1);
      r.audited_at = st.ColInt(2);
      r.trigger = st.Col(3);
      r.pass = st.ColInt(4) != 0;
      r.alarms = FromJson(st.Col(5));
      r.reasons = FromJson(st.Col(6));
      r.order_id = st.Col(7);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return Error("read results");
    return out;
  }

  Status PutOrder(const InspectionOrderRow& o) override {
    std::lock_guard lock(mu_);
    Stmt st(db_,
            "INSERT INTO audit_orders (id, meter_id, created_at, priority, summary, content, state, attempts, last_error) "
            "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET meter_id = excluded.meter_id, "
            "created_at = excluded.created_at, priority = excluded.priority, summary = excluded.summary, "
            "content = excluded.content, state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error");
    if (!st.ok()) return Error("prepare");
    st.Text(1, o.id).Text(2, o.meter_id).Int(3, o.created_at).Text(4, o.priority).Text(5, o.summary).Text(6, o.content);
    st.Text(7, o.state).Int(8, o.attempts).Text(9, o.last_error);
    return st.Step() == SQLITE_DONE ? Status::Ok() : Error("store order " + o.id);
  }

  Result<std::optional<InspectionOrderRow>> GetOrder(const std::string& id) override {
    MH_ASSIGN_OR_RETURN(auto rows, Query("WHERE id = ?1", id, 1));
    if (rows.empty()) return std::optional<InspectionOrderRow>();
    return std::optional<InspectionOrderRow>(rows[0]);
  }

  Result<std::vector<InspectionOrderRow>> Orders(const std::string& state, int limit) override {
    return Query("WHERE (?1 = '' OR state = ?1)", state, limit);
  }

 private:
  Result<std::vector<InspectionOrderRow>> Query(const std::string& where, const std::string& arg, int limit) {
    std::lock_guard lock(mu_);
    const std::string sql = "SELECT id, meter_id, created_at, priority, summary, content, state, attempts, last_error "
                            "FROM audit_orders " + where + " ORDER BY rowid DESC LIMIT ?2";
    Stmt st(db_, sql.c_str());
    if (!st.ok()) return Error("prepare");
    st.Text(1, arg).Int(2, limit);
    std::vector<InspectionOrderRow> out;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      out.push_back(InspectionOrderRow{st.Col(0), st.Col(1), st.ColInt(2), st.Col(3), st.Col(4), st.Col(5), st.Col(6),
                                       static_cast<int>(st.ColInt(7)), st.Col(8)});
    }
    if (rc != SQLITE_DONE) return Error("read orders");
    return out;
  }
  Status Error(const std::string& what) {
    return Internal("audit store: " + what + ": " + sqlite3_errmsg(db_));
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<AuditStore>> OpenSqliteAuditStore(const SqliteAuditOptions& options) {
  sqlite3* db = nullptr;
  const int flags = options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(options.path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return InvalidArgument("cannot open '" + options.path + "': " + msg);
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto fail = [&](const std::string& what) -> Status {
    Status s = InvalidArgument("'" + options.path + "': " + what + ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return s;
  };
  if (!options.read_only) {
    sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
    if (sqlite3_exec(db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("set synchronous");
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("begin");
    if (sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail("create audit tables");
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
  }
  int64_t version = -1;
  {
    Stmt st(db, "SELECT version FROM schema_components WHERE component = 'audit'");
    if (st.ok() && st.Step() == SQLITE_ROW) version = st.ColInt(0);
  }
  if (version < 0) return fail("no audit tables (schema_components has no 'audit')");
  if (version > kAuditSchemaVersion) {
    return fail("audit schema version " + std::to_string(version) + " is newer than this build's " +
                std::to_string(kAuditSchemaVersion));
  }
  return std::unique_ptr<AuditStore>(new SqliteAuditStore(db));
}

}  // namespace mh::store
