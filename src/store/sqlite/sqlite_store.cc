// The embedded SQLite store: one database file in WAL mode. One writer connection behind a mutex
// takes every write (an ingest batch is one BEGIN IMMEDIATE … COMMIT); a pool of read-only
// connections serves reads, which WAL lets run while a commit is in progress.
// The schema, its keys and the durability settings are written up (and frozen) in docs/storage.md.
#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <sqlite3.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "store/sqlite/area_db.h"

namespace mh::store {
namespace {

// ---------------------------------------------------------------------------------------------
// Schema. Each migration moves the database from version N-1 to N and is never edited once
// released: a change is a new entry. Numbers and names here are frozen (docs/storage.md).

struct Migration {
  int version;
  const char* sql;
};

constexpr const char* kCreateSchemaVersion =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version    INTEGER NOT NULL PRIMARY KEY,"
    "  applied_at INTEGER NOT NULL"
    ")";

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE meters (
  meter_id     TEXT    NOT NULL PRIMARY KEY,
  kind         TEXT    NOT NULL,
  customer_id  TEXT    NOT NULL,
  tz_offset_s  INTEGER NOT NULL,
  interval_s   INTEGER NOT NULL,
  register_max REAL,
  customer_t1  REAL,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX meters_by_customer ON meters (customer_id, meter_id);

CREATE TABLE terminals (
  meter_id    TEXT NOT NULL REFERENCES meters (meter_id) ON DELETE CASCADE,
  terminal_id TEXT NOT NULL,
  channel     TEXT NOT NULL,
  address     TEXT NOT NULL,
  PRIMARY KEY (meter_id, terminal_id)
) WITHOUT ROWID;

CREATE TABLE readings (
  meter_id    TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  value       REAL    NOT NULL,
  consumption REAL    NOT NULL,
  source      TEXT    NOT NULL,
  quality     TEXT    NOT NULL,
  PRIMARY KEY (meter_id, ts)
) WITHOUT ROWID;

CREATE TABLE quarantine (
  meter_id    TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  verdict     TEXT    NOT NULL,
  value_key   TEXT    NOT NULL,
  value       REAL,
  raw_value   TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (meter_id, ts, verdict, value_key)
) WITHOUT ROWID;
CREATE INDEX quarantine_by_ts ON quarantine (ts, meter_id);

CREATE TABLE reading_events (
  meter_id TEXT    NOT NULL,
  ts_from  INTEGER NOT NULL,
  ts_to    INTEGER NOT NULL,
  kind     TEXT    NOT NULL,
  detail   TEXT    NOT NULL,
  PRIMARY KEY (meter_id, ts_from, ts_to, kind, detail)
) WITHOUT ROWID;

CREATE TABLE meter_state (
  meter_id   TEXT NOT NULL PRIMARY KEY,
  state_json TEXT NOT NULL
);

CREATE TABLE alerts (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  meter_id           TEXT    NOT NULL,
  terminal_id        TEXT    NOT NULL,
  period_start       INTEGER NOT NULL,
  ts                 INTEGER NOT NULL,
  reading            REAL    NOT NULL,
  period_consumption REAL    NOT NULL,
  threshold          REAL    NOT NULL,
  excess             REAL    NOT NULL,
  created_at         INTEGER NOT NULL,
  UNIQUE (meter_id, terminal_id, period_start, ts)
);
CREATE INDEX alerts_by_meter_created ON alerts (meter_id, created_at);
CREATE INDEX alerts_by_created ON alerts (created_at);

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id        INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  meter_id        TEXT    NOT NULL,
  terminal_id     TEXT    NOT NULL,
  channel         TEXT    NOT NULL,
  address         TEXT    NOT NULL,
  content         TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT    NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_by_alert ON deliveries (alert_id);
CREATE INDEX deliveries_by_meter ON deliveries (meter_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE api_tokens (
  token_sha256 TEXT NOT NULL PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL,
  customer_id  TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    {2, R"sql(
CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  at_ms       INTEGER NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  error       TEXT    NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
)sql"},
    {3, R"sql(
CREATE TABLE relay_meters (
  meter_id       TEXT    NOT NULL PRIMARY KEY,
  region_code    TEXT    NOT NULL,
  position_code  TEXT    NOT NULL,
  region_name    TEXT    NOT NULL,
  device_key_hex TEXT    NOT NULL,
  registered_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX relay_meters_by_region ON relay_meters (region_code, position_code);
CREATE TABLE relay_level_reports (
  meter_id     TEXT    NOT NULL,
  sub_period   INTEGER NOT NULL,
  region_code  TEXT    NOT NULL,
  level        INTEGER NOT NULL,
  reported_at  INTEGER NOT NULL,
  PRIMARY KEY (meter_id, sub_period)
) WITHOUT ROWID;
CREATE INDEX relay_level_reports_by_region ON relay_level_reports (region_code);
CREATE TABLE relay_region_keys (
  region_code  TEXT    NOT NULL,
  key_id       INTEGER NOT NULL CHECK (key_id BETWEEN 1 AND 255),
  key_hex      TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (region_code, key_id)
) WITHOUT ROWID;
CREATE TABLE relay_batches (
  digest_hex          TEXT    NOT NULL PRIMARY KEY,
  origin_meter_id  TEXT    NOT NULL,
  relay_meter_id   TEXT    NOT NULL,
  outcome          TEXT    NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'unknown_origin')),
  readings         INTEGER NOT NULL,
  copies           INTEGER NOT NULL,
  received_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX relay_batches_by_relay ON relay_batches (relay_meter_id, received_at);
)sql"},
    {4, R"sql(
ALTER TABLE deliveries ADD COLUMN round_started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN round_base INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_failed ON deliveries (updated_at, id) WHERE status = 'failed';
CREATE TABLE delivery_requeues (
  id             INTEGER PRIMARY KEY,
  delivery_id    INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  at_ms          INTEGER NOT NULL,
  after_attempts INTEGER NOT NULL,
  requested_by   TEXT    NOT NULL
);
CREATE INDEX delivery_requeues_by_delivery ON delivery_requeues (delivery_id, id);
)sql"},
};

constexpr int kSchemaVersion = kMigrations[std::size(kMigrations) - 1].version;

// ---------------------------------------------------------------------------------------------
// Statements. Every statement is prepared once per connection and reused; parameters are
// numbered in the order the Binder below binds them.

enum class Sql {
  kBegin,
  kCommit,
  kRollback,
  kUpsertMeter,
  kGetMeter,
  kListMeters,
  kListMetersOfCustomer,
  kCountMeters,
  kSetCustomerThreshold,
  kBindTerminal,
  kUnbindTerminal,
  kListTerminals,
  kUpsertReading,
  kInsertQuarantine,
  kDeleteReading,
  kDeleteRejudged,
  kInsertEvent,
  kUpsertState,
  kInsertAlert,
  kInsertDelivery,
  kLoadState,
  kQueryReadings,
  kLastReadingAtOrBefore,
  kQueryQuarantineOfMeter,
  kQueryQuarantine,
  kQueryEvents,
  kCountReadings,
  kCountQuarantine,
  kListAlertsOfMeter,
  kListAlerts,
  kCountAlerts,
  kListDeliveriesOfAlert,
  kListDeliveriesOfMeter,
  kListDeliveries,
  kDueDeliveries,
  kUpdateDelivery,
  kRecordAttempt,
  kListAttempts,
  kGetDelivery,
  kFailedForRequeue,
  kRequeueDelivery,
  kRecordRequeue,
  kListRequeues,
  kPutToken,
  kFindToken,
  kUpsertRelayMeter,
  kGetRelayMeter,
  kListRelayMeters,
  kDeleteLevelReports,
  kInsertLevelReport,
  kListLevelReports,
  kInsertRegionKey,
  kListRegionKeys,
  kDeleteRegionKey,
  kInsertRelayBatch,
  kCountRelayBatchCopy,
  kSumRelayBatches,
  kListRelayBatches,
  kListRelayBatchesOfRelay,
  kCount_,  // not a statement: the size of the cache
};

// Column order of every delivery SELECT (ReadDelivery reads them in this order).
#define MH_DELIVERY_COLUMNS                                                                            \
  "id, alert_id, meter_id, terminal_id, channel, address, content, status, attempts, next_attempt_at," \
  " last_error, updated_at, round_started_at, round_base"

// Switch rather than table so that -Wswitch flags a statement added to the enum but not here.
const char* SqlText(Sql id) {
  switch (id) {
    case Sql::kBegin: return "BEGIN IMMEDIATE";
    case Sql::kCommit: return "COMMIT";
    case Sql::kRollback: return "ROLLBACK";
    case Sql::kUpsertMeter:
      return "INSERT INTO meters (meter_id, kind, customer_id, tz_offset_s, interval_s, register_max,"
             " customer_t1, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
             " ON CONFLICT (meter_id) DO UPDATE SET kind = excluded.kind,"
             " customer_id = excluded.customer_id, tz_offset_s = excluded.tz_offset_s,"
             " interval_s = excluded.interval_s, register_max = excluded.register_max,"
             " customer_t1 = excluded.customer_t1, created_at = excluded.created_at";
    case Sql::kGetMeter:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1,"
             " created_at FROM meters WHERE meter_id = ?1";
    case Sql::kListMeters:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1,"
             " created_at FROM meters ORDER BY meter_id LIMIT ?1 OFFSET ?2";
    case Sql::kListMetersOfCustomer:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1,"
             " created_at FROM meters WHERE customer_id = ?1 ORDER BY meter_id LIMIT ?2 OFFSET ?3";
    case Sql::kCountMeters: return "SELECT count(*) FROM meters";
    case Sql::kSetCustomerThreshold: return "UPDATE meters SET customer_t1 = ?2 WHERE meter_id = ?1";
    case Sql::kBindTerminal:
      return "INSERT INTO terminals (meter_id, terminal_id, channel, address) VALUES (?1, ?2, ?3, ?4)"
             " ON CONFLICT (meter_id, terminal_id) DO UPDATE SET channel = excluded.channel,"
             " address = excluded.address";
    case Sql::kUnbindTerminal: return "DELETE FROM terminals WHERE meter_id = ?1 AND terminal_id = ?2";
    case Sql::kListTerminals:
      return "SELECT terminal_id, meter_id, channel, address FROM terminals WHERE meter_id = ?1"
             " ORDER BY terminal_id";
    case Sql::kUpsertReading:
      return "INSERT INTO readings (meter_id, ts, value, consumption, source, quality)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
             " ON CONFLICT (meter_id, ts) DO UPDATE SET value = excluded.value,"
             " consumption = excluded.consumption, source = excluded.source,"
             " quality = excluded.quality";
    case Sql::kInsertQuarantine:
      return "INSERT INTO quarantine (meter_id, ts, verdict, value_key, value, raw_value, reason, source,"
             " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING";
    case Sql::kDeleteReading: return "DELETE FROM readings WHERE meter_id = ?1 AND ts = ?2";
    case Sql::kDeleteRejudged:
      return "DELETE FROM quarantine WHERE meter_id = ?1 AND ts = ?2 AND verdict IN ('error', 'sudden')";
    case Sql::kInsertEvent:
      return "INSERT INTO reading_events (meter_id, ts_from, ts_to, kind, detail)"
             " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
    case Sql::kUpsertState:
      return "INSERT INTO meter_state (meter_id, state_json) VALUES (?1, ?2)"
             " ON CONFLICT (meter_id) DO UPDATE SET state_json = excluded.state_json";
    case Sql::kInsertAlert:
      return "INSERT INTO alerts (meter_id, terminal_id, period_start, ts, reading, period_consumption,"
             " threshold, excess, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
             " ON CONFLICT DO NOTHING RETURNING id";
    case Sql::kInsertDelivery:
      return "INSERT INTO deliveries (alert_id, meter_id, terminal_id, channel, address, content, status,"
             " attempts, next_attempt_at, last_error, updated_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    case Sql::kLoadState: return "SELECT meter_id, state_json FROM meter_state WHERE meter_id = ?1";
    case Sql::kQueryReadings:
      return "SELECT meter_id, ts, value, consumption, source, quality FROM readings"
             " WHERE meter_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts LIMIT ?4";
    case Sql::kLastReadingAtOrBefore:
      return "SELECT meter_id, ts, value, consumption, source, quality FROM readings"
             " WHERE meter_id = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT 1";
    case Sql::kQueryQuarantineOfMeter:
      return "SELECT meter_id, ts, value, raw_value, verdict, reason, source, received_at FROM quarantine"
             " WHERE meter_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts, verdict, value_key LIMIT ?4";
    case Sql::kQueryQuarantine:
      return "SELECT meter_id, ts, value, raw_value, verdict, reason, source, received_at FROM quarantine"
             " WHERE ts >= ?1 AND ts <= ?2 ORDER BY ts, meter_id, verdict, value_key LIMIT ?3";
    case Sql::kQueryEvents:
      return "SELECT meter_id, ts_from, ts_to, kind, detail FROM reading_events"
             " WHERE meter_id = ?1 AND ts_from <= ?3 AND ts_to >= ?2 ORDER BY ts_from, ts_to, kind"
             " LIMIT ?4";
    case Sql::kCountReadings: return "SELECT count(*) FROM readings";
    case Sql::kCountQuarantine: return "SELECT count(*) FROM quarantine";
    case Sql::kListAlertsOfMeter:
      return "SELECT id, meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold,"
             " excess, created_at FROM alerts WHERE meter_id = ?1 AND created_at >= ?2"
             " AND created_at <= ?3 ORDER BY created_at, id LIMIT ?4";
    case Sql::kListAlerts:
      return "SELECT id, meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold,"
             " excess, created_at FROM alerts WHERE created_at >= ?1 AND created_at <= ?2"
             " ORDER BY created_at, id LIMIT ?3";
    case Sql::kCountAlerts:
      return "SELECT count(*) FROM alerts WHERE meter_id = ?1 AND terminal_id = ?2 AND period_start = ?3";
    case Sql::kListDeliveriesOfAlert:
      return "SELECT " MH_DELIVERY_COLUMNS " FROM deliveries WHERE alert_id = ?1"
             " AND (?2 = '' OR meter_id = ?2) ORDER BY id LIMIT ?3";
    case Sql::kListDeliveriesOfMeter:
      return "SELECT " MH_DELIVERY_COLUMNS " FROM deliveries WHERE meter_id = ?1"
             " ORDER BY id LIMIT ?2";
    case Sql::kListDeliveries:
      return "SELECT " MH_DELIVERY_COLUMNS " FROM deliveries ORDER BY id LIMIT ?1";
    case Sql::kDueDeliveries:
      return "SELECT " MH_DELIVERY_COLUMNS " FROM deliveries"
             " WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2";
    case Sql::kUpdateDelivery:
      return "UPDATE deliveries SET terminal_id = ?2, channel = ?3, address = ?4, content = ?5,"
             " status = ?6, attempts = ?7, next_attempt_at = ?8, last_error = ?9, updated_at = ?10,"
             " round_started_at = ?11, round_base = ?12 WHERE id = ?1";
    case Sql::kGetDelivery: return "SELECT " MH_DELIVERY_COLUMNS " FROM deliveries WHERE id = ?1";
    case Sql::kFailedForRequeue:
      return "SELECT id, attempts FROM deliveries WHERE status = 'failed' AND (?1 = 0 OR id = ?1)"
             " AND (?2 = '' OR meter_id = ?2) AND updated_at >= ?3 ORDER BY id LIMIT ?4";
    case Sql::kRequeueDelivery:
      return "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2, updated_at = ?2,"
             " round_started_at = 0, round_base = attempts WHERE id = ?1 AND status = 'failed'";
    case Sql::kRecordRequeue:
      return "INSERT INTO delivery_requeues (delivery_id, at_ms, after_attempts, requested_by) VALUES (?1, ?2, ?3, ?4)";
    case Sql::kListRequeues:
      return "SELECT delivery_id, at_ms, after_attempts, requested_by FROM delivery_requeues WHERE delivery_id = ?1"
             " ORDER BY id";
    case Sql::kRecordAttempt:
      return "INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, status, error) VALUES (?1, ?2, ?3, ?4, ?5)"
             " ON CONFLICT (delivery_id, attempt) DO UPDATE SET at_ms = excluded.at_ms, status = excluded.status,"
             " error = excluded.error";
    case Sql::kListAttempts:
      return "SELECT delivery_id, attempt, at_ms, status, error FROM delivery_attempts WHERE delivery_id = ?1"
             " ORDER BY attempt";
    case Sql::kPutToken:
      return "INSERT INTO api_tokens (token_sha256, name, role, customer_id) VALUES (?1, ?2, ?3, ?4)"
             " ON CONFLICT (token_sha256) DO UPDATE SET name = excluded.name, role = excluded.role,"
             " customer_id = excluded.customer_id";
    case Sql::kFindToken:
      return "SELECT token_sha256, name, role, customer_id FROM api_tokens WHERE token_sha256 = ?1";
    case Sql::kUpsertRelayMeter:
      return "INSERT INTO relay_meters (meter_id, region_code, position_code, region_name, device_key_hex,"
             " registered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (meter_id) DO UPDATE SET"
             " region_code = excluded.region_code, position_code = excluded.position_code,"
             " region_name = excluded.region_name, device_key_hex = excluded.device_key_hex,"
             " registered_at = excluded.registered_at";
    case Sql::kGetRelayMeter:
      return "SELECT meter_id, region_code, position_code, region_name, device_key_hex, registered_at"
             " FROM relay_meters WHERE meter_id = ?1";
    case Sql::kListRelayMeters:
      return "SELECT meter_id, region_code, position_code, region_name, device_key_hex, registered_at"
             " FROM relay_meters WHERE ?1 = '' OR region_code = ?1 ORDER BY region_code, position_code, meter_id";
    case Sql::kDeleteLevelReports: return "DELETE FROM relay_level_reports WHERE meter_id = ?1";
    case Sql::kInsertLevelReport:
      return "INSERT INTO relay_level_reports (meter_id, sub_period, region_code, level, reported_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (meter_id, sub_period) DO UPDATE SET"
             " region_code = excluded.region_code, level = excluded.level, reported_at = excluded.reported_at";
    case Sql::kListLevelReports:
      return "SELECT meter_id, region_code, sub_period, level, reported_at FROM relay_level_reports"
             " WHERE region_code = ?1 ORDER BY meter_id, sub_period";
    case Sql::kInsertRegionKey:
      return "INSERT INTO relay_region_keys (region_code, key_id, key_hex, created_at) VALUES (?1, ?2, ?3, ?4)";
    case Sql::kListRegionKeys:
      return "SELECT region_code, key_id, key_hex, created_at FROM relay_region_keys WHERE region_code = ?1"
             " ORDER BY created_at DESC, key_id DESC";
    case Sql::kDeleteRegionKey: return "DELETE FROM relay_region_keys WHERE region_code = ?1 AND key_id = ?2";
    case Sql::kInsertRelayBatch:
      return "INSERT INTO relay_batches (digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies,"
             " received_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) ON CONFLICT (digest_hex) DO NOTHING";
    case Sql::kCountRelayBatchCopy: return "UPDATE relay_batches SET copies = copies + 1 WHERE digest_hex = ?1";
    case Sql::kSumRelayBatches:
      return "SELECT coalesce(sum(outcome = 'accepted'), 0), coalesce(sum(outcome = 'rejected'), 0),"
             " coalesce(sum(outcome = 'unknown_origin'), 0), coalesce(sum(copies - 1), 0),"
             " coalesce(sum(CASE WHEN outcome = 'accepted' THEN readings ELSE 0 END), 0) FROM relay_batches";
    case Sql::kListRelayBatches:
      return "SELECT digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at"
             " FROM relay_batches ORDER BY received_at DESC, digest_hex LIMIT ?1";
    case Sql::kListRelayBatchesOfRelay:
      return "SELECT digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at"
             " FROM relay_batches WHERE relay_meter_id = ?1 ORDER BY received_at DESC, digest_hex LIMIT ?2";
    case Sql::kCount_: break;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Errors: every one names the operation and carries SQLite's own message.

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL: return StatusCode::kUnavailable;
    // Disk full is not the request's fault: clients must retry, not drop the batch (HTTP 507).
    case SQLITE_FULL: return StatusCode::kStorageFull;
    case SQLITE_TOOBIG: return StatusCode::kResourceExhausted;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return StatusCode::kInvalidArgument;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return StatusCode::kPermissionDenied;
    default: return StatusCode::kInternal;
  }
}

Status SqliteError(sqlite3* db, int rc, std::string_view operation) {
  std::string message = "sqlite: ";
  message.append(operation);
  message.append(": ");
  // errmsg describes the last failed call on this connection; errstr is all we have without one.
  message.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  message.append(" (code ").append(std::to_string(rc)).append(")");
  return Status(CodeFor(rc), std::move(message));
}

// Binds parameters ?1, ?2, … in call order. Text is bound SQLITE_STATIC (no copy): the caller's
// strings must outlive the step, which holds because every statement is stepped and reset within
// the call that bound it, and every parameter is rebound before the next step.
// The first failure is remembered so a caller checks once, at the step.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* statement) : statement_(statement) {}

  Binder& Text(std::string_view v) {
    // An empty view may have a null data(), which SQLite would store as NULL rather than ''.
    const char* data = v.data() != nullptr ? v.data() : "";
    return Check(sqlite3_bind_text(statement_, ++index_, data, static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Binder& Int(int64_t v) { return Check(sqlite3_bind_int64(statement_, ++index_, v)); }
  Binder& Real(double v) { return Check(sqlite3_bind_double(statement_, ++index_, v)); }
  Binder& OptionalReal(const std::optional<double>& v) {
    return v ? Real(*v) : Check(sqlite3_bind_null(statement_, ++index_));
  }
  Binder& Limit(int64_t limit) { return Int(limit > 0 ? limit : -1); }  // SQLite: -1 = no limit
  int rc() const { return rc_; }

 private:
  Binder& Check(int rc) {
    if (rc != SQLITE_OK && rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3_stmt* statement_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

// Reads columns 0, 1, … in call order from the current row.
class Row {
 public:
  explicit Row(sqlite3_stmt* statement) : statement_(statement) {}
  std::string Text() {
    const int i = index_++;
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, i));
    return data == nullptr ? std::string() : std::string(data, sqlite3_column_bytes(statement_, i));
  }
  int64_t Int() { return sqlite3_column_int64(statement_, index_++); }
  double Real() { return sqlite3_column_double(statement_, index_++); }
  std::optional<double> OptionalReal() {
    const int i = index_++;
    if (sqlite3_column_type(statement_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(statement_, i);
  }

 private:
  sqlite3_stmt* statement_;
  int index_ = 0;
};

// Resets a cached statement when the scope ends, so that no statement keeps a read snapshot
// open (an open snapshot stops WAL checkpoints from finishing).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() { sqlite3_reset(statement_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// ---------------------------------------------------------------------------------------------
// One SQLite connection and its statement cache. Used by one thread at a time (the owner
// serialises), so it is opened NOMUTEX.

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only,
                                                  int busy_timeout_ms) {
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    // Take ownership first: even a failed open returns a handle that must be closed.
    std::unique_ptr<Connection> connection(new Connection(db));
    if (rc != SQLITE_OK) return SqliteError(db, rc, "open " + path);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    return connection;
  }

  ~Connection() {
    for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // The cached statement for `id`, prepared on first use.
  Result<sqlite3_stmt*> Statement(Sql id) {
    sqlite3_stmt*& slot = statements_[static_cast<size_t>(id)];
    if (slot == nullptr) {
      const int rc = sqlite3_prepare_v3(db_, SqlText(id), -1, SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, std::string("prepare ") + SqlText(id));
    }
    return slot;
  }

  Status Exec(const char* sql, std::string_view operation) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  // Runs a statement that returns no rows.
  Status Run(Sql id, std::string_view operation) {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, Statement(id));
    ResetOnExit reset(statement);
    const int rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  // Runs a PRAGMA (or any query) and returns the first column of its first row as text.
  Result<std::string> QueryText(const std::string& sql, std::string_view operation) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
    std::string text;
    rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      text = Row(statement).Text();
    } else if (rc != SQLITE_DONE) {
      Status error = SqliteError(db_, rc, operation);
      sqlite3_finalize(statement);
      return error;
    }
    sqlite3_finalize(statement);
    return text;
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* const db_;
  std::array<sqlite3_stmt*, static_cast<size_t>(Sql::kCount_)> statements_{};
};

// Steps a write statement bound by `binder` to completion.
inline int StepWrite(sqlite3_stmt* statement, const Binder& binder) {
  if (binder.rc() != SQLITE_OK) return binder.rc();
  const int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Steps a bound query and appends one T per row, decoded by `read(Row&, T&) -> Status`.
template <typename T, typename ReadRow>
Status CollectRows(Connection& connection, sqlite3_stmt* statement, const Binder& binder,
                   std::string_view operation, std::vector<T>& out, ReadRow read) {
  ResetOnExit reset(statement);
  if (binder.rc() != SQLITE_OK) return SqliteError(connection.db(), binder.rc(), operation);
  for (;;) {
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(connection.db(), rc, operation);
    Row row(statement);
    T value;
    MH_RETURN_IF_ERROR(read(row, value).WithContext(std::string(operation)));
    out.push_back(std::move(value));
  }
}

// Steps a bound `SELECT count(*)`-like query and returns its single integer.
Result<int64_t> QueryInt(Connection& connection, sqlite3_stmt* statement, const Binder& binder,
                         std::string_view operation) {
  ResetOnExit reset(statement);
  if (binder.rc() != SQLITE_OK) return SqliteError(connection.db(), binder.rc(), operation);
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_ROW) return SqliteError(connection.db(), rc, operation);
  return sqlite3_column_int64(statement, 0);
}

// ---------------------------------------------------------------------------------------------
// Row decoders, one per record; column order matches the SELECTs above.

Status ReadMeter(Row& row, MeterInfo& m) {
  m.meter_id = row.Text();
  m.kind = row.Text();
  m.customer_id = row.Text();
  m.tz_offset_s = static_cast<int32_t>(row.Int());
  m.interval_s = row.Int();
  m.register_max = row.OptionalReal();
  m.customer_t1 = row.OptionalReal();
  m.created_at = row.Int();
  return Status::Ok();
}

Status ReadTerminal(Row& row, Terminal& t) {
  t.terminal_id = row.Text();
  t.meter_id = row.Text();
  t.channel = row.Text();
  t.address = row.Text();
  return Status::Ok();
}

Status ReadReading(Row& row, StoredReading& r) {
  r.meter_id = row.Text();
  r.ts = row.Int();
  r.value = row.Real();
  r.consumption = row.Real();
  r.source = row.Text();
  r.quality = row.Text();
  return Status::Ok();
}

Status ReadQuarantined(Row& row, QuarantinedReading& q) {
  q.meter_id = row.Text();
  q.ts = row.Int();
  q.value = row.OptionalReal();
  q.raw_value = row.Text();
  const std::string verdict = row.Text();
  const std::optional<Verdict> parsed = ParseVerdict(verdict);
  if (!parsed) return Internal("quarantine row " + q.meter_id + "@" + std::to_string(q.ts) +
                               " has unknown verdict '" + verdict + "'");
  q.verdict = *parsed;
  q.reason = row.Text();
  q.source = row.Text();
  q.received_at = row.Int();
  return Status::Ok();
}

Status ReadEvent(Row& row, ReadingEvent& e) {
  e.meter_id = row.Text();
  e.ts_from = row.Int();
  e.ts_to = row.Int();
  e.kind = row.Text();
  e.detail = row.Text();
  return Status::Ok();
}

Status ReadState(Row& row, MeterStateRecord& s) {
  s.meter_id = row.Text();
  s.state_json = row.Text();
  return Status::Ok();
}

Status ReadAlert(Row& row, AlertRecord& a) {
  a.id = row.Int();
  a.meter_id = row.Text();
  a.terminal_id = row.Text();
  a.period_start = row.Int();
  a.ts = row.Int();
  a.reading = row.Real();
  a.period_consumption = row.Real();
  a.threshold = row.Real();
  a.excess = row.Real();
  a.created_at = row.Int();
  return Status::Ok();
}

Status ReadDelivery(Row& row, Delivery& d) {
  d.id = row.Int();
  d.alert_id = row.Int();
  d.meter_id = row.Text();
  d.terminal_id = row.Text();
  d.channel = row.Text();
  d.address = row.Text();
  d.content = row.Text();
  const std::string status = row.Text();
  const std::optional<DeliveryStatus> parsed = ParseDeliveryStatus(status);
  if (!parsed) return Internal("delivery " + std::to_string(d.id) + " has unknown status '" + status + "'");
  d.status = *parsed;
  d.attempts = static_cast<int>(row.Int());
  d.next_attempt_at = row.Int();
  d.last_error = row.Text();
  d.updated_at = row.Int();
  d.round_started_at = row.Int();
  d.round_base = static_cast<int>(row.Int());
  return Status::Ok();
}

Status ReadRequeue(Row& row, DeliveryRequeueRecord& r) {
  r.delivery_id = row.Int();
  r.at_ms = row.Int();
  r.after_attempts = static_cast<int>(row.Int());
  r.requested_by = row.Text();
  return Status::Ok();
}

Status ReadAttempt(Row& row, DeliveryAttempt& a) {
  a.delivery_id = row.Int();
  a.attempt = static_cast<int>(row.Int());
  a.at_ms = row.Int();
  const std::string status = row.Text();
  const std::optional<DeliveryStatus> parsed = ParseDeliveryStatus(status);
  if (!parsed) return Internal("delivery attempt has unknown status '" + status + "'");
  a.status = *parsed;
  a.error = row.Text();
  return Status::Ok();
}

Status ReadRelayMeter(Row& row, RelayMeter& m) {
  m.meter_id = row.Text();
  m.region_code = row.Text();
  m.position_code = row.Text();
  m.region_name = row.Text();
  m.device_key_hex = row.Text();
  m.registered_at = row.Int();
  return Status::Ok();
}

Status ReadLevelReport(Row& row, RelayLevelReport& r) {
  r.meter_id = row.Text();
  r.region_code = row.Text();
  r.sub_period = static_cast<int>(row.Int());
  r.level = static_cast<int>(row.Int());
  r.reported_at = row.Int();
  return Status::Ok();
}

Status ReadRegionKey(Row& row, RegionKeyRecord& k) {
  k.region_code = row.Text();
  k.key_id = static_cast<int>(row.Int());
  k.key_hex = row.Text();
  k.created_at = row.Int();
  return Status::Ok();
}

Status ReadRelayBatch(Row& row, RelayBatchRecord& b) {
  b.digest_hex = row.Text();
  b.origin_meter_id = row.Text();
  b.relay_meter_id = row.Text();
  b.outcome = row.Text();
  b.readings = row.Int();
  b.copies = row.Int();
  b.received_at = row.Int();
  return Status::Ok();
}

Status ReadRelayTotals(Row& row, RelayBatchTotals& t) {
  t.accepted = row.Int();
  t.rejected = row.Int();
  t.unknown_origin = row.Int();
  t.duplicates = row.Int();
  t.readings = row.Int();
  return Status::Ok();
}

Status ReadToken(Row& row, ApiToken& t) {
  t.token_sha256 = row.Text();
  t.name = row.Text();
  t.role = row.Text();
  t.customer_id = row.Text();
  return Status::Ok();
}

// The part of a quarantined reading's dedup key that tells two values apart: the value when it
// parsed ("v:" + shortest round-trip decimal), the text as received otherwise ("r:" + raw).
// Written into a reused buffer so the ingest path does not allocate per row.
void QuarantineValueKey(const QuarantinedReading& q, std::string& key) {
  key.clear();
  if (q.value) {
    char digits[40];
    const auto result = std::to_chars(digits, digits + sizeof(digits), *q.value);
    key.append("v:").append(digits, result.ptr);
  } else {
    key.append("r:").append(q.raw_value);
  }
}

// Checked while the batch is written (not before), so a bad row late in a batch also exercises
// the rollback. Non-finite numbers are refused because backends disagree on them (SQLite turns
// NaN into NULL, PostgreSQL stores it) and no consumption sum survives one.
Status CheckAccepted(const StoredReading& r) {
  if (r.meter_id.empty()) return InvalidArgument("commit batch: accepted reading without meter_id");
  if (!std::isfinite(r.value) || !std::isfinite(r.consumption)) {
    return InvalidArgument("commit batch: accepted reading " + r.meter_id + "@" + std::to_string(r.ts) +
                           " has a non-finite value or consumption");
  }
  return Status::Ok();
}

std::string ReadingContext(std::string_view what, const std::string& meter_id, int64_t ts) {
  return std::string(what) + " " + meter_id + "@" + std::to_string(ts);
}

// ---------------------------------------------------------------------------------------------
// Read-only connections, lent to one read at a time and kept open for the next.

class ReaderPool {
 public:
  // A connection on loan; it goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->Release(std::move(connection_));
    }
    Connection& connection() { return *connection_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  ReaderPool(std::string path, int busy_timeout_ms) : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

  Result<Lease> Acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
      }
    }
    // Opened outside the lock: opening touches the file system.
    MH_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                        Connection::Open(path_, /*read_only=*/true, busy_timeout_ms_));
    // Large reads (a year of a meter's readings) go faster through the OS page cache.
    MH_RETURN_IF_ERROR(connection->Exec("PRAGMA mmap_size = 268435456", "reader: set mmap_size"));
    return Lease(this, std::move(connection));
  }

 private:
  // More idle connections than this are closed rather than kept: each holds a page cache.
  static constexpr size_t kMaxIdle = 8;

  void Release(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
  }

  const std::string path_;
  const int busy_timeout_ms_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
};

bool IsInMemory(const std::string& path) {
  return path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}

// ---------------------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer)
      : in_memory_(IsInMemory(options.path)),
        writer_(std::move(writer)),
        readers_(options.path, options.busy_timeout_ms) {}

  // --- meters and terminals ---

  Status UpsertMeter(const MeterInfo& m) override {
    if (m.meter_id.empty()) return InvalidArgument("upsert meter: empty meter_id");
    return Write(Sql::kUpsertMeter, "upsert meter " + m.meter_id, [&](Binder& b) {
      b.Text(m.meter_id).Text(m.kind).Text(m.customer_id).Int(m.tz_offset_s).Int(m.interval_s)
          .OptionalReal(m.register_max).OptionalReal(m.customer_t1).Int(m.created_at);
    });
  }

  Result<std::optional<MeterInfo>> GetMeter(const std::string& meter_id) override {
    MH_ASSIGN_OR_RETURN(std::vector<MeterInfo> rows,
                        Query<MeterInfo>(Sql::kGetMeter, "get meter " + meter_id, ReadMeter,
                                         [&](Binder& b) { b.Text(meter_id); }));
    return First(std::move(rows));
  }

  Result<std::vector<MeterInfo>> ListMeters(const std::string& customer_id, int64_t offset,
                                            int64_t limit) override {
    const int64_t skip = offset > 0 ? offset : 0;
    if (customer_id.empty()) {
      return Query<MeterInfo>(Sql::kListMeters, "list meters", ReadMeter,
                              [&](Binder& b) { b.Limit(limit).Int(skip); });
    }
    return Query<MeterInfo>(Sql::kListMetersOfCustomer, "list meters of customer " + customer_id, ReadMeter,
                            [&](Binder& b) { b.Text(customer_id).Limit(limit).Int(skip); });
  }

  Result<int64_t> CountMeters() override { return Count(Sql::kCountMeters, "count meters"); }

  Status SetCustomerThreshold(const std::string& meter_id, std::optional<double> t1) override {
    const std::string operation = "set customer threshold of meter " + meter_id;
    MH_ASSIGN_OR_RETURN(int changed, WriteCounting(Sql::kSetCustomerThreshold, operation, [&](Binder& b) {
                          b.Text(meter_id).OptionalReal(t1);
                        }));
    if (changed == 0) return NotFound(operation + ": no such meter");
    return Status::Ok();
  }

  Status BindTerminal(const Terminal& t) override {
    const std::string operation = "bind terminal " + t.terminal_id + " to meter " + t.meter_id;
    if (t.terminal_id.empty()) return InvalidArgument(operation + ": empty terminal_id");
    Status status = Write(Sql::kBindTerminal, operation, [&](Binder& b) {
      b.Text(t.meter_id).Text(t.terminal_id).Text(t.channel).Text(t.address);
    });
    if (!status.ok() && status.message().find("FOREIGN KEY") != std::string::npos) {
      return NotFound(operation + ": no such meter");
    }
    return status;
  }

  Status UnbindTerminal(const std::string& meter_id, const std::string& terminal_id) override {
    const std::string operation = "unbind terminal " + terminal_id + " from meter " + meter_id;
    MH_ASSIGN_OR_RETURN(int changed, WriteCounting(Sql::kUnbindTerminal, operation, [&](Binder& b) {
                          b.Text(meter_id).Text(terminal_id);
                        }));
    if (changed == 0) return NotFound(operation + ": not bound");
    return Status::Ok();
  }

  Result<std::vector<Terminal>> ListTerminals(const std::string& meter_id) override {
    return Query<Terminal>(Sql::kListTerminals, "list terminals of meter " + meter_id, ReadTerminal,
                           [&](Binder& b) { b.Text(meter_id); });
  }

  // --- the ingest write path ---

  Status Commit(const IngestBatch& batch) override {
    return Transaction("commit batch", [&](Connection& db) { return WriteBatch(db, batch); });
  }

  Result<std::vector<MeterStateRecord>> LoadMeterStates(const std::vector<std::string>& meter_ids) override {
    return WithReader([&](Connection& c) -> Result<std::vector<MeterStateRecord>> {
      std::vector<MeterStateRecord> states;
      states.reserve(meter_ids.size());
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, c.Statement(Sql::kLoadState));
      for (const std::string& meter_id : meter_ids) {
        Binder b(statement);
        b.Text(meter_id);
        MH_RETURN_IF_ERROR(CollectRows(c, statement, b, "load state of meter " + meter_id, states, ReadState));
      }
      return states;
    });
  }

