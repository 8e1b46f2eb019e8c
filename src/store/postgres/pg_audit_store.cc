#include "store/postgres/pg_audit_store.h"

#include <mutex>

#include <nlohmann/json.hpp>

#include "store/postgres/pg_db.h"

namespace mh::store {
namespace {

using json = nlohmann::json;
using pg::Params;
using pg::Rows;
using pg::Statement;

// Version 2 of the SQLite schema; `seq` keeps the orders' insertion order (SQLite's rowid).
constexpr char kSchema[] = R"sql(
CREATE TABLE audit_segments (
  meter_id TEXT PRIMARY KEY, fixed_image BYTEA NOT NULL, dynamic_text BYTEA NOT NULL,
  compare_text BYTEA NOT NULL, received_at BIGINT NOT NULL);
CREATE TABLE audit_results (
  id BIGSERIAL PRIMARY KEY, meter_id TEXT NOT NULL, audited_at BIGINT NOT NULL, trigger TEXT NOT NULL,
  pass BOOLEAN NOT NULL, alarms TEXT NOT NULL, reasons TEXT NOT NULL, order_id TEXT NOT NULL,
  segments TEXT NOT NULL DEFAULT '', silent BOOLEAN NOT NULL DEFAULT false, notes TEXT NOT NULL DEFAULT '[]');
CREATE INDEX audit_results_meter ON audit_results (meter_id, id);
CREATE TABLE audit_orders (
  id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL, meter_id TEXT NOT NULL, created_at BIGINT NOT NULL, priority TEXT NOT NULL,
  summary TEXT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL);
CREATE INDEX audit_orders_seq ON audit_orders (seq);
CREATE TABLE audit_meters (
  meter_id TEXT PRIMARY KEY, user_attribute TEXT NOT NULL, region TEXT NOT NULL, commissioned_at BIGINT NOT NULL,
  silent_misses INTEGER NOT NULL, cycle_d INTEGER NOT NULL, cycle_from BIGINT NOT NULL, cycle_sent_at BIGINT NOT NULL);
CREATE INDEX audit_meters_region ON audit_meters (region, meter_id);
)sql";

const Statement kPutSegments{"audit_put_segments",
                             "INSERT INTO audit_segments (meter_id, fixed_image, dynamic_text, compare_text, received_at)"
                             " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meter_id) DO UPDATE SET"
                             " fixed_image = excluded.fixed_image, dynamic_text = excluded.dynamic_text,"
                             " compare_text = excluded.compare_text, received_at = excluded.received_at"};
const Statement kGetSegments{"audit_get_segments",
                             "SELECT fixed_image, dynamic_text, compare_text, received_at FROM audit_segments WHERE meter_id = $1"};
const Statement kMetersWithSegments{"audit_meters_with_segments", "SELECT meter_id FROM audit_segments ORDER BY meter_id"};
const Statement kPutMeter{"audit_put_meter",
                          "INSERT INTO audit_meters (meter_id, user_attribute, region, commissioned_at, silent_misses,"
                          " cycle_d, cycle_from, cycle_sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                          " ON CONFLICT (meter_id) DO UPDATE SET user_attribute = excluded.user_attribute,"
                          " region = excluded.region, commissioned_at = excluded.commissioned_at,"
                          " silent_misses = excluded.silent_misses, cycle_d = excluded.cycle_d,"
                          " cycle_from = excluded.cycle_from, cycle_sent_at = excluded.cycle_sent_at"};
const Statement kGetMeter{"audit_get_meter",
                          "SELECT user_attribute, region, commissioned_at, silent_misses, cycle_d, cycle_from, cycle_sent_at"
                          " FROM audit_meters WHERE meter_id = $1"};
const Statement kMetersInRegion{"audit_meters_in_region",
                                "SELECT meter_id FROM audit_meters WHERE region = $1 ORDER BY meter_id"};
const Statement kAddResult{"audit_add_result",
                           "INSERT INTO audit_results (meter_id, audited_at, trigger, pass, alarms, reasons, order_id,"
                           " segments, silent, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"};
const Statement kResults{"audit_results",
                         "SELECT id, meter_id, audited_at, trigger, pass, alarms, reasons, order_id, segments, silent, notes"
                         " FROM audit_results WHERE ($1 = '' OR meter_id = $1) ORDER BY id DESC LIMIT $2"};
const Statement kPutOrder{"audit_put_order",
                          "INSERT INTO audit_orders (id, meter_id, created_at, priority, summary, content, state, attempts,"
                          " last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET"
                          " meter_id = excluded.meter_id, created_at = excluded.created_at, priority = excluded.priority,"
                          " summary = excluded.summary, content = excluded.content, state = excluded.state,"
                          " attempts = excluded.attempts, last_error = excluded.last_error"};
const Statement kOrders{"audit_orders",
                        "SELECT id, meter_id, created_at, priority, summary, content, state, attempts, last_error"
                        " FROM audit_orders WHERE ($1 = '' OR state = $1) ORDER BY seq DESC LIMIT $2"};
const Statement kGetOrder{"audit_get_order",
                          "SELECT id, meter_id, created_at, priority, summary, content, state, attempts, last_error"
                          " FROM audit_orders WHERE id = $1"};

const std::vector<Statement> kStatements = {kPutSegments, kGetSegments, kMetersWithSegments, kPutMeter, kGetMeter,
                                            kMetersInRegion, kAddResult, kResults, kPutOrder, kOrders, kGetOrder};

std::vector<std::string> FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::string> Column(const Rows& r) {
  std::vector<std::string> out;
  for (int i = 0; i < r.size(); ++i) out.push_back(r.Text(i, 0));
  return out;
}

std::vector<InspectionOrderRow> OrdersOf(const Rows& r) {
  std::vector<InspectionOrderRow> out;
  for (int i = 0; i < r.size(); ++i) {
    out.push_back(InspectionOrderRow{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4), r.Text(i, 5),
                                     r.Text(i, 6), static_cast<int>(r.Int(i, 7)), r.Text(i, 8)});
  }
  return out;
}

