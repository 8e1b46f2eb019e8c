// The PostgreSQL main store's schema and statements: the SQLite v8 tables (sqlite_schema.cc) in
// PostgreSQL types. Readings are plain rows keyed (meter_id, channel, ts) — PostgreSQL's B-tree
// clusters a meter's series by that key, so SQLite's packed blocks and log have no twin here.
#pragma once

#include <vector>

#include "store/postgres/pg_db.h"

namespace mh::store::pgsql {

using pg::Statement;

inline constexpr char kSchema[] = R"sql(
CREATE TABLE meters (
  meter_id TEXT PRIMARY KEY, kind TEXT NOT NULL, customer_id TEXT NOT NULL, tz_offset_s INTEGER NOT NULL,
  interval_s BIGINT NOT NULL, register_max DOUBLE PRECISION, customer_t1 DOUBLE PRECISION, created_at BIGINT NOT NULL,
  group_name TEXT NOT NULL DEFAULT '', timezone TEXT NOT NULL DEFAULT '',
  protocol TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', gateway TEXT NOT NULL DEFAULT '',
  billing_channel TEXT NOT NULL DEFAULT '');
CREATE INDEX meters_by_customer ON meters (customer_id, meter_id);
CREATE UNIQUE INDEX meters_by_address ON meters (protocol, address) WHERE address <> '';
CREATE TABLE terminals (
  meter_id TEXT NOT NULL REFERENCES meters (meter_id) ON DELETE CASCADE, terminal_id TEXT NOT NULL,
  channel TEXT NOT NULL, address TEXT NOT NULL, PRIMARY KEY (meter_id, terminal_id));
CREATE TABLE readings (
  meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL,
  consumption DOUBLE PRECISION NOT NULL, source TEXT NOT NULL, quality TEXT NOT NULL, version INTEGER NOT NULL,
  estimated BOOLEAN NOT NULL, PRIMARY KEY (meter_id, channel, ts));
CREATE TABLE quarantine (
  meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL, verdict TEXT NOT NULL, value_key TEXT NOT NULL,
  value DOUBLE PRECISION, raw_value TEXT NOT NULL, reason TEXT NOT NULL, source TEXT NOT NULL,
  received_at BIGINT NOT NULL, PRIMARY KEY (meter_id, channel, ts, verdict, value_key));
CREATE INDEX quarantine_by_ts ON quarantine (ts, meter_id);
CREATE INDEX quarantine_by_meter_ts ON quarantine (meter_id, ts);
CREATE TABLE reading_events (
  meter_id TEXT NOT NULL, ts_from BIGINT NOT NULL, ts_to BIGINT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
  PRIMARY KEY (meter_id, ts_from, ts_to, kind, detail));
CREATE TABLE meter_state (meter_id TEXT PRIMARY KEY, state BYTEA NOT NULL);
CREATE TABLE reading_versions (
  meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL, version INTEGER NOT NULL,
  value DOUBLE PRECISION NOT NULL, consumption DOUBLE PRECISION NOT NULL, source TEXT NOT NULL, quality TEXT NOT NULL,
  replaced_at BIGINT NOT NULL, replaced_by TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (meter_id, channel, ts, version));
CREATE TABLE reading_estimates (
  meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL, method TEXT NOT NULL, inputs TEXT NOT NULL,
  estimated_by TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (meter_id, channel, ts));
CREATE TABLE alerts (
  id BIGSERIAL PRIMARY KEY, meter_id TEXT NOT NULL, terminal_id TEXT NOT NULL, period_start BIGINT NOT NULL,
  ts BIGINT NOT NULL, reading DOUBLE PRECISION NOT NULL, period_consumption DOUBLE PRECISION NOT NULL,
  threshold DOUBLE PRECISION NOT NULL, excess DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL,
  UNIQUE (meter_id, terminal_id, period_start, ts));
CREATE INDEX alerts_by_meter_created ON alerts (meter_id, created_at);
CREATE INDEX alerts_by_created ON alerts (created_at);
CREATE TABLE deliveries (
  id BIGSERIAL PRIMARY KEY, alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
  meter_id TEXT NOT NULL, terminal_id TEXT NOT NULL, channel TEXT NOT NULL, address TEXT NOT NULL, content TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')), attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL, last_error TEXT NOT NULL, updated_at BIGINT NOT NULL,
  round_started_at BIGINT NOT NULL DEFAULT 0, round_base INTEGER NOT NULL DEFAULT 0);
CREATE INDEX deliveries_by_alert ON deliveries (alert_id);
CREATE INDEX deliveries_by_meter ON deliveries (meter_id, id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_failed ON deliveries (updated_at, id) WHERE status = 'failed';
CREATE TABLE delivery_attempts (
  delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE, attempt INTEGER NOT NULL,
  at_ms BIGINT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')), error TEXT NOT NULL,
  PRIMARY KEY (delivery_id, attempt));
CREATE TABLE delivery_requeues (
  id BIGSERIAL PRIMARY KEY, delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  at_ms BIGINT NOT NULL, after_attempts INTEGER NOT NULL, requested_by TEXT NOT NULL);
CREATE INDEX delivery_requeues_by_delivery ON delivery_requeues (delivery_id, id);
CREATE TABLE api_tokens (
  token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, customer_id TEXT NOT NULL,
  created_at BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE users (
  username TEXT PRIMARY KEY, role TEXT NOT NULL, customer_id TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE sessions (
  session_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL, token_sha256 TEXT NOT NULL, created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL);
CREATE INDEX sessions_by_user ON sessions (username) WHERE username <> '';
CREATE INDEX sessions_by_token ON sessions (token_sha256) WHERE token_sha256 <> '';
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE relay_meters (
  meter_id TEXT PRIMARY KEY, region_code TEXT NOT NULL, position_code TEXT NOT NULL, region_name TEXT NOT NULL,
  device_key_hex TEXT NOT NULL, registered_at BIGINT NOT NULL);
CREATE INDEX relay_meters_by_region ON relay_meters (region_code, position_code);
CREATE TABLE relay_level_reports (
  meter_id TEXT NOT NULL, sub_period INTEGER NOT NULL, region_code TEXT NOT NULL, level INTEGER NOT NULL,
  reported_at BIGINT NOT NULL, PRIMARY KEY (meter_id, sub_period));
CREATE INDEX relay_level_reports_by_region ON relay_level_reports (region_code);
CREATE TABLE relay_region_keys (
  region_code TEXT NOT NULL, key_id INTEGER NOT NULL CHECK (key_id BETWEEN 1 AND 255), key_hex TEXT NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (region_code, key_id));
CREATE TABLE relay_batches (
  digest_hex TEXT PRIMARY KEY, origin_meter_id TEXT NOT NULL, relay_meter_id TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'unknown_origin')), readings BIGINT NOT NULL,
  copies BIGINT NOT NULL, received_at BIGINT NOT NULL, failure_code INTEGER CHECK (failure_code BETWEEN 0 AND 65535));
CREATE INDEX relay_batches_by_relay ON relay_batches (relay_meter_id, received_at);
CREATE INDEX relay_batches_by_origin ON relay_batches (origin_meter_id, received_at);
CREATE TABLE relay_outcomes (
  meter_id TEXT NOT NULL, night BIGINT NOT NULL, region_code TEXT NOT NULL, uplink_attempts BIGINT NOT NULL,
  uplink_failures BIGINT NOT NULL, uplink_failure_codes TEXT NOT NULL, relay_attempts BIGINT NOT NULL,
  relay_failures BIGINT NOT NULL, delivered_via_relay BIGINT NOT NULL, aged_out BIGINT NOT NULL, queued BIGINT NOT NULL,
  relays_json TEXT NOT NULL, received_at BIGINT NOT NULL, PRIMARY KEY (meter_id, night));
CREATE INDEX relay_outcomes_by_region ON relay_outcomes (region_code, night);
CREATE TABLE relay_work_orders (
  id BIGSERIAL PRIMARY KEY, meter_id TEXT NOT NULL, first_night BIGINT NOT NULL, last_night BIGINT NOT NULL,
  nights BIGINT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('open', 'sent', 'failed')),
  attempts BIGINT NOT NULL, last_error TEXT NOT NULL, opened_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (meter_id, first_night));
CREATE INDEX relay_work_orders_by_state ON relay_work_orders (state, id);
)sql";