  // --- reads ---

  Result<std::vector<StoredReading>> QueryReadings(const std::string& meter_id, TimeRange range,
                                                   int64_t limit) override {
    return Query<StoredReading>(Sql::kQueryReadings, "query readings of meter " + meter_id, ReadReading,
                                [&](Binder& b) { b.Text(meter_id).Int(range.from).Int(range.to).Limit(limit); });
  }

  Result<std::optional<StoredReading>> LastReadingAtOrBefore(const std::string& meter_id, int64_t t) override {
    MH_ASSIGN_OR_RETURN(std::vector<StoredReading> rows,
                        Query<StoredReading>(Sql::kLastReadingAtOrBefore,
                                             ReadingContext("last reading at or before", meter_id, t),
                                             ReadReading, [&](Binder& b) { b.Text(meter_id).Int(t); }));
    return First(std::move(rows));
  }

  Result<std::vector<QuarantinedReading>> QueryQuarantine(const std::string& meter_id, TimeRange range,
                                                          int64_t limit) override {
    if (meter_id.empty()) {
      return Query<QuarantinedReading>(Sql::kQueryQuarantine, "query quarantine", ReadQuarantined,
                                       [&](Binder& b) { b.Int(range.from).Int(range.to).Limit(limit); });
    }
    return Query<QuarantinedReading>(
        Sql::kQueryQuarantineOfMeter, "query quarantine of meter " + meter_id, ReadQuarantined,
        [&](Binder& b) { b.Text(meter_id).Int(range.from).Int(range.to).Limit(limit); });
  }

