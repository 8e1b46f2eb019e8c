#include "store/sqlite/store_db.h"

namespace mh::store::sqlite_db {

// Column order of every delivery SELECT (ReadDelivery in sqlite_store.cc reads them in this order).
#define MH_DELIVERY_COLUMNS                                                                            \
  "id, alert_id, meter_id, terminal_id, channel, address, content, status, attempts, next_attempt_at," \
  " last_error, updated_at, round_started_at, round_base"

// Switch rather than table so that -Wswitch flags a statement added to the enum but not here.
const char* SqlText(Sql id) {
  switch (id) {
    case Sql::kBegin: return "BEGIN IMMEDIATE";
    case Sql::kCommit: return "COMMIT";
    case Sql::kRollback: return "ROLLBACK";
    case Sql::kRegisterMeter:
      // Auto-registration inside an ingest batch: a meter registered meanwhile keeps its row.
      return "INSERT INTO meters (meter_id, kind, customer_id, tz_offset_s, interval_s, register_max,"
             " customer_t1, created_at, group_name, timezone, protocol, address, gateway, billing_channel)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
             " ON CONFLICT (meter_id) DO NOTHING";
    case Sql::kUpsertMeter:
      return "INSERT INTO meters (meter_id, kind, customer_id, tz_offset_s, interval_s, register_max,"
             " customer_t1, created_at, group_name, timezone, protocol, address, gateway, billing_channel)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
             " ON CONFLICT (meter_id) DO UPDATE SET kind = excluded.kind,"
             " customer_id = excluded.customer_id, tz_offset_s = excluded.tz_offset_s,"
             " interval_s = excluded.interval_s, register_max = excluded.register_max,"
             " customer_t1 = excluded.customer_t1, created_at = excluded.created_at,"
             " group_name = excluded.group_name, timezone = excluded.timezone, protocol = excluded.protocol,"
             " address = excluded.address, gateway = excluded.gateway, billing_channel = excluded.billing_channel";
    case Sql::kGetMeter:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at, group_name, timezone,"
             " protocol, address, gateway, billing_channel FROM meters WHERE meter_id = ?1";
    case Sql::kListMeters:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at, group_name, timezone,"
             " protocol, address, gateway, billing_channel FROM meters ORDER BY meter_id LIMIT ?1 OFFSET ?2";
    case Sql::kListMetersOfCustomer:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at, group_name, timezone,"
             " protocol, address, gateway, billing_channel FROM meters WHERE customer_id = ?1 ORDER BY meter_id LIMIT ?2 OFFSET ?3";
    case Sql::kCountMeters: return "SELECT count(*) FROM meters";
    case Sql::kFindMeterByAddress:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at,"
             " group_name, timezone, protocol, address, gateway, billing_channel FROM meters"
             " WHERE protocol = ?1 AND address = ?2 AND address <> ''";
    case Sql::kMetersBehindGateway:
      return "SELECT meter_id, kind, customer_id, tz_offset_s, interval_s, register_max, customer_t1, created_at,"
             " group_name, timezone, protocol, address, gateway, billing_channel FROM meters"
             " WHERE gateway = ?1 AND gateway <> '' AND protocol <> '' ORDER BY meter_id";
    case Sql::kSetCustomerThreshold: return "UPDATE meters SET customer_t1 = ?2 WHERE meter_id = ?1";
    case Sql::kBindTerminal:
      return "INSERT INTO terminals (meter_id, terminal_id, channel, address) VALUES (?1, ?2, ?3, ?4)"
             " ON CONFLICT (meter_id, terminal_id) DO UPDATE SET channel = excluded.channel,"
             " address = excluded.address";
    case Sql::kUnbindTerminal: return "DELETE FROM terminals WHERE meter_id = ?1 AND terminal_id = ?2";
    case Sql::kListTerminals:
      return "SELECT terminal_id, meter_id, channel, address FROM terminals WHERE meter_id = ?1"
             " ORDER BY terminal_id";
    case Sql::kInsertQuarantine:
      return "INSERT INTO quarantine (meter_id, channel, ts, verdict, value_key, value, raw_value, reason, source,"
             " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING";
    case Sql::kDeleteRejudged:
      return "DELETE FROM quarantine WHERE meter_id = ?1 AND channel = ?2 AND ts = ?3 AND verdict IN ('error', 'sudden')";
    case Sql::kInsertEvent:
      return "INSERT INTO reading_events (meter_id, ts_from, ts_to, kind, detail)"
             " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
    case Sql::kUpsertState:
      return "INSERT INTO meter_state (meter_id, state) VALUES (?1, ?2)"
             " ON CONFLICT (meter_id) DO UPDATE SET state = excluded.state";
    case Sql::kInsertAlert:
      return "INSERT INTO alerts (meter_id, terminal_id, period_start, ts, reading, period_consumption,"
             " threshold, excess, created_at, estimated_consumption)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
             " ON CONFLICT DO NOTHING RETURNING id";
    case Sql::kInsertDelivery:
      return "INSERT INTO deliveries (alert_id, meter_id, terminal_id, channel, address, content, status,"
             " attempts, next_attempt_at, last_error, updated_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    case Sql::kLoadState: return "SELECT state FROM meter_state WHERE meter_id = ?1";
    case Sql::kQueryQuarantineOfMeter:
      return "SELECT meter_id, channel, ts, value, raw_value, verdict, reason, source, received_at FROM quarantine"
             " WHERE meter_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts, channel, verdict, value_key LIMIT ?4";
    case Sql::kQueryQuarantine:
      return "SELECT meter_id, channel, ts, value, raw_value, verdict, reason, source, received_at FROM quarantine"
             " WHERE ts >= ?1 AND ts <= ?2 ORDER BY ts, meter_id, channel, verdict, value_key LIMIT ?3";
    case Sql::kQueryEvents:
      return "SELECT meter_id, ts_from, ts_to, kind, detail FROM reading_events"
             " WHERE meter_id = ?1 AND ts_from <= ?3 AND ts_to >= ?2 ORDER BY ts_from, ts_to, kind"
             " LIMIT ?4";
    case Sql::kCountQuarantine: return "SELECT count(*) FROM quarantine";
    // An estimate is current until a version of it is kept (superseded by an actual, or corrected).
    case Sql::kCountEstimates:
      return "SELECT count(*) FROM reading_estimates e WHERE NOT EXISTS (SELECT 1 FROM reading_versions v"
             " WHERE v.meter_id = e.meter_id AND v.channel = e.channel AND v.ts = e.ts)";
    case Sql::kListAlertsOfMeter:
      return "SELECT id, meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold,"
             " excess, created_at, estimated_consumption FROM alerts WHERE meter_id = ?1 AND created_at >= ?2"
             " AND created_at <= ?3 ORDER BY created_at, id LIMIT ?4";
    case Sql::kListAlerts:
      return "SELECT id, meter_id, terminal_id, period_start, ts, reading, period_consumption, threshold,"
             " excess, created_at, estimated_consumption FROM alerts WHERE created_at >= ?1 AND created_at <= ?2"
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
    case Sql::kClaimDelivery:
      return "UPDATE deliveries SET next_attempt_at = ?3 WHERE id = ?1 AND status = 'pending' AND next_attempt_at = ?2";
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
      return "INSERT INTO api_tokens (token_sha256, name, role, customer_id, created_at, expires_at, revoked_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (token_sha256) DO UPDATE SET name = excluded.name,"
             " role = excluded.role, customer_id = excluded.customer_id, created_at = excluded.created_at,"
             " expires_at = excluded.expires_at, revoked_at = excluded.revoked_at";
    case Sql::kFindToken:
      return "SELECT token_sha256, name, role, customer_id, created_at, expires_at, revoked_at FROM api_tokens"
             " WHERE token_sha256 = ?1";
    case Sql::kListTokens:
      return "SELECT token_sha256, name, role, customer_id, created_at, expires_at, revoked_at FROM api_tokens"
             " ORDER BY created_at, token_sha256";
    case Sql::kRevokeToken:
      return "UPDATE api_tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END"
             " WHERE token_sha256 = ?1";
    case Sql::kDeleteSessionsOfToken:
      return "DELETE FROM sessions WHERE token_sha256 = ?1 AND token_sha256 <> ''";
    case Sql::kAddUser:
      return "INSERT INTO users (username, role, customer_id, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
    case Sql::kGetUser:
      return "SELECT username, role, customer_id, password_hash, created_at FROM users WHERE username = ?1";
    case Sql::kListUsers:
      return "SELECT username, role, customer_id, password_hash, created_at FROM users ORDER BY username";
    case Sql::kDeleteUser: return "DELETE FROM users WHERE username = ?1";
    case Sql::kDeleteSessionsOfUser: return "DELETE FROM sessions WHERE username = ?1 AND username <> ''";
    case Sql::kPutSession:
      return "INSERT INTO sessions (session_sha256, username, token_sha256, created_at, expires_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session_sha256) DO UPDATE SET username = excluded.username,"
             " token_sha256 = excluded.token_sha256, created_at = excluded.created_at, expires_at = excluded.expires_at";
    case Sql::kFindSession:
      return "SELECT session_sha256, username, token_sha256, created_at, expires_at FROM sessions"
             " WHERE session_sha256 = ?1";
    case Sql::kDeleteSession: return "DELETE FROM sessions WHERE session_sha256 = ?1";
    case Sql::kDeleteExpiredSessions: return "DELETE FROM sessions WHERE expires_at <= ?1";
    case Sql::kSearchMeters:
      return "SELECT m.meter_id, m.kind, m.customer_id, m.tz_offset_s, m.interval_s, m.register_max, m.customer_t1,"
             " m.created_at, m.group_name, m.timezone, m.protocol, m.address, m.gateway, m.billing_channel"
             " FROM meters m LEFT JOIN relay_meters r ON r.meter_id = m.meter_id"
             " WHERE (?1 = '' OR m.customer_id = ?1) AND (?2 = '' OR m.kind = ?2)"
             " AND (?3 = '' OR coalesce(r.region_code, '') = ?3)"
             " AND (?4 = '' OR instr(lower(m.meter_id), lower(?4)) > 0 OR instr(lower(m.customer_id), lower(?4)) > 0)"
             " AND m.meter_id > ?7 ORDER BY m.meter_id LIMIT ?5 OFFSET ?6";
    case Sql::kCountSearchMeters:
      return "SELECT count(*) FROM meters m LEFT JOIN relay_meters r ON r.meter_id = m.meter_id"
             " WHERE (?1 = '' OR m.customer_id = ?1) AND (?2 = '' OR m.kind = ?2)"
             " AND (?3 = '' OR coalesce(r.region_code, '') = ?3)"
             " AND (?4 = '' OR instr(lower(m.meter_id), lower(?4)) > 0 OR instr(lower(m.customer_id), lower(?4)) > 0)";
    case Sql::kCountMetersByKind: return "SELECT kind, count(*) FROM meters GROUP BY kind ORDER BY kind";
    case Sql::kCountMetersByRegion:
      return "SELECT coalesce(r.region_code, ''), count(*) FROM meters m LEFT JOIN relay_meters r"
             " ON r.meter_id = m.meter_id GROUP BY 1 ORDER BY 1";
    case Sql::kCountMeterStates:
      // Meters with an alert since ?1, and meters with a quarantined reading since ?2 but no such alert.
      return "WITH alerted AS (SELECT DISTINCT a.meter_id FROM alerts a JOIN meters m ON m.meter_id = a.meter_id"
             "   WHERE a.created_at >= ?1),"
             " quarantined AS (SELECT DISTINCT q.meter_id FROM quarantine q JOIN meters m ON m.meter_id = q.meter_id"
             "   WHERE q.ts >= ?2 AND q.meter_id NOT IN (SELECT meter_id FROM alerted))"
             " SELECT 'alerted', count(*) FROM alerted UNION ALL SELECT 'quarantined', count(*) FROM quarantined";
    case Sql::kCountQuarantineByVerdict:
      return "SELECT verdict, count(*) FROM quarantine GROUP BY verdict ORDER BY verdict";
    case Sql::kCountDeliveriesByStatus:
      return "SELECT status, count(*) FROM deliveries GROUP BY status ORDER BY status";
    case Sql::kCountAlertsSince: return "SELECT 'alerts', count(*) FROM alerts WHERE created_at >= ?1";
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
             " received_at, failure_code) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7) ON CONFLICT (digest_hex) DO NOTHING";
    case Sql::kCountRelayBatchCopy: return "UPDATE relay_batches SET copies = copies + 1 WHERE digest_hex = ?1";
    case Sql::kSumRelayBatches:
      return "SELECT coalesce(sum(outcome = 'accepted'), 0), coalesce(sum(outcome = 'rejected'), 0),"
             " coalesce(sum(outcome = 'unknown_origin'), 0), coalesce(sum(copies - 1), 0),"
             " coalesce(sum(CASE WHEN outcome = 'accepted' THEN readings ELSE 0 END), 0) FROM relay_batches";
    case Sql::kListRelayBatches:
      return "SELECT digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at, failure_code"
             " FROM relay_batches ORDER BY received_at DESC, digest_hex LIMIT ?1";
    case Sql::kListRelayBatchesOfRelay:
      return "SELECT digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at, failure_code"
             " FROM relay_batches WHERE relay_meter_id = ?1 ORDER BY received_at DESC, digest_hex LIMIT ?2";
    case Sql::kListRelayBatchesFrom:
      return "SELECT digest_hex, origin_meter_id, relay_meter_id, outcome, readings, copies, received_at, failure_code"
             " FROM relay_batches WHERE origin_meter_id = ?1 ORDER BY received_at DESC, digest_hex LIMIT ?2";
    case Sql::kInsertRelayOutcome:
      return "INSERT INTO relay_outcomes (meter_id, night, region_code, uplink_attempts, uplink_failures,"
             " uplink_failure_codes, relay_attempts, relay_failures, delivered_via_relay, aged_out, queued, relays_json,"
             " received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
             " ON CONFLICT (meter_id, night) DO NOTHING";
    case Sql::kListRelayOutcomes:
      return "SELECT meter_id, region_code, night, uplink_attempts, uplink_failures, uplink_failure_codes,"
             " relay_attempts, relay_failures, delivered_via_relay, aged_out, queued, relays_json, received_at"
             " FROM relay_outcomes WHERE meter_id = ?1 AND night <= ?2 ORDER BY night DESC LIMIT ?3";
    case Sql::kSumRelayOutcomes:
      return "SELECT count(*), count(DISTINCT meter_id), coalesce(sum(uplink_attempts), 0),"
             " coalesce(sum(uplink_failures), 0),"
             " coalesce(sum(uplink_attempts > 0 AND uplink_failures = uplink_attempts), 0),"
             " coalesce(sum(relay_attempts), 0), coalesce(sum(relay_failures), 0),"
             " coalesce(sum(delivered_via_relay), 0), coalesce(sum(aged_out), 0) FROM relay_outcomes";
    case Sql::kSumRelayOutcomesOfRegion:
      return "SELECT count(*), count(DISTINCT meter_id), coalesce(sum(uplink_attempts), 0),"
             " coalesce(sum(uplink_failures), 0),"
             " coalesce(sum(uplink_attempts > 0 AND uplink_failures = uplink_attempts), 0),"
             " coalesce(sum(relay_attempts), 0), coalesce(sum(relay_failures), 0),"
             " coalesce(sum(delivered_via_relay), 0), coalesce(sum(aged_out), 0) FROM relay_outcomes"
             " WHERE region_code = ?1";
    case Sql::kInsertRelayWorkOrder:
      return "INSERT INTO relay_work_orders (meter_id, first_night, last_night, nights, content, state, attempts,"
             " last_error, opened_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
             " ON CONFLICT (meter_id, first_night) DO NOTHING RETURNING id";
    case Sql::kUpdateRelayWorkOrder:
      return "UPDATE relay_work_orders SET state = ?2, attempts = ?3, last_error = ?4, updated_at = ?5 WHERE id = ?1";
    case Sql::kListRelayWorkOrders:
      return "SELECT id, meter_id, first_night, last_night, nights, content, state, attempts, last_error, opened_at,"
             " updated_at FROM relay_work_orders WHERE (?1 = '' OR meter_id = ?1) AND (?2 = '' OR state = ?2)"
             " ORDER BY id DESC LIMIT ?3";
    case Sql::kAppendLog:
      return "INSERT INTO reading_log (meter_id, channel, ts, op, value, consumption, source, quality, version,"
             " flags) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    case Sql::kLoadLog:
      return "SELECT seq, meter_id, channel, ts, op, value, consumption, source, quality, version, flags"
             " FROM reading_log ORDER BY seq";
    case Sql::kDeleteLogUpTo: return "DELETE FROM reading_log WHERE seq <= ?1";
    case Sql::kAppendStateLog: return "INSERT INTO meter_state_log (meter_id, state) VALUES (?1, ?2)";
    case Sql::kLoadStateLog: return "SELECT seq, meter_id, state FROM meter_state_log ORDER BY seq";
    case Sql::kDeleteStateLogUpTo: return "DELETE FROM meter_state_log WHERE seq <= ?1";
    case Sql::kBlocksBetween:
      return "SELECT first_ts, data FROM reading_blocks WHERE meter_id = ?1 AND channel = ?2 AND first_ts >= ?3"
             " AND first_ts <= ?4 ORDER BY first_ts";
    case Sql::kBlocksAtOrBeforeDesc:
      return "SELECT first_ts, data FROM reading_blocks WHERE meter_id = ?1 AND channel = ?2 AND first_ts <= ?3"
             " ORDER BY first_ts DESC";
    case Sql::kLastBlockEnd:
      return "SELECT last_ts FROM reading_blocks WHERE meter_id = ?1 AND channel = ?2 ORDER BY first_ts DESC LIMIT 1";
    case Sql::kAnyBlock: return "SELECT EXISTS (SELECT 1 FROM reading_blocks)";
    case Sql::kInsertBlock:
      return "INSERT INTO reading_blocks (meter_id, channel, first_ts, last_ts, n, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case Sql::kDeleteBlock:
      return "DELETE FROM reading_blocks WHERE meter_id = ?1 AND channel = ?2 AND first_ts = ?3";
    case Sql::kLoadLabels: return "SELECT id, name FROM labels";
    case Sql::kInsertLabel: return "INSERT INTO labels (name) VALUES (?1)";
    case Sql::kGetCounter: return "SELECT coalesce((SELECT value FROM store_counters WHERE name = ?1), 0)";
    case Sql::kAddCounter:
      return "INSERT INTO store_counters (name, value) VALUES (?1, ?2)"
             " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value";
    case Sql::kInsertVersion:
      return "INSERT INTO reading_versions (meter_id, channel, ts, version, value, consumption, source, quality,"
             " replaced_at, replaced_by, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
             " ON CONFLICT DO NOTHING";
    case Sql::kListVersions:
      return "SELECT meter_id, channel, ts, version, value, consumption, source, quality, replaced_at, replaced_by,"
             " reason FROM reading_versions WHERE meter_id = ?1 AND channel = ?2 AND ts = ?3 ORDER BY version";
    case Sql::kInsertEstimate:
      return "INSERT INTO reading_estimates (meter_id, channel, ts, method, inputs, estimated_by, created_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (meter_id, channel, ts) DO UPDATE SET"
             " method = excluded.method, inputs = excluded.inputs, estimated_by = excluded.estimated_by,"
             " created_at = excluded.created_at";
    case Sql::kGetEstimate:
      return "SELECT meter_id, channel, ts, method, inputs, estimated_by, created_at FROM reading_estimates"
             " WHERE meter_id = ?1 AND channel = ?2 AND ts = ?3";
    case Sql::kCount_: break;
  }
  return "";
}

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

// Steps a bound `SELECT count(*)`-like query and returns its single integer.
Result<int64_t> QueryInt(Connection& connection, sqlite3_stmt* statement, const Binder& binder,
                         std::string_view operation) {
  ResetOnExit reset(statement);
  if (binder.rc() != SQLITE_OK) return SqliteError(connection.db(), binder.rc(), operation);
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_ROW) return SqliteError(connection.db(), rc, operation);
  return sqlite3_column_int64(statement, 0);
}

}  // namespace mh::store::sqlite_db