// Per session: where a batch's readings and states are COPY'd before one merge into the tables.
// Schema 10 (PostgreSQL only; SQLite stays one worker owning every shard): the scale-out's
// leases (SPEC 7, docs/scale.md). One row per shard, present from the start (worker_id '' =
// unowned); `epoch` grows at every change of hands and fences the commits of a former owner.
// `workers` is the heartbeat that tells the live workers, hence each one's fair share.
inline constexpr char kClusterSchema[] = R"sql(
CREATE TABLE shard_leases (
  shard INTEGER PRIMARY KEY, worker_id TEXT NOT NULL DEFAULT '', expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  epoch BIGINT NOT NULL DEFAULT 0);
INSERT INTO shard_leases (shard) SELECT generate_series(0, 63);
CREATE TABLE workers (worker_id TEXT PRIMARY KEY, expires_at TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE singleton_leases (
  job TEXT PRIMARY KEY, worker_id TEXT NOT NULL DEFAULT '', expires_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
  epoch BIGINT NOT NULL DEFAULT 0);
)sql";

// Schema 11 (issue 18): how much of an alert's period consumption came from estimated intervals;
// an alert stored before it had none counted (0).
inline constexpr char kAlertEstimatesSchema[] = R"sql(
ALTER TABLE alerts ADD COLUMN estimated_consumption DOUBLE PRECISION NOT NULL DEFAULT 0;
)sql";

// Schema 12: where each worker's HTTP API listens ("host:port"), so a worker can forward posted
// readings of a shard it does not own to the owner (docs/scale.md).
inline constexpr char kWorkersListenSchema[] = "ALTER TABLE workers ADD COLUMN listen TEXT NOT NULL DEFAULT '';";