  Result<std::vector<ReadingEvent>> QueryEvents(const std::string& meter_id, TimeRange range,
                                                int64_t limit) override {
    return Query<ReadingEvent>(Sql::kQueryEvents, "query events of meter " + meter_id, ReadEvent,
                               [&](Binder& b) { b.Text(meter_id).Int(range.from).Int(range.to).Limit(limit); });
  }

  Result<int64_t> CountReadings() override { return Count(Sql::kCountReadings, "count readings"); }
  Result<int64_t> CountQuarantine() override { return Count(Sql::kCountQuarantine, "count quarantine"); }

  // --- alerts and their delivery log ---

  Result<std::vector<AlertRecord>> ListAlerts(const std::string& meter_id, TimeRange created,
                                              int64_t limit) override {
    if (meter_id.empty()) {
      return Query<AlertRecord>(Sql::kListAlerts, "list alerts", ReadAlert,
                                [&](Binder& b) { b.Int(created.from).Int(created.to).Limit(limit); });
    }
    return Query<AlertRecord>(Sql::kListAlertsOfMeter, "list alerts of meter " + meter_id, ReadAlert,
                              [&](Binder& b) { b.Text(meter_id).Int(created.from).Int(created.to).Limit(limit); });
  }

  Result<int64_t> CountAlerts(const std::string& meter_id, const std::string& terminal_id,
                              int64_t period_start) override {
    return WithReader([&](Connection& c) -> Result<int64_t> {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, c.Statement(Sql::kCountAlerts));
      Binder b(statement);
      b.Text(meter_id).Text(terminal_id).Int(period_start);
      return QueryInt(c, statement, b, "count alerts of meter " + meter_id + " to terminal " + terminal_id);
    });
  }

