-- The main store's schema at version 3 (sessions 1-3), frozen: migration tests build old
-- databases from it. Never edit.
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
CREATE TABLE delivery_attempts (
  delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  at_ms       INTEGER NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  error       TEXT    NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
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
CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1, 0), (2, 0), (3, 0);
