#include "store/sqlite/sqlite_audit_store.h"

#include <sqlite3.h>

#include "store/sqlite/area_db.h"

#include <mutex>

#include <nlohmann/json.hpp>

namespace mh::store {
namespace {

using area_db::Statement;
using json = nlohmann::json;

// The latest schema (version 2), created on a new file.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit_segments (
  meter_id TEXT PRIMARY KEY, fixed_image BLOB NOT NULL, dynamic_text BLOB NOT NULL,
  compare_text BLOB NOT NULL, received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit_results (
  id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, audited_at INTEGER NOT NULL, trigger TEXT NOT NULL,
  pass INTEGER NOT NULL, alarms TEXT NOT NULL, reasons TEXT NOT NULL, order_id TEXT NOT NULL,
  segments TEXT NOT NULL DEFAULT '', silent INTEGER NOT NULL DEFAULT 0, notes TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS audit_results_meter ON audit_results (meter_id, id);
CREATE TABLE IF NOT EXISTS audit_orders (
  id TEXT PRIMARY KEY, meter_id TEXT NOT NULL, created_at INTEGER NOT NULL, priority TEXT NOT NULL,
  summary TEXT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_meters (
  meter_id TEXT PRIMARY KEY, user_attribute TEXT NOT NULL, region TEXT NOT NULL, commissioned_at INTEGER NOT NULL,
  silent_misses INTEGER NOT NULL, cycle_d INTEGER NOT NULL, cycle_from INTEGER NOT NULL, cycle_sent_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_meters_region ON audit_meters (region, meter_id);
)sql";

// 1 → 2 (issue 11): how each result got its segments, silence and notes; the audited meters.
constexpr const char* kMigrateTo2 = R"sql(
ALTER TABLE audit_results ADD COLUMN segments TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_results ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_results ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
CREATE TABLE audit_meters (
  meter_id TEXT PRIMARY KEY, user_attribute TEXT NOT NULL, region TEXT NOT NULL, commissioned_at INTEGER NOT NULL,
  silent_misses INTEGER NOT NULL, cycle_d INTEGER NOT NULL, cycle_from INTEGER NOT NULL, cycle_sent_at INTEGER NOT NULL);
CREATE INDEX audit_meters_region ON audit_meters (region, meter_id);
)sql";

constexpr std::string_view kArea = "audit store";

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
    Statement st(db_, kArea,
                 "INSERT INTO audit_segments (meter_id, fixed_image, dynamic_text, compare_text, received_at) VALUES (?,?,?,?,?) "
                 "ON CONFLICT(meter_id) DO UPDATE SET fixed_image = excluded.fixed_image, dynamic_text = excluded.dynamic_text, "
                 "compare_text = excluded.compare_text, received_at = excluded.received_at");
    st.Text(1, s.meter_id).Blob(2, s.fixed_image).Blob(3, s.dynamic_text).Blob(4, s.compare_text).Int(5, s.received_at);
    return st.Run("store segments of " + s.meter_id);
  }

  Result<std::optional<AuditSegments>> GetSegments(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea, "SELECT fixed_image, dynamic_text, compare_text, received_at FROM audit_segments WHERE meter_id = ?");
    st.Text(1, meter_id);
    MH_ASSIGN_OR_RETURN(bool row, st.Next("read segments of " + meter_id));
    if (!row) return std::optional<AuditSegments>();
    return std::optional<AuditSegments>(AuditSegments{meter_id, st.ColText(0), st.ColText(1), st.ColText(2), st.ColInt(3)});
  }