  Result<std::vector<Delivery>> ListDeliveries(const std::string& meter_id, int64_t alert_id,
                                               int64_t limit) override {
    if (alert_id != 0) {
      return Query<Delivery>(Sql::kListDeliveriesOfAlert, "list deliveries of alert " + std::to_string(alert_id),
                             ReadDelivery, [&](Binder& b) { b.Int(alert_id).Text(meter_id).Limit(limit); });
    }
    if (!meter_id.empty()) {
      return Query<Delivery>(Sql::kListDeliveriesOfMeter, "list deliveries of meter " + meter_id, ReadDelivery,
                             [&](Binder& b) { b.Text(meter_id).Limit(limit); });
    }
    return Query<Delivery>(Sql::kListDeliveries, "list deliveries", ReadDelivery,
                           [&](Binder& b) { b.Limit(limit); });
  }

  Result<std::vector<Delivery>> DueDeliveries(int64_t now_ms, int64_t limit) override {
    return Query<Delivery>(Sql::kDueDeliveries, "due deliveries", ReadDelivery,
                           [&](Binder& b) { b.Int(now_ms).Limit(limit); });
  }

  Status UpdateDelivery(const Delivery& d) override {
    const std::string operation = "update delivery " + std::to_string(d.id);
    std::lock_guard lock(write_mutex_);
    Connection& db = *writer_;
    MH_RETURN_IF_ERROR(db.Run(Sql::kBegin, operation + ": begin"));
    auto write = [&]() -> Status {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * update, db.Statement(Sql::kUpdateDelivery));
      Binder b(update);
      b.Int(d.id).Text(d.terminal_id).Text(d.channel).Text(d.address).Text(d.content)
          .Text(DeliveryStatusName(d.status)).Int(d.attempts).Int(d.next_attempt_at).Text(d.last_error)
          .Int(d.updated_at).Int(d.round_started_at).Int(d.round_base);
      if (const int rc = StepWrite(update, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
      if (sqlite3_changes(db.db()) == 0) return NotFound(operation + ": no such delivery");
      if (d.attempts <= 0) return Status::Ok();
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * record, db.Statement(Sql::kRecordAttempt));
      Binder a(record);
      a.Int(d.id).Int(d.attempts).Int(d.updated_at).Text(DeliveryStatusName(d.status)).Text(d.last_error);
      if (const int rc = StepWrite(record, a); rc != SQLITE_OK)
        return SqliteError(db.db(), rc, operation + ": record attempt");
      return Status::Ok();
    };
    Status status = write();
    if (status.ok()) status = db.Run(Sql::kCommit, operation + ": commit");
    if (!status.ok() && sqlite3_get_autocommit(db.db()) == 0) (void)db.Run(Sql::kRollback, operation + ": rollback");
    return status;
  }

  Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) override {
    return Query<DeliveryAttempt>(Sql::kListAttempts, "list attempts of delivery " + std::to_string(delivery_id),
                                  ReadAttempt, [&](Binder& b) { b.Int(delivery_id); });
  }

  Result<std::optional<Delivery>> GetDelivery(int64_t delivery_id) override {
    MH_ASSIGN_OR_RETURN(std::vector<Delivery> rows,
                        Query<Delivery>(Sql::kGetDelivery, "get delivery " + std::to_string(delivery_id), ReadDelivery,
                                        [&](Binder& b) { b.Int(delivery_id); }));
    return First(std::move(rows));
  }

  Result<std::vector<int64_t>> RequeueFailedDeliveries(const DeliveryRequeue& r) override {
    std::vector<int64_t> ids;
    Status status = Transaction("re-queue failed deliveries", [&](Connection& db) -> Status {
      struct Failed {
        int64_t id = 0;
        int attempts = 0;
      };
      std::vector<Failed> failed;
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * select, db.Statement(Sql::kFailedForRequeue));
      Binder b(select);
      b.Int(r.delivery_id).Text(r.meter_id).Int(r.failed_since).Limit(r.limit);
      MH_RETURN_IF_ERROR(CollectRows(db, select, b, "select failed deliveries", failed, [](Row& row, Failed& f) {
        f.id = row.Int();
        f.attempts = static_cast<int>(row.Int());
        return Status::Ok();
      }));
      for (const Failed& f : failed) {
        const std::string operation = "re-queue delivery " + std::to_string(f.id);
        MH_RETURN_IF_ERROR(Step(db, Sql::kRequeueDelivery, operation, [&](Binder& u) { u.Int(f.id).Int(r.at_ms); }));
        MH_RETURN_IF_ERROR(Step(db, Sql::kRecordRequeue, operation, [&](Binder& u) {
          u.Int(f.id).Int(r.at_ms).Int(f.attempts).Text(r.requested_by);
        }));
        ids.push_back(f.id);
      }
      return Status::Ok();
    });
    if (!status.ok()) return status;
    return ids;
  }

  Result<std::vector<DeliveryRequeueRecord>> ListDeliveryRequeues(int64_t delivery_id) override {
    return Query<DeliveryRequeueRecord>(Sql::kListRequeues, "list re-queues of delivery " + std::to_string(delivery_id),
                                        ReadRequeue, [&](Binder& b) { b.Int(delivery_id); });
  }

  // --- relay retransmission ---

  Status UpsertRelayMeter(const RelayMeter& m) override {
    if (m.meter_id.empty()) return InvalidArgument("upsert relay meter: empty meter_id");
    return Write(Sql::kUpsertRelayMeter, "upsert relay meter " + m.meter_id, [&](Binder& b) {
      b.Text(m.meter_id).Text(m.region_code).Text(m.position_code).Text(m.region_name).Text(m.device_key_hex)
          .Int(m.registered_at);
    });
  }

  Result<std::optional<RelayMeter>> GetRelayMeter(const std::string& meter_id) override {
    MH_ASSIGN_OR_RETURN(std::vector<RelayMeter> rows,
                        Query<RelayMeter>(Sql::kGetRelayMeter, "get relay meter " + meter_id, ReadRelayMeter,
                                          [&](Binder& b) { b.Text(meter_id); }));
    return First(std::move(rows));
  }

  Result<std::vector<RelayMeter>> ListRelayMeters(const std::string& region_code) override {
    return Query<RelayMeter>(Sql::kListRelayMeters, "list relay meters", ReadRelayMeter,
                             [&](Binder& b) { b.Text(region_code); });
  }

  Status ReplaceLevelReports(const std::string& meter_id, const std::vector<RelayLevelReport>& reports) override {
    const std::string operation = "replace level reports of meter " + meter_id;
    for (const RelayLevelReport& r : reports) {
      if (r.meter_id != meter_id) return InvalidArgument(operation + ": a report of meter '" + r.meter_id + "'");
    }
    return Transaction(operation, [&](Connection& db) -> Status {
      MH_RETURN_IF_ERROR(Step(db, Sql::kDeleteLevelReports, operation, [&](Binder& b) { b.Text(meter_id); }));
      for (const RelayLevelReport& r : reports) {
        MH_RETURN_IF_ERROR(Step(db, Sql::kInsertLevelReport, operation, [&](Binder& b) {
          b.Text(r.meter_id).Int(r.sub_period).Text(r.region_code).Int(r.level).Int(r.reported_at);
        }));
      }
      return Status::Ok();
    });
  }

  Result<std::vector<RelayLevelReport>> ListLevelReports(const std::string& region_code) override {
    return Query<RelayLevelReport>(Sql::kListLevelReports, "list level reports of region " + region_code,
                                   ReadLevelReport, [&](Binder& b) { b.Text(region_code); });
  }

  Status PutRegionKey(const RegionKeyRecord& k) override {
    const std::string operation = "put key " + std::to_string(k.key_id) + " of region " + k.region_code;
    if (k.key_id < 1 || k.key_id > 255) return InvalidArgument(operation + ": key id must lie in 1..255");
    Status status = Write(Sql::kInsertRegionKey, operation, [&](Binder& b) {
      b.Text(k.region_code).Int(k.key_id).Text(k.key_hex).Int(k.created_at);
    });
    if (!status.ok() && status.message().find("UNIQUE") != std::string::npos)
      return AlreadyExists(operation + ": the region already has a key with this id");
    return status;
  }

  Result<std::vector<RegionKeyRecord>> ListRegionKeys(const std::string& region_code) override {
    return Query<RegionKeyRecord>(Sql::kListRegionKeys, "list keys of region " + region_code, ReadRegionKey,
                                  [&](Binder& b) { b.Text(region_code); });
  }

  Status DeleteRegionKey(const std::string& region_code, int key_id) override {
    return Write(Sql::kDeleteRegionKey, "delete key of region " + region_code,
                 [&](Binder& b) { b.Text(region_code).Int(key_id); });
  }

  Result<bool> RecordRelayBatch(const RelayBatchRecord& r) override {
    const std::string operation = "record relay batch from " + r.origin_meter_id;
    if (r.digest_hex.empty()) return InvalidArgument(operation + ": empty digest");
    MH_ASSIGN_OR_RETURN(int inserted, WriteCounting(Sql::kInsertRelayBatch, operation, [&](Binder& b) {
                          b.Text(r.digest_hex).Text(r.origin_meter_id).Text(r.relay_meter_id).Text(r.outcome)
                              .Int(r.readings).Int(r.received_at);
                        }));
    if (inserted == 1) return true;
    MH_RETURN_IF_ERROR(Write(Sql::kCountRelayBatchCopy, operation, [&](Binder& b) { b.Text(r.digest_hex); }));
    return false;
  }

  Result<RelayBatchTotals> SumRelayBatches() override {
    MH_ASSIGN_OR_RETURN(std::vector<RelayBatchTotals> rows,
                        Query<RelayBatchTotals>(Sql::kSumRelayBatches, "sum relay batches", ReadRelayTotals,
                                                [](Binder&) {}));
    return rows.empty() ? RelayBatchTotals{} : rows.front();
  }

  Result<std::vector<RelayBatchRecord>> ListRelayBatches(const std::string& relay_meter_id, int64_t limit) override {
    if (relay_meter_id.empty()) {
      return Query<RelayBatchRecord>(Sql::kListRelayBatches, "list relay batches", ReadRelayBatch,
                                     [&](Binder& b) { b.Limit(limit); });
    }
    return Query<RelayBatchRecord>(Sql::kListRelayBatchesOfRelay, "list relay batches of " + relay_meter_id,
                                   ReadRelayBatch, [&](Binder& b) { b.Text(relay_meter_id).Limit(limit); });
  }

  // --- API tokens ---

  Status PutToken(const ApiToken& t) override {
    if (t.token_sha256.empty()) return InvalidArgument("put token: empty token_sha256");
    return Write(Sql::kPutToken, "put token " + t.name, [&](Binder& b) {
      b.Text(t.token_sha256).Text(t.name).Text(t.role).Text(t.customer_id);
    });
  }

  Result<std::optional<ApiToken>> FindToken(const std::string& token_sha256) override {
    MH_ASSIGN_OR_RETURN(std::vector<ApiToken> rows,
                        Query<ApiToken>(Sql::kFindToken, "find token", ReadToken,
                                        [&](Binder& b) { b.Text(token_sha256); }));
    return First(std::move(rows));
  }

 private:
  // The body of Commit, inside the open transaction. Statements are fetched once per batch and
  // rows bound without copies, so the per-row cost is SQLite's own.
  Status WriteBatch(Connection& db, const IngestBatch& batch) {
    sqlite3* handle = db.db();
    if (!batch.accepted.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * upsert, db.Statement(Sql::kUpsertReading));
      // Insert in key order: a batch usually holds many meters' readings interleaved in time, and
      // walking the (meter_id, ts) B-tree in order touches each leaf page once instead of once per
      // reading. A stable sort keeps "the later write wins" for a key repeated in the batch.
      sorted_.clear();
      for (const StoredReading& r : batch.accepted) sorted_.push_back(&r);
      std::stable_sort(sorted_.begin(), sorted_.end(), [](const StoredReading* a, const StoredReading* b) {
        int c = a->meter_id.compare(b->meter_id);
        return c < 0 || (c == 0 && a->ts < b->ts);
      });
      for (const StoredReading* rp : sorted_) {
        const StoredReading& r = *rp;
        MH_RETURN_IF_ERROR(CheckAccepted(r));
        Binder b(upsert);
        b.Text(r.meter_id).Int(r.ts).Real(r.value).Real(r.consumption).Text(r.source).Text(r.quality);
        if (const int rc = StepWrite(upsert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: upsert reading", r.meter_id, r.ts));
        }
      }
    }
    if (!batch.quarantined.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertQuarantine));
      for (const QuarantinedReading& q : batch.quarantined) {
        if (q.meter_id.empty()) return InvalidArgument("commit batch: quarantined reading without meter_id");
        QuarantineValueKey(q, value_key_);
        Binder b(insert);
        b.Text(q.meter_id).Int(q.ts).Text(VerdictName(q.verdict)).Text(value_key_).OptionalReal(q.value)
            .Text(q.raw_value).Text(q.reason).Text(q.source).Int(q.received_at);
        if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: quarantine reading", q.meter_id, q.ts));
        }
      }
    }
    if (!batch.remove_accepted.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * remove, db.Statement(Sql::kDeleteReading));
      for (const ReadingKey& k : batch.remove_accepted) {
        if (k.meter_id.empty()) return InvalidArgument("commit batch: reading to remove without meter_id");
        Binder b(remove);
        b.Text(k.meter_id).Int(k.ts);
        if (const int rc = StepWrite(remove, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: remove reading", k.meter_id, k.ts));
        }
      }
    }
    if (!batch.remove_quarantined.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * remove, db.Statement(Sql::kDeleteRejudged));
      for (const ReadingKey& k : batch.remove_quarantined) {
        if (k.meter_id.empty()) return InvalidArgument("commit batch: quarantine row to remove without meter_id");
        Binder b(remove);
        b.Text(k.meter_id).Int(k.ts);
        if (const int rc = StepWrite(remove, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: remove quarantine row", k.meter_id, k.ts));
        }
      }
    }
    if (!batch.events.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertEvent));
      for (const ReadingEvent& e : batch.events) {
        if (e.meter_id.empty()) return InvalidArgument("commit batch: " + e.kind + " event without meter_id");
        Binder b(insert);
        b.Text(e.meter_id).Int(e.ts_from).Int(e.ts_to).Text(e.kind).Text(e.detail);
        if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: insert " + e.kind + " event", e.meter_id,
                                                        e.ts_from));
        }
      }
    }
    if (!batch.states.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * upsert, db.Statement(Sql::kUpsertState));
      for (const MeterStateRecord& s : batch.states) {
        if (s.meter_id.empty()) return InvalidArgument("commit batch: meter state without meter_id");
        Binder b(upsert);
        b.Text(s.meter_id).Text(s.state_json);
        if (const int rc = StepWrite(upsert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, "commit batch: upsert state of meter " + s.meter_id);
        }
      }
    }
    if (!batch.alerts.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert_alert, db.Statement(Sql::kInsertAlert));
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert_delivery, db.Statement(Sql::kInsertDelivery));
      for (const NewAlert& n : batch.alerts) {
        MH_RETURN_IF_ERROR(WriteAlert(handle, insert_alert, insert_delivery, n));
      }
    }
    return Status::Ok();
  }

  // Inserts an alert and its delivery. An alert already stored (same meter, terminal, period and
  // crossing reading: a re-committed batch) is skipped with its delivery, so a replay never sends
  // the customer a second message.
  static Status WriteAlert(sqlite3* handle, sqlite3_stmt* insert_alert, sqlite3_stmt* insert_delivery,
                           const NewAlert& n) {
    const AlertRecord& a = n.alert;
    const std::string_view operation = "commit batch: insert alert";
    if (a.meter_id.empty()) return InvalidArgument("commit batch: alert without meter_id");
    int64_t alert_id = 0;
    {
      ResetOnExit reset(insert_alert);
      Binder b(insert_alert);
      b.Text(a.meter_id).Text(a.terminal_id).Int(a.period_start).Int(a.ts).Real(a.reading)
          .Real(a.period_consumption).Real(a.threshold).Real(a.excess).Int(a.created_at);
      if (b.rc() != SQLITE_OK) return SqliteError(handle, b.rc(), ReadingContext(operation, a.meter_id, a.ts));
      const int rc = sqlite3_step(insert_alert);
      if (rc == SQLITE_DONE) return Status::Ok();  // already stored
      if (rc != SQLITE_ROW) return SqliteError(handle, rc, ReadingContext(operation, a.meter_id, a.ts));
      alert_id = sqlite3_column_int64(insert_alert, 0);
    }
    const Delivery& d = n.delivery;
    Binder b(insert_delivery);
    b.Int(alert_id).Text(a.meter_id).Text(d.terminal_id).Text(d.channel).Text(d.address).Text(d.content)
        .Text(DeliveryStatusName(d.status)).Int(d.attempts).Int(d.next_attempt_at).Text(d.last_error)
        .Int(d.updated_at);
    if (const int rc = StepWrite(insert_delivery, b); rc != SQLITE_OK) {
      return SqliteError(handle, rc, ReadingContext("commit batch: insert delivery of alert", a.meter_id, a.ts));
    }
    return Status::Ok();
  }

  // Runs `f(Connection&)` on a read-only connection. An in-memory database exists only inside
  // the writer connection, so there reads share it (and its mutex).
  template <typename F>
  auto WithReader(F&& f) -> decltype(f(std::declval<Connection&>())) {
    if (in_memory_) {
      std::lock_guard lock(write_mutex_);
      return f(*writer_);
    }
    MH_ASSIGN_OR_RETURN(ReaderPool::Lease lease, readers_.Acquire());
    return f(lease.connection());
  }

  template <typename T, typename ReadRow, typename Bind>
  Result<std::vector<T>> Query(Sql id, std::string_view operation, ReadRow read, Bind bind) {
    return WithReader([&](Connection& c) -> Result<std::vector<T>> {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, c.Statement(id));
      Binder b(statement);
      bind(b);
      std::vector<T> rows;
      MH_RETURN_IF_ERROR(CollectRows(c, statement, b, operation, rows, read));
      return rows;
    });
  }

  Result<int64_t> Count(Sql id, std::string_view operation) {
    return WithReader([&](Connection& c) -> Result<int64_t> {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, c.Statement(id));
      return QueryInt(c, statement, Binder(statement), operation);
    });
  }

  // A single-statement write in its own (autocommit) transaction; returns the rows it changed.
  template <typename Bind>
  Result<int> WriteCounting(Sql id, std::string_view operation, Bind bind) {
    std::lock_guard lock(write_mutex_);
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, writer_->Statement(id));
    Binder b(statement);
    bind(b);
    if (const int rc = StepWrite(statement, b); rc != SQLITE_OK) return SqliteError(writer_->db(), rc, operation);
    return sqlite3_changes(writer_->db());
  }

  // Runs `body(writer)` inside BEGIN IMMEDIATE … COMMIT; rolls back when it fails.
  template <typename Body>
  Status Transaction(std::string_view operation, Body body) {
    std::lock_guard lock(write_mutex_);
    Connection& db = *writer_;
    MH_RETURN_IF_ERROR(db.Run(Sql::kBegin, operation));
    Status status = body(db);
    if (status.ok()) status = db.Run(Sql::kCommit, operation);
    if (!status.ok() && sqlite3_get_autocommit(db.db()) == 0) (void)db.Run(Sql::kRollback, operation);
    return status;
  }

  // One statement inside a transaction the caller holds.
  template <typename Bind>
  static Status Step(Connection& db, Sql id, std::string_view operation, Bind bind) {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, db.Statement(id));
    Binder b(statement);
    bind(b);
    if (const int rc = StepWrite(statement, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
    return Status::Ok();
  }

  template <typename Bind>
  Status Write(Sql id, std::string_view operation, Bind bind) {
    MH_ASSIGN_OR_RETURN(int changed, WriteCounting(id, operation, bind));
    (void)changed;
    return Status::Ok();
  }

  template <typename T>
  static std::optional<T> First(std::vector<T> rows) {
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }

  const bool in_memory_;

  std::mutex write_mutex_;
  // Declared before readers_ so it closes last: the last connection to close checkpoints the WAL.
  std::unique_ptr<Connection> writer_;  // guarded by write_mutex_
  std::string value_key_;               // guarded by write_mutex_; reused per quarantined row
  std::vector<const StoredReading*> sorted_;  // guarded by write_mutex_; key order of a batch's readings

  ReaderPool readers_;  // internally synchronised
};