// Schema 13: the meters behind a gateway, which the TCP gateway reads when a
// DTU registers and on its poll cycle (issue 16).
inline constexpr char kGatewayIndex[] = R"sql(
CREATE INDEX meters_by_gateway ON meters (gateway) WHERE gateway <> '';
)sql";

// The fence of a commit: the rows of the leases ($2 shards, $3 their epochs) that worker $1
// still holds, locked against a takeover until the commit ends.
inline constexpr Statement kCheckLeases{"st_check_leases",
    "SELECT l.shard FROM shard_leases l JOIN unnest($2::int[], $3::bigint[]) AS h(shard, epoch) "
    "ON l.shard = h.shard AND l.epoch = h.epoch WHERE l.worker_id = $1 AND l.expires_at > now() FOR SHARE OF l"};

inline constexpr char kStagingTables[] = R"sql(
CREATE TEMP TABLE staged_readings (LIKE readings) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE staged_states (LIKE meter_state) ON COMMIT DELETE ROWS;
)sql";
inline constexpr char kCopyReadings[] =
    "COPY staged_readings (meter_id, channel, ts, value, consumption, source, quality, version, estimated) FROM STDIN";
inline constexpr char kCopyReadingsDirect[] =
    "COPY readings (meter_id, channel, ts, value, consumption, source, quality, version, estimated) FROM STDIN";
inline constexpr char kCopyMeters[] =
    "COPY meters (meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at,"
    " group_name, timezone, protocol, address, gateway, billing_channel) FROM STDIN";
inline constexpr char kCopyStates[] = "COPY staged_states (meter_id, state) FROM STDIN";

#define MH_PG_METER_COLUMNS \
  "meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at, group_name, timezone," \
  " protocol, address, gateway, billing_channel"
#define MH_PG_READING_COLUMNS "meter_id, channel, ts, value, consumption, source, quality, version, estimated"
#define MH_PG_QUARANTINE_COLUMNS "meter_id, channel, ts, value, raw_value, verdict, reason, source, received_at"
#define MH_PG_DELIVERY_COLUMNS                                                                         \
  "id, alert_id, meter_id, terminal_id, channel, address, content, status, attempts, next_attempt_at," \
  " last_error, updated_at, round_started_at, round_base"
#define MH_PG_ALERT_COLUMNS \
  "id, meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold, excess, created_at," \
  " estimated_consumption"
#define MH_PG_RELAY_BATCH_COLUMNS \
  "digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at, failure_code"
#define MH_PG_OUTCOME_SUMS                                                                                  \
  "SELECT count(*), count(DISTINCT meter_id), coalesce(sum(uplink_attempts), 0)::bigint,"                   \
  " coalesce(sum(uplink_failures), 0)::bigint,"                                                             \
  " count(*) FILTER (WHERE uplink_attempts > 0 AND uplink_failures = uplink_attempts),"                     \
  " coalesce(sum(relay_attempts), 0)::bigint, coalesce(sum(relay_failures), 0)::bigint,"                    \
  " coalesce(sum(delivered_via_relay), 0)::bigint, coalesce(sum(aged_out), 0)::bigint FROM relay_outcomes"
#define MH_PG_TOKEN_COLUMNS "token_sha256, name, role, customer_id, created_at, expires_at, revoked_at"
#define MH_PG_SEARCH_WHERE                                                                                    \
  " FROM meters m LEFT JOIN relay_meters r ON r.meter_id = m.meter_id"                                        \
  " WHERE ($1 = '' OR m.customer_id = $1) AND ($2 = '' OR m.kind = $2)"                                       \
  " AND ($3 = '' OR coalesce(r.region_code, '') = $3)"                                                        \
  " AND ($4 = '' OR strpos(lower(m.meter_id), lower($4)) > 0 OR strpos(lower(m.customer_id), lower($4)) > 0)"

// --- meters and terminals ---
inline constexpr Statement kRegisterMeter{"st_register_meter",
    "INSERT INTO meters (" MH_PG_METER_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    " ON CONFLICT (meter_id) DO NOTHING"};
inline constexpr Statement kUpsertMeter{"st_upsert_meter",
    "INSERT INTO meters (" MH_PG_METER_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    " ON CONFLICT (meter_id) DO UPDATE SET kind = excluded.kind, customer_id = excluded.customer_id,"
    " tz_offset_s = excluded.tz_offset_s, interval_s = excluded.interval_s, register_max = excluded.register_max,"
    " customer_t1 = excluded.customer_t1, created_at = excluded.created_at, group_name = excluded.group_name,"
    " timezone = excluded.timezone, protocol = excluded.protocol, address = excluded.address,"
    " gateway = excluded.gateway, billing_channel = excluded.billing_channel"};
inline constexpr Statement kFindMeterByAddress{"st_find_meter_by_address",
    "SELECT " MH_PG_METER_COLUMNS " FROM meters WHERE protocol = $1 AND address = $2 AND address <> ''"};