  Result<std::vector<std::string>> MetersWithSegments() override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea, "SELECT meter_id FROM audit_segments ORDER BY meter_id");
    std::vector<std::string> out;
    MH_RETURN_IF_ERROR(st.Run("list meters", [&](const Statement& row) { out.push_back(row.ColText(0)); }));
    return out;
  }

  Status PutMeter(const AuditMeterRow& m) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea,
                 "INSERT OR REPLACE INTO audit_meters (meter_id, user_attribute, region, commissioned_at, silent_misses, "
                 "cycle_d, cycle_from, cycle_sent_at) VALUES (?,?,?,?,?,?,?,?)");
    st.Text(1, m.meter_id).Text(2, m.user_attribute).Text(3, m.region).Int(4, m.commissioned_at).Int(5, m.silent_misses);
    st.Int(6, m.cycle_d).Int(7, m.cycle_from).Int(8, m.cycle_sent_at);
    return st.Run("store audited meter " + m.meter_id);
  }

  Result<std::optional<AuditMeterRow>> GetMeter(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea,
                 "SELECT user_attribute, region, commissioned_at, silent_misses, cycle_d, cycle_from, cycle_sent_at "
                 "FROM audit_meters WHERE meter_id = ?");
    st.Text(1, meter_id);
    MH_ASSIGN_OR_RETURN(bool row, st.Next("read audited meter " + meter_id));
    if (!row) return std::optional<AuditMeterRow>();
    return std::optional<AuditMeterRow>(AuditMeterRow{meter_id, st.ColText(0), st.ColText(1), st.ColInt(2),
                                                      static_cast<int>(st.ColInt(3)), static_cast<int>(st.ColInt(4)),
                                                      st.ColInt(5), st.ColInt(6)});
  }

  Result<std::vector<std::string>> MetersInRegion(const std::string& region) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea, "SELECT meter_id FROM audit_meters WHERE region = ? ORDER BY meter_id");
    st.Text(1, region);
    std::vector<std::string> out;
    MH_RETURN_IF_ERROR(st.Run("list the meters of region " + region, [&](const Statement& row) { out.push_back(row.ColText(0)); }));
    return out;
  }

  Result<int64_t> AddResult(const AuditResultRow& r) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea,
                 "INSERT INTO audit_results (meter_id, audited_at, trigger, pass, alarms, reasons, order_id, segments, silent, "
                 "notes) VALUES (?,?,?,?,?,?,?,?,?,?)");
    st.Text(1, r.meter_id).Int(2, r.audited_at).Text(3, r.trigger).Int(4, r.pass ? 1 : 0);
    st.Text(5, json(r.alarms).dump()).Text(6, json(r.reasons).dump()).Text(7, r.order_id);
    st.Text(8, r.segments).Int(9, r.silent ? 1 : 0).Text(10, json(r.notes).dump());
    MH_RETURN_IF_ERROR(st.Run("store a result of " + r.meter_id));
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<AuditResultRow>> Results(const std::string& meter_id, int limit) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea,
                 "SELECT id, meter_id, audited_at, trigger, pass, alarms, reasons, order_id, segments, silent, notes "
                 "FROM audit_results "
                 "WHERE (?1 = '' OR meter_id = ?1) ORDER BY id DESC LIMIT ?2");
    st.Text(1, meter_id).Int(2, limit);
    std::vector<AuditResultRow> out;
    MH_RETURN_IF_ERROR(st.Run("read results", [&](const Statement& row) {
      AuditResultRow r;
      r.id = row.ColInt(0);
      r.meter_id = row.ColText(1);
      r.audited_at = row.ColInt(2);
      r.trigger = row.ColText(3);
      r.pass = row.ColInt(4) != 0;
      r.alarms = FromJson(row.ColText(5));
      r.reasons = FromJson(row.ColText(6));
      r.order_id = row.ColText(7);
      r.segments = row.ColText(8);
      r.silent = row.ColInt(9) != 0;
      r.notes = FromJson(row.ColText(10));
      out.push_back(std::move(r));
    }));
    return out;
  }

  Status PutOrder(const InspectionOrderRow& o) override {
    std::lock_guard lock(mu_);
    Statement st(db_, kArea,
                 "INSERT INTO audit_orders (id, meter_id, created_at, priority, summary, content, state, attempts, last_error) "
                 "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET meter_id = excluded.meter_id, "
                 "created_at = excluded.created_at, priority = excluded.priority, summary = excluded.summary, "
                 "content = excluded.content, state = excluded.state, attempts = excluded.attempts, last_error = excluded.last_error");
    st.Text(1, o.id).Text(2, o.meter_id).Int(3, o.created_at).Text(4, o.priority).Text(5, o.summary).Text(6, o.content);
    st.Text(7, o.state).Int(8, o.attempts).Text(9, o.last_error);
    return st.Run("store order " + o.id);
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
    Statement st(db_, kArea, sql.c_str());
    st.Text(1, arg).Int(2, limit);
    std::vector<InspectionOrderRow> out;
    MH_RETURN_IF_ERROR(st.Run("read orders", [&](const Statement& row) {
      out.push_back(InspectionOrderRow{row.ColText(0), row.ColText(1), row.ColInt(2), row.ColText(3), row.ColText(4),
                                       row.ColText(5), row.ColText(6), static_cast<int>(row.ColInt(7)), row.ColText(8)});
    }));
    return out;
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<AuditStore>> OpenSqliteAuditStore(const SqliteAuditOptions& options) {
  area_db::OpenOptions open;
  open.path = options.path;
  open.read_only = options.read_only;
  open.busy_timeout_ms = options.busy_timeout_ms;
  MH_ASSIGN_OR_RETURN(sqlite3* db, area_db::Open(open, kArea));
  Result<int> version = options.read_only
                            ? area_db::StoredVersion(db, kArea, kAuditSchemaComponent)
                            : area_db::CreateSchema(db, kArea, kSchema, kAuditSchemaComponent, kAuditSchemaVersion,
                                                     {{2, kMigrateTo2}});
  Status status = version.status();
  if (status.ok() && *version < 0) status = InvalidArgument("no audit tables (schema_components has no 'audit')");
  if (status.ok() && *version > kAuditSchemaVersion) {
    status = FailedPrecondition("audit schema version " + std::to_string(*version) + " is newer than this build's " +
                                std::to_string(kAuditSchemaVersion));
  }
  if (!status.ok()) {
    sqlite3_close_v2(db);
    return status.WithContext(options.path);
  }
  return std::unique_ptr<AuditStore>(new SqliteAuditStore(db));
}

}  // namespace mh::store