class PostgresAuditStore final : public AuditStore {
 public:
  explicit PostgresAuditStore(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}

  Status PutSegments(const AuditSegments& s) override {
    std::lock_guard lock(mu_);
    return db_->Run(kPutSegments, Params().Text(s.meter_id).Bytes(s.fixed_image).Bytes(s.dynamic_text).Bytes(s.compare_text).Int(s.received_at),
               "store segments of " + s.meter_id)
        .status();
  }

  Result<std::optional<AuditSegments>> GetSegments(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetSegments, Params().Text(meter_id), "read segments of " + meter_id));
    if (r.empty()) return std::optional<AuditSegments>();
    return std::optional<AuditSegments>(AuditSegments{meter_id, r.Bytes(0, 0), r.Bytes(0, 1), r.Bytes(0, 2), r.Int(0, 3)});
  }

  Result<std::vector<std::string>> MetersWithSegments() override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kMetersWithSegments, Params(), "list meters"));
    return Column(r);
  }

  Status PutMeter(const AuditMeterRow& m) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(m.meter_id).Text(m.user_attribute).Text(m.region).Int(m.commissioned_at).Int(m.silent_misses);
    p.Int(m.cycle_d).Int(m.cycle_from).Int(m.cycle_sent_at);
    return db_->Run(kPutMeter, p, "store audited meter " + m.meter_id).status();
  }

  Result<std::optional<AuditMeterRow>> GetMeter(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetMeter, Params().Text(meter_id), "read audited meter " + meter_id));
    if (r.empty()) return std::optional<AuditMeterRow>();
    return std::optional<AuditMeterRow>(AuditMeterRow{meter_id, r.Text(0, 0), r.Text(0, 1), r.Int(0, 2),
                                                      static_cast<int>(r.Int(0, 3)), static_cast<int>(r.Int(0, 4)),
                                                      r.Int(0, 5), r.Int(0, 6)});
  }

  Result<std::vector<std::string>> MetersInRegion(const std::string& region) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kMetersInRegion, Params().Text(region), "list the meters of region " + region));
    return Column(r);
  }

  Result<int64_t> AddResult(const AuditResultRow& r) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(r.meter_id).Int(r.audited_at).Text(r.trigger).Bool(r.pass).Text(json(r.alarms).dump()).Text(json(r.reasons).dump());
    p.Text(r.order_id).Text(r.segments).Bool(r.silent).Text(json(r.notes).dump());
    MH_ASSIGN_OR_RETURN(Rows id, db_->Run(kAddResult, p, "store a result of " + r.meter_id));
    return id.Int(0, 0);
  }

  Result<std::vector<AuditResultRow>> Results(const std::string& meter_id, int limit) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows rows, db_->Run(kResults, Params().Text(meter_id).Int(limit), "read results"));
    std::vector<AuditResultRow> out;
    for (int i = 0; i < rows.size(); ++i) {
      AuditResultRow r;
      r.id = rows.Int(i, 0);
      r.meter_id = rows.Text(i, 1);
      r.audited_at = rows.Int(i, 2);
      r.trigger = rows.Text(i, 3);
      r.pass = rows.Int(i, 4) != 0;
      r.alarms = FromJson(rows.Text(i, 5));
      r.reasons = FromJson(rows.Text(i, 6));
      r.order_id = rows.Text(i, 7);
      r.segments = rows.Text(i, 8);
      r.silent = rows.Int(i, 9) != 0;
      r.notes = FromJson(rows.Text(i, 10));
      out.push_back(std::move(r));
    }
    return out;
  }

  Status PutOrder(const InspectionOrderRow& o) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(o.id).Text(o.meter_id).Int(o.created_at).Text(o.priority).Text(o.summary).Text(o.content);
    p.Text(o.state).Int(o.attempts).Text(o.last_error);
    return db_->Run(kPutOrder, p, "store order " + o.id).status();
  }

  Result<std::optional<InspectionOrderRow>> GetOrder(const std::string& id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetOrder, Params().Text(id), "read order " + id));
    std::vector<InspectionOrderRow> orders = OrdersOf(r);
    if (orders.empty()) return std::optional<InspectionOrderRow>();
    return std::optional<InspectionOrderRow>(orders[0]);
  }

  Result<std::vector<InspectionOrderRow>> Orders(const std::string& state, int limit) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kOrders, Params().Text(state).Int(limit), "read orders"));
    return OrdersOf(r);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<pg::Connection> db_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<AuditStore>> OpenPostgresAuditStore(const PostgresAuditOptions& options) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> db, pg::Connection::Open(options.url, "audit store"));
  Result<int> version = options.read_only ? db->StoredVersion("audit")
                                          : db->CreateSchema(kSchema, "audit", kPostgresAuditSchemaVersion);
  MH_RETURN_IF_ERROR(version.status());
  if (*version < 0) return InvalidArgument("postgres audit store: no audit tables (schema_components has no 'audit')");
  if (*version != kPostgresAuditSchemaVersion) {
    return FailedPrecondition("postgres audit store: schema version " + std::to_string(*version) + " is not this build's " +
                              std::to_string(kPostgresAuditSchemaVersion));
  }
  if (options.read_only) MH_RETURN_IF_ERROR(db->Exec("SET default_transaction_read_only = on", "open read-only"));
  MH_RETURN_IF_ERROR(db->Prepare(kStatements));
  return std::unique_ptr<AuditStore>(new PostgresAuditStore(std::move(db)));
}

}  // namespace mh::store