inline constexpr Statement kMetersBehindGateway{"st_meters_behind_gateway",
    "SELECT " MH_PG_METER_COLUMNS " FROM meters WHERE gateway = $1 AND gateway <> '' AND protocol <> '' ORDER BY meter_id"};
inline constexpr Statement kGetMeter{"st_get_meter", "SELECT " MH_PG_METER_COLUMNS " FROM meters WHERE meter_id = $1"};
inline constexpr Statement kGetMeters{"st_get_meters",
    "SELECT " MH_PG_METER_COLUMNS " FROM meters WHERE meter_id = ANY ($1::text[])"};
inline constexpr Statement kListMeters{"st_list_meters",
    "SELECT " MH_PG_METER_COLUMNS " FROM meters WHERE ($1 = '' OR customer_id = $1) ORDER BY meter_id LIMIT $2 OFFSET $3"};
inline constexpr Statement kCountMeters{"st_count_meters", "SELECT count(*) FROM meters"};
inline constexpr Statement kSetCustomerThreshold{"st_set_customer_t1", "UPDATE meters SET customer_t1 = $2 WHERE meter_id = $1"};
// A meter that is not registered binds nothing (0 rows: NotFound), instead of a foreign-key error.
inline constexpr Statement kBindTerminal{"st_bind_terminal",
    "INSERT INTO terminals (meter_id, terminal_id, channel, address) SELECT $1::text, $2::text, $3::text, $4::text"
    " WHERE EXISTS (SELECT 1 FROM meters WHERE meter_id = $1)"
    " ON CONFLICT (meter_id, terminal_id) DO UPDATE SET channel = excluded.channel, address = excluded.address"};
inline constexpr Statement kUnbindTerminal{"st_unbind_terminal", "DELETE FROM terminals WHERE meter_id = $1 AND terminal_id = $2"};
inline constexpr Statement kListTerminals{"st_list_terminals",
    "SELECT terminal_id, meter_id, channel, address FROM terminals WHERE meter_id = $1 ORDER BY terminal_id"};
inline constexpr Statement kTerminalsOf{"st_terminals_of",
    "SELECT terminal_id, meter_id, channel, address FROM terminals WHERE meter_id = ANY ($1::text[])"
    " ORDER BY meter_id, terminal_id"};

// --- the ingest write path ---
// The batch's last row per key wins (the caller dedups staged rows), sorted by key for locality.
inline constexpr Statement kMergeReadings{"st_merge_readings",
    "INSERT INTO readings (" MH_PG_READING_COLUMNS ") SELECT " MH_PG_READING_COLUMNS " FROM staged_readings"
    " ORDER BY meter_id, channel, ts ON CONFLICT (meter_id, channel, ts) DO UPDATE SET value = excluded.value,"
    " consumption = excluded.consumption, source = excluded.source, quality = excluded.quality,"
    " version = excluded.version, estimated = excluded.estimated"};
inline constexpr Statement kMergeStates{"st_merge_states",
    "INSERT INTO meter_state (meter_id, state) SELECT meter_id, state FROM staged_states ORDER BY meter_id"
    " ON CONFLICT (meter_id) DO UPDATE SET state = excluded.state"};
inline constexpr Statement kInsertQuarantine{"st_insert_quarantine",
    "INSERT INTO quarantine (meter_id, channel, ts, verdict, value_key, value, raw_value, reason, source, received_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"};
inline constexpr Statement kRemoveAccepted{"st_remove_accepted",
    "DELETE FROM readings WHERE meter_id = $1 AND channel = $2 AND ts = $3"};
inline constexpr Statement kDeleteRejudged{"st_delete_rejudged",
    "DELETE FROM quarantine WHERE meter_id = $1 AND channel = $2 AND ts = $3 AND verdict IN ('error', 'sudden')"};
inline constexpr Statement kInsertEvent{"st_insert_event",
    "INSERT INTO reading_events (meter_id, ts_from, ts_to, kind, detail) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT DO NOTHING"};
inline constexpr Statement kInsertVersion{"st_insert_version",
    "INSERT INTO reading_versions (meter_id, channel, ts, version, value, consumption, source, quality, replaced_at,"
    " replaced_by, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"};
// An alert already stored (a re-committed batch) inserts nothing, so neither does its delivery.
inline constexpr Statement kInsertAlert{"st_insert_alert",
    "WITH a AS (INSERT INTO alerts (meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold,"
    " excess, created_at, estimated_consumption) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $19)"
    " ON CONFLICT DO NOTHING RETURNING id)"
    " INSERT INTO deliveries (alert_id, meter_id, terminal_id, channel, address, content, status, attempts,"
    " next_attempt_at, last_error, updated_at) SELECT id, $1, $10::text, $11::text, $12::text, $13::text, $14::text, $15::int, $16::bigint, $17::text,"
    " $18::bigint FROM a"};
inline constexpr Statement kStatesOf{"st_states_of",
    "SELECT meter_id, state FROM meter_state WHERE meter_id = ANY ($1::text[])"};