Result<int> ReadSchemaVersion(Connection& db) {
  MH_ASSIGN_OR_RETURN(std::string text,
                      db.QueryText("SELECT coalesce(max(version), 0) FROM schema_version", "read schema version"));
  return std::atoi(text.c_str());
}

// Applies one migration unless it is already there. The version is read again inside the write
// transaction: two processes opening a new file at once must not both create the tables.
Status ApplyMigration(Connection& db, const Migration& migration) {
  const std::string operation = "migrate schema to version " + std::to_string(migration.version);
  MH_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", operation));
  Status status;
  Result<int> current = ReadSchemaVersion(db);
  if (!current.ok()) {
    status = current.status();
  } else if (*current < migration.version) {
    status = db.Exec(migration.sql, operation);
    if (status.ok()) {
      const std::string record = "INSERT INTO schema_version (version, applied_at) VALUES (" +
                                 std::to_string(migration.version) + ", CAST(strftime('%s', 'now') AS INTEGER))";
      status = db.Exec(record.c_str(), operation);
    }
  }
  if (status.ok()) status = db.Exec("COMMIT", operation);
  if (!status.ok() && sqlite3_get_autocommit(db.db()) == 0) (void)db.Exec("ROLLBACK", operation);
  return status;
}

// Creates the schema or brings it up to kSchemaVersion, one transaction per migration.
Status Migrate(Connection& db) {
  MH_RETURN_IF_ERROR(db.Exec(kCreateSchemaVersion, "create schema_version"));
  MH_ASSIGN_OR_RETURN(int current, ReadSchemaVersion(db));
  if (current > kSchemaVersion) {
    return FailedPrecondition("sqlite: database schema version " + std::to_string(current) +
                              " is newer than this build understands (" + std::to_string(kSchemaVersion) + ")");
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version > current) MH_RETURN_IF_ERROR(ApplyMigration(db, migration));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) return FailedPrecondition("sqlite: library built without thread support");
  MH_ASSIGN_OR_RETURN(const char* synchronous, area_db::SynchronousPragma(options.synchronous, "sqlite: store.synchronous"));
  if (options.path.empty()) return InvalidArgument("sqlite: empty database path");

  MH_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(options.path, /*read_only=*/false, options.busy_timeout_ms));
  MH_ASSIGN_OR_RETURN(std::string journal_mode, writer->QueryText("PRAGMA journal_mode = WAL", "set WAL mode"));
  if (journal_mode != "wal" && !IsInMemory(options.path)) {
    return FailedPrecondition("sqlite: " + options.path + ": WAL mode refused (journal_mode is " +
                              journal_mode + ")");
  }
  MH_RETURN_IF_ERROR(writer->Exec(synchronous, "set synchronous"));
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // A bigger page cache keeps the readings B-tree's upper levels in memory during bulk ingest.
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA cache_size = -32768", "set cache_size"));
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA temp_store = MEMORY", "set temp_store"));
  // Without a limit the WAL file keeps its high-water size after a checkpoint.
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA journal_size_limit = 67108864", "set journal_size_limit"));
  MH_RETURN_IF_ERROR(Migrate(*writer).WithContext(options.path));
  if (options.max_size_bytes > 0) {
    MH_ASSIGN_OR_RETURN(std::string page_size, writer->QueryText("PRAGMA page_size", "read page_size"));
    const int64_t pages = std::max<int64_t>(1, options.max_size_bytes / std::max<int64_t>(1, std::atoll(page_size.c_str())));
    MH_RETURN_IF_ERROR(writer->Exec(("PRAGMA max_page_count = " + std::to_string(pages)).c_str(), "set max_page_count"));
  }
  return std::unique_ptr<Store>(new SqliteStore(options, std::move(writer)));
}

}  // namespace mh::store
