// The main store's schema: every version and the migrations between them (docs/storage.md).
#include "store/sqlite/sqlite_schema.h"

#include <cstdlib>
#include <iterator>

#include "store/sqlite/sqlite_readings.h"

namespace mh::store::sqlite_db {
namespace {

// ---------------------------------------------------------------------------------------------
// Schema. Each migration moves the database from version N-1 to N and is never edited once
// released: a change is a new entry. Numbers and names here are frozen (docs/storage.md).

struct Migration {
  int version;
  const char* sql;
  // Work SQL cannot do, run after `sql` in the same transaction (nullptr = none).
  Status (*then)(Connection& db) = nullptr;
};

constexpr const char* kCreateSchemaVersion =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version    INTEGER NOT NULL PRIMARY KEY,"
    "  applied_at INTEGER NOT NULL"
    ")";

// Schema 5, the relay tables of issue 11 (seed 000, step 108): the failure code kept with each
// forwarded batch, the meters' nightly outcome reports, and the maintenance work orders for meters
// whose own uplink keeps failing. Kept apart from the readings tables on purpose.
constexpr const char* RelayOutcomesSchema() {
  return R"sql(
ALTER TABLE relay_batches ADD COLUMN failure_code INTEGER CHECK (failure_code BETWEEN 0 AND 65535);
CREATE INDEX relay_batches_by_origin ON relay_batches (origin_meter_id, received_at);
CREATE TABLE relay_outcomes (
  meter_id             TEXT    NOT NULL,
  night                INTEGER NOT NULL,
  region_code          TEXT    NOT NULL,
  uplink_attempts      INTEGER NOT NULL,
  uplink_failures      INTEGER NOT NULL,
  uplink_failure_codes TEXT    NOT NULL,
  relay_attempts       INTEGER NOT NULL,
  relay_failures       INTEGER NOT NULL,
  delivered_via_relay  INTEGER NOT NULL,
  aged_out             INTEGER NOT NULL,
  queued               INTEGER NOT NULL,
  relays_json          TEXT    NOT NULL,
  received_at          INTEGER NOT NULL,
  PRIMARY KEY (meter_id, night)
) WITHOUT ROWID;
CREATE INDEX relay_outcomes_by_region ON relay_outcomes (region_code, night);
CREATE TABLE relay_work_orders (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  meter_id    TEXT    NOT NULL,
  first_night INTEGER NOT NULL,
  last_night  INTEGER NOT NULL,
  nights      INTEGER NOT NULL,
  content     TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('open', 'sent', 'failed')),
  attempts    INTEGER NOT NULL,
  last_error  TEXT    NOT NULL,
  opened_at   INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (meter_id, first_night)
);
CREATE INDEX relay_work_orders_by_state ON relay_work_orders (state, id);
)sql";
}


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
CREATE TABLE labels (
  id   INTEGER PRIMARY KEY,
  name TEXT    NOT NULL UNIQUE
);
INSERT INTO labels (id, name) VALUES (0, '');

CREATE TABLE reading_blocks (
  meter_id TEXT    NOT NULL,
  channel  INTEGER NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts  INTEGER NOT NULL,
  n        INTEGER NOT NULL,
  data     BLOB    NOT NULL,
  PRIMARY KEY (meter_id, channel, first_ts)
) WITHOUT ROWID;

CREATE TABLE reading_log (
  seq         INTEGER PRIMARY KEY,
  meter_id    TEXT    NOT NULL,
  channel     INTEGER NOT NULL,
  ts          INTEGER NOT NULL,
  op          INTEGER NOT NULL,
  value       REAL    NOT NULL,
  consumption REAL    NOT NULL,
  source      INTEGER NOT NULL,
  quality     INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  flags       INTEGER NOT NULL
);

CREATE TABLE meter_state_log (
  seq      INTEGER PRIMARY KEY,
  meter_id TEXT    NOT NULL,
  state    BLOB    NOT NULL
);