// Assigns a transaction id, so COMMIT writes (and, synchronous, flushes) WAL: everything an
// asynchronous commit wrote before is durable once it returns.
inline constexpr Statement kFlush{"st_flush", "SELECT pg_current_xact_id()::text"};

// --- reads ---
inline constexpr Statement kQueryReadings{"st_query_readings",
    "SELECT " MH_PG_READING_COLUMNS " FROM readings WHERE meter_id = $1 AND channel = $2 AND ts >= $3 AND ts <= $4"
    " ORDER BY ts LIMIT $5"};
inline constexpr Statement kLastReading{"st_last_reading",
    "SELECT " MH_PG_READING_COLUMNS " FROM readings WHERE meter_id = $1 AND channel = $2 AND ts <= $3"
    " ORDER BY ts DESC LIMIT 1"};
inline constexpr Statement kGetReading{"st_get_reading",
    "SELECT " MH_PG_READING_COLUMNS " FROM readings WHERE meter_id = $1 AND channel = $2 AND ts = $3"};
inline constexpr Statement kListVersions{"st_list_versions",
    "SELECT meter_id, channel, ts, version, value, consumption, source, quality, replaced_at, replaced_by, reason"
    " FROM reading_versions WHERE meter_id = $1 AND channel = $2 AND ts = $3 ORDER BY version"};
inline constexpr Statement kInsertEstimate{"st_insert_estimate",
    "INSERT INTO reading_estimates (meter_id, channel, ts, method, inputs, estimated_by, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (meter_id, channel, ts) DO UPDATE SET method = excluded.method,"
    " inputs = excluded.inputs, estimated_by = excluded.estimated_by, created_at = excluded.created_at"};
inline constexpr Statement kGetEstimate{"st_get_estimate",
    "SELECT meter_id, channel, ts, method, inputs, estimated_by, created_at"
    " FROM reading_estimates WHERE meter_id = $1 AND channel = $2 AND ts = $3"};
inline constexpr Statement kQueryQuarantineOfMeter{"st_quarantine_of_meter",
    "SELECT " MH_PG_QUARANTINE_COLUMNS " FROM quarantine WHERE meter_id = $1 AND ts >= $2 AND ts <= $3"
    " ORDER BY ts, channel, verdict, value_key LIMIT $4"};
inline constexpr Statement kQueryQuarantine{"st_quarantine",
    "SELECT " MH_PG_QUARANTINE_COLUMNS " FROM quarantine WHERE ts >= $1 AND ts <= $2"
    " ORDER BY ts, meter_id, channel, verdict, value_key LIMIT $3"};
inline constexpr Statement kQueryEvents{"st_query_events",
    "SELECT meter_id, ts_from, ts_to, kind, detail FROM reading_events WHERE meter_id = $1 AND ts_from <= $3"
    " AND ts_to >= $2 ORDER BY ts_from, ts_to, kind LIMIT $4"};
inline constexpr Statement kCountReadings{"st_count_readings", "SELECT count(*) FROM readings"};
inline constexpr Statement kCountQuarantine{"st_count_quarantine", "SELECT count(*) FROM quarantine"};
// An estimate is current until a version of it is kept (superseded by an actual, or corrected).
inline constexpr Statement kCountEstimates{"st_count_estimates",
    "SELECT count(*) FROM reading_estimates e WHERE NOT EXISTS (SELECT 1 FROM reading_versions v"
    " WHERE v.meter_id = e.meter_id AND v.channel = e.channel AND v.ts = e.ts)"};

// --- alerts and deliveries ---
inline constexpr Statement kListAlerts{"st_list_alerts",
    "SELECT " MH_PG_ALERT_COLUMNS " FROM alerts WHERE ($1 = '' OR meter_id = $1) AND created_at >= $2"
    " AND created_at <= $3 ORDER BY created_at, id LIMIT $4"};
inline constexpr Statement kCountAlerts{"st_count_alerts",
    "SELECT count(*) FROM alerts WHERE meter_id = $1 AND terminal_id = $2 AND period_start = $3"};
inline constexpr Statement kListDeliveries{"st_list_deliveries",
    "SELECT " MH_PG_DELIVERY_COLUMNS " FROM deliveries WHERE ($1 = 0 OR alert_id = $1) AND ($2 = '' OR meter_id = $2)"
    " ORDER BY id LIMIT $3"};
inline constexpr Statement kDueDeliveries{"st_due_deliveries",
    "SELECT " MH_PG_DELIVERY_COLUMNS " FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1"
    " ORDER BY next_attempt_at, id LIMIT $2"};
inline constexpr Statement kUpdateDelivery{"st_update_delivery",
    "UPDATE deliveries SET terminal_id = $2, channel = $3, address = $4, content = $5, status = $6, attempts = $7,"
    " next_attempt_at = $8, last_error = $9, updated_at = $10, round_started_at = $11, round_base = $12 WHERE id = $1"};
inline constexpr Statement kRecordAttempt{"st_record_attempt",
    "INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, status, error) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (delivery_id, attempt) DO UPDATE SET at_ms = excluded.at_ms, status = excluded.status,"
    " error = excluded.error"};
inline constexpr Statement kListAttempts{"st_list_attempts",
    "SELECT delivery_id, attempt, at_ms, status, error FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt"};
inline constexpr Statement kClaimDelivery{"st_claim_delivery",
    "UPDATE deliveries SET next_attempt_at = $3 WHERE id = $1 AND status = 'pending' AND next_attempt_at = $2"};
// The fence of a delivery claim: the row of singleton job $2 that worker $1 holds under epoch $3,
// locked against a takeover until the claim commits.
inline constexpr Statement kCheckJobLease{"st_check_job_lease",
    "SELECT 1 FROM singleton_leases WHERE job = $2 AND worker_id = $1 AND epoch = $3 AND expires_at > now() FOR SHARE"};
inline constexpr Statement kGetDelivery{"st_get_delivery", "SELECT " MH_PG_DELIVERY_COLUMNS " FROM deliveries WHERE id = $1"};
inline constexpr Statement kFailedForRequeue{"st_failed_for_requeue",
    "SELECT id, attempts FROM deliveries WHERE status = 'failed' AND ($1 = 0 OR id = $1) AND ($2 = '' OR meter_id = $2)"
    " AND updated_at >= $3 ORDER BY id LIMIT $4 FOR UPDATE"};
inline constexpr Statement kRequeueDelivery{"st_requeue_delivery",
    "UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2, round_started_at = 0,"
    " round_base = attempts WHERE id = $1 AND status = 'failed'"};
inline constexpr Statement kRecordRequeue{"st_record_requeue",
    "INSERT INTO delivery_requeues (delivery_id, at_ms, after_attempts, requested_by) VALUES ($1, $2, $3, $4)"};
inline constexpr Statement kListRequeues{"st_list_requeues",
    "SELECT delivery_id, at_ms, after_attempts, requested_by FROM delivery_requeues WHERE delivery_id = $1 ORDER BY id"};

// --- relay ---
inline constexpr Statement kUpsertRelayMeter{"st_upsert_relay_meter",
    "INSERT INTO relay_meters (meter_id, region_code, position_code, region_name, device_key_hex, registered_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (meter_id) DO UPDATE SET region_code = excluded.region_code,"
    " position_code = excluded.position_code, region_name = excluded.region_name,"
    " device_key_hex = excluded.device_key_hex, registered_at = excluded.registered_at"};
inline constexpr Statement kGetRelayMeter{"st_get_relay_meter",
    "SELECT meter_id, region_code, position_code, region_name, device_key_hex, registered_at FROM relay_meters"
    " WHERE meter_id = $1"};
inline constexpr Statement kListRelayMeters{"st_list_relay_meters",
    "SELECT meter_id, region_code, position_code, region_name, device_key_hex, registered_at FROM relay_meters"
    " WHERE $1 = '' OR region_code = $1 ORDER BY region_code, position_code, meter_id"};
inline constexpr Statement kDeleteLevelReports{"st_delete_level_reports", "DELETE FROM relay_level_reports WHERE meter_id = $1"};
inline constexpr Statement kInsertLevelReport{"st_insert_level_report",
    "INSERT INTO relay_level_reports (meter_id, sub_period, region_code, level, reported_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (meter_id, sub_period) DO UPDATE SET region_code = excluded.region_code, level = excluded.level,"
    " reported_at = excluded.reported_at"};
inline constexpr Statement kListLevelReports{"st_list_level_reports",
    "SELECT meter_id, region_code, sub_period, level, reported_at FROM relay_level_reports WHERE region_code = $1"
    " ORDER BY meter_id, sub_period"};
inline constexpr Statement kInsertRegionKey{"st_insert_region_key",
    "INSERT INTO relay_region_keys (region_code, key_id, key_hex, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT DO NOTHING"};
inline constexpr Statement kListRegionKeys{"st_list_region_keys",
    "SELECT region_code, key_id, key_hex, created_at FROM relay_region_keys WHERE region_code = $1"
    " ORDER BY created_at DESC, key_id DESC"};
inline constexpr Statement kDeleteRegionKey{"st_delete_region_key",
    "DELETE FROM relay_region_keys WHERE region_code = $1 AND key_id = $2"};
// One statement: a digest seen before counts one more copy (and returns false).
inline constexpr Statement kRecordRelayBatch{"st_record_relay_batch",
    "INSERT INTO relay_batches (" MH_PG_RELAY_BATCH_COLUMNS ") VALUES ($1, $2, $3, $4, $5, 1, $6, $7)"
    " ON CONFLICT (digest_hex) DO UPDATE SET copies = relay_batches.copies + 1 RETURNING (xmax = 0)"};
inline constexpr Statement kSumRelayBatches{"st_sum_relay_batches",
    "SELECT count(*) FILTER (WHERE outcome = 'accepted'), count(*) FILTER (WHERE outcome = 'rejected'),"
    " count(*) FILTER (WHERE outcome = 'unknown_origin'), coalesce(sum(copies - 1), 0)::bigint,"
    " coalesce(sum(readings) FILTER (WHERE outcome = 'accepted'), 0)::bigint FROM relay_batches"};