CREATE TABLE store_counters (
  name  TEXT    NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE reading_versions (
  meter_id    TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  value       REAL    NOT NULL,
  consumption REAL    NOT NULL,
  source      TEXT    NOT NULL,
  quality     TEXT    NOT NULL,
  replaced_at INTEGER NOT NULL,
  replaced_by TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  PRIMARY KEY (meter_id, channel, ts, version)
) WITHOUT ROWID;

CREATE TABLE reading_estimates (
  meter_id     TEXT    NOT NULL,
  channel      TEXT    NOT NULL,
  ts           INTEGER NOT NULL,
  method       TEXT    NOT NULL,
  inputs       TEXT    NOT NULL,
  estimated_by TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (meter_id, channel, ts)
) WITHOUT ROWID;

CREATE TABLE quarantine_v4 (
  meter_id    TEXT    NOT NULL,
  channel     TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  verdict     TEXT    NOT NULL,
  value_key   TEXT    NOT NULL,
  value       REAL,
  raw_value   TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (meter_id, channel, ts, verdict, value_key)
) WITHOUT ROWID;
INSERT INTO quarantine_v4 SELECT meter_id, '', ts, verdict, value_key, value, raw_value, reason, source,
  received_at FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_v4 RENAME TO quarantine;
CREATE INDEX quarantine_by_ts ON quarantine (ts, meter_id);

CREATE TABLE meter_state_v4 (
  meter_id TEXT NOT NULL PRIMARY KEY,
  state    BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO meter_state_v4 SELECT meter_id, CAST(state_json AS BLOB) FROM meter_state;
DROP TABLE meter_state;
ALTER TABLE meter_state_v4 RENAME TO meter_state;

ALTER TABLE meters ADD COLUMN group_name TEXT NOT NULL DEFAULT '';
ALTER TABLE meters ADD COLUMN timezone   TEXT NOT NULL DEFAULT '';
)sql", &PackVersion3Readings},
    {5, RelayOutcomesSchema()},
    // Access (SPEC 5): token lifecycle, dashboard users, browser sessions.
    {6, R"sql(
ALTER TABLE api_tokens ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE users (
  username      TEXT    NOT NULL PRIMARY KEY,
  role          TEXT    NOT NULL,
  customer_id   TEXT    NOT NULL,
  password_hash TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE sessions (
  session_sha256 TEXT    NOT NULL PRIMARY KEY,
  username       TEXT    NOT NULL,
  token_sha256   TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (username) WHERE username <> '';
CREATE INDEX sessions_by_token ON sessions (token_sha256) WHERE token_sha256 <> '';
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
)sql"},
    // Delivery rounds (issue 10): a delivery is tried in rounds that ride out an outage, and a
    // failed one can be put back in the queue in a new round; who asked is kept.
    {7, R"sql(
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
    // One meter's quarantine by time (issue 12): the key leads with (meter_id, channel), so a
    // meter's rows at one time were found by scanning all its rows — the pipeline asks that for
    // every abnormal reading (is it a redelivery?), which made a faulty meter's import quadratic.
    {8, R"sql(
CREATE INDEX IF NOT EXISTS quarantine_by_meter_ts ON quarantine (meter_id, ts);
)sql"},
    // Meters read over their own protocol (issue 16): the frame's address finds the meter, the
    // gateway says whose credentials may publish its frames, the billing channel what is judged.
    {9, R"sql(
ALTER TABLE meters ADD COLUMN protocol        TEXT NOT NULL DEFAULT '';
ALTER TABLE meters ADD COLUMN address         TEXT NOT NULL DEFAULT '';
ALTER TABLE meters ADD COLUMN gateway         TEXT NOT NULL DEFAULT '';
ALTER TABLE meters ADD COLUMN billing_channel TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX meters_by_address ON meters (protocol, address) WHERE address <> '';
)sql"},
    // How much of an alert is estimated (issue 18): the part of the period consumption that came
    // from estimated intervals; an alert stored before it had none counted (0).
    {10, R"sql(
ALTER TABLE alerts ADD COLUMN estimated_consumption REAL NOT NULL DEFAULT 0;
)sql"},
    // The meters behind a gateway (issue 16): the TCP gateway asks for a DTU's meters when it
    // registers and on its poll cycle, instead of listing every meter.
    {11, R"sql(
CREATE INDEX meters_by_gateway ON meters (gateway) WHERE gateway <> '';
)sql"},
};

constexpr int kSchemaVersion = kMigrations[std::size(kMigrations) - 1].version;

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
    if (status.ok() && migration.then != nullptr) status = migration.then(db);
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

}  // namespace

int CurrentSchemaVersion() { return kSchemaVersion; }

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


}  // namespace mh::store::sqlite_db