inline constexpr Statement kListRelayBatches{"st_list_relay_batches",
    "SELECT " MH_PG_RELAY_BATCH_COLUMNS " FROM relay_batches WHERE $1 = '' OR relay_meter_id = $1"
    " ORDER BY received_at DESC, digest_hex LIMIT $2"};
inline constexpr Statement kListRelayBatchesFrom{"st_list_relay_batches_from",
    "SELECT " MH_PG_RELAY_BATCH_COLUMNS " FROM relay_batches WHERE origin_meter_id = $1"
    " ORDER BY received_at DESC, digest_hex LIMIT $2"};
inline constexpr Statement kInsertRelayOutcome{"st_insert_relay_outcome",
    "INSERT INTO relay_outcomes (meter_id, night, region_code, uplink_attempts, uplink_failures, uplink_failure_codes,"
    " relay_attempts, relay_failures, delivered_via_relay, aged_out, queued, relays_json, received_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (meter_id, night) DO NOTHING"};
inline constexpr Statement kListRelayOutcomes{"st_list_relay_outcomes",
    "SELECT meter_id, region_code, night, uplink_attempts, uplink_failures, uplink_failure_codes, relay_attempts,"
    " relay_failures, delivered_via_relay, aged_out, queued, relays_json, received_at FROM relay_outcomes"
    " WHERE meter_id = $1 AND night <= $2 ORDER BY night DESC LIMIT $3"};
inline constexpr Statement kSumRelayOutcomes{"st_sum_relay_outcomes", MH_PG_OUTCOME_SUMS " WHERE $1 = '' OR region_code = $1"};
inline constexpr Statement kInsertRelayWorkOrder{"st_insert_relay_work_order",
    "INSERT INTO relay_work_orders (meter_id, first_night, last_night, nights, content, state, attempts, last_error,"
    " opened_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (meter_id, first_night) DO NOTHING RETURNING id"};
inline constexpr Statement kUpdateRelayWorkOrder{"st_update_relay_work_order",
    "UPDATE relay_work_orders SET state = $2, attempts = $3, last_error = $4, updated_at = $5 WHERE id = $1"};
inline constexpr Statement kListRelayWorkOrders{"st_list_relay_work_orders",
    "SELECT id, meter_id, first_night, last_night, nights, content, state, attempts, last_error, opened_at, updated_at"
    " FROM relay_work_orders WHERE ($1 = '' OR meter_id = $1) AND ($2 = '' OR state = $2) ORDER BY id DESC LIMIT $3"};

// --- tokens, users, sessions ---
inline constexpr Statement kPutToken{"st_put_token",
    "INSERT INTO api_tokens (" MH_PG_TOKEN_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
    " ON CONFLICT (token_sha256) DO UPDATE SET name = excluded.name, role = excluded.role,"
    " customer_id = excluded.customer_id, created_at = excluded.created_at, expires_at = excluded.expires_at,"
    " revoked_at = excluded.revoked_at"};
inline constexpr Statement kFindToken{"st_find_token", "SELECT " MH_PG_TOKEN_COLUMNS " FROM api_tokens WHERE token_sha256 = $1"};
inline constexpr Statement kListTokens{"st_list_tokens",
    "SELECT " MH_PG_TOKEN_COLUMNS " FROM api_tokens ORDER BY created_at, token_sha256"};
inline constexpr Statement kRevokeToken{"st_revoke_token",
    "UPDATE api_tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN $2 ELSE revoked_at END WHERE token_sha256 = $1"};
inline constexpr Statement kDeleteSessionsOfToken{"st_delete_sessions_of_token",
    "DELETE FROM sessions WHERE token_sha256 = $1 AND token_sha256 <> ''"};
inline constexpr Statement kAddUser{"st_add_user",
    "INSERT INTO users (username, role, customer_id, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT DO NOTHING"};
inline constexpr Statement kGetUser{"st_get_user",
    "SELECT username, role, customer_id, password_hash, created_at FROM users WHERE username = $1"};
inline constexpr Statement kListUsers{"st_list_users",
    "SELECT username, role, customer_id, password_hash, created_at FROM users ORDER BY username"};
inline constexpr Statement kDeleteUser{"st_delete_user", "DELETE FROM users WHERE username = $1"};
inline constexpr Statement kDeleteSessionsOfUser{"st_delete_sessions_of_user",
    "DELETE FROM sessions WHERE username = $1 AND username <> ''"};
inline constexpr Statement kPutSession{"st_put_session",
    "INSERT INTO sessions (session_sha256, username, token_sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (session_sha256) DO UPDATE SET username = excluded.username, token_sha256 = excluded.token_sha256,"
    " created_at = excluded.created_at, expires_at = excluded.expires_at"};
inline constexpr Statement kFindSession{"st_find_session",
    "SELECT session_sha256, username, token_sha256, created_at, expires_at FROM sessions WHERE session_sha256 = $1"};
inline constexpr Statement kDeleteSession{"st_delete_session", "DELETE FROM sessions WHERE session_sha256 = $1"};
inline constexpr Statement kDeleteExpiredSessions{"st_delete_expired_sessions", "DELETE FROM sessions WHERE expires_at <= $1"};

// --- the fleet view ---
inline constexpr Statement kSearchMeters{"st_search_meters",
    "SELECT m.meter_id, m.kind, m.customer_id, m.tz_offset_s, m.interval_s, m.register_max, m.customer_t1,"
    " m.created_at, m.group_name, m.timezone, m.protocol, m.address, m.gateway, m.billing_channel" MH_PG_SEARCH_WHERE " AND m.meter_id > $7 ORDER BY m.meter_id"
    " LIMIT $5 OFFSET $6"};
inline constexpr Statement kCountSearchMeters{"st_count_search_meters", "SELECT count(*)" MH_PG_SEARCH_WHERE};
inline constexpr Statement kCountMetersByKind{"st_count_by_kind", "SELECT kind, count(*) FROM meters GROUP BY kind ORDER BY kind"};
inline constexpr Statement kCountMetersByRegion{"st_count_by_region",
    "SELECT coalesce(r.region_code, ''), count(*) FROM meters m LEFT JOIN relay_meters r ON r.meter_id = m.meter_id"
    " GROUP BY 1 ORDER BY 1"};
inline constexpr Statement kCountMeterStates{"st_count_meter_states",
    "WITH alerted AS (SELECT DISTINCT a.meter_id FROM alerts a JOIN meters m ON m.meter_id = a.meter_id"
    "   WHERE a.created_at >= $1),"
    " quarantined AS (SELECT DISTINCT q.meter_id FROM quarantine q JOIN meters m ON m.meter_id = q.meter_id"
    "   WHERE q.ts >= $2 AND q.meter_id NOT IN (SELECT meter_id FROM alerted))"
    " SELECT 'alerted', count(*) FROM alerted UNION ALL SELECT 'quarantined', count(*) FROM quarantined"};
inline constexpr Statement kCountQuarantineByVerdict{"st_count_by_verdict",
    "SELECT verdict, count(*) FROM quarantine GROUP BY verdict ORDER BY verdict"};
inline constexpr Statement kCountDeliveriesByStatus{"st_count_by_status",
    "SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status"};
inline constexpr Statement kCountAlertsSince{"st_count_alerts_since", "SELECT count(*) FROM alerts WHERE created_at >= $1"};

// The writer's own: they read its session's staging tables.
inline const std::vector<Statement>& WriterStatements() {
  static const std::vector<Statement> writer = {kMergeReadings, kMergeStates, kCheckLeases, kCheckJobLease};
  return writer;
}

// Every other statement, prepared on each connection.
inline const std::vector<Statement>& AllStatements() {
  static const std::vector<Statement> all = {
      kRegisterMeter, kUpsertMeter, kFindMeterByAddress, kMetersBehindGateway, kGetMeter, kGetMeters, kListMeters, kCountMeters, kSetCustomerThreshold,
      kBindTerminal, kUnbindTerminal, kListTerminals, kTerminalsOf, kInsertQuarantine,
      kRemoveAccepted, kDeleteRejudged, kInsertEvent, kInsertVersion, kInsertEstimate, kInsertAlert, kStatesOf, kFlush,
      kQueryReadings, kLastReading, kGetReading, kListVersions, kGetEstimate, kQueryQuarantineOfMeter, kQueryQuarantine,
      kQueryEvents, kCountReadings, kCountQuarantine, kCountEstimates, kListAlerts, kCountAlerts, kListDeliveries,
      kDueDeliveries, kUpdateDelivery, kClaimDelivery, kRecordAttempt, kListAttempts, kGetDelivery, kFailedForRequeue,
      kRequeueDelivery,
      kRecordRequeue, kListRequeues, kUpsertRelayMeter, kGetRelayMeter, kListRelayMeters, kDeleteLevelReports,
      kInsertLevelReport, kListLevelReports, kInsertRegionKey, kListRegionKeys, kDeleteRegionKey, kRecordRelayBatch,
      kSumRelayBatches, kListRelayBatches, kListRelayBatchesFrom, kInsertRelayOutcome, kListRelayOutcomes,
      kSumRelayOutcomes, kInsertRelayWorkOrder, kUpdateRelayWorkOrder, kListRelayWorkOrders, kPutToken, kFindToken,
      kListTokens, kRevokeToken, kDeleteSessionsOfToken, kAddUser, kGetUser, kListUsers, kDeleteUser,
      kDeleteSessionsOfUser, kPutSession, kFindSession, kDeleteSession, kDeleteExpiredSessions, kSearchMeters,
      kCountSearchMeters, kCountMetersByKind, kCountMetersByRegion, kCountMeterStates, kCountQuarantineByVerdict,
      kCountDeliveriesByStatus, kCountAlertsSince};
  return all;
}

}  // namespace mh::store::pgsql
