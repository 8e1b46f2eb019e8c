// The PostgreSQL main store: alerts and their delivery log, relay retransmission, and the fleet
// view's aggregates. SQL in pg_store_sql.h.
#include <algorithm>

#include "store/postgres/pg_store_internal.h"
#include "store/postgres/pg_store_sql.h"

namespace mh::store::pgstore {

using pg::Params;
using pg::Rows;
namespace sql = pgsql;

namespace {

AlertRecord AlertAt(const Rows& r, int i) {
  return AlertRecord{r.Int(i, 0),    r.Text(i, 1),   r.Text(i, 2),   r.Int(i, 3),    r.Int(i, 4),
                     r.Double(i, 5), r.Double(i, 6), r.Double(i, 7), r.Double(i, 8), r.Int(i, 9),
                     r.Double(i, 10)};
}

Result<DeliveryStatus> StatusAt(const Rows& r, int i, int col, const std::string& what) {
  const std::string name = r.Text(i, col);
  const std::optional<DeliveryStatus> s = ParseDeliveryStatus(name);
  if (!s) return Internal("postgres store: " + what + " has unknown status '" + name + "'");
  return *s;
}

Result<std::vector<Delivery>> Deliveries(const Rows& r) {
  std::vector<Delivery> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) {
    Delivery d;
    d.id = r.Int(i, 0);
    d.alert_id = r.Int(i, 1);
    d.meter_id = r.Text(i, 2);
    d.terminal_id = r.Text(i, 3);
    d.channel = r.Text(i, 4);
    d.address = r.Text(i, 5);
    d.content = r.Text(i, 6);
    MH_ASSIGN_OR_RETURN(d.status, StatusAt(r, i, 7, "delivery " + std::to_string(d.id)));
    d.attempts = static_cast<int>(r.Int(i, 8));
    d.next_attempt_at = r.Int(i, 9);
    d.last_error = r.Text(i, 10);
    d.updated_at = r.Int(i, 11);
    d.round_started_at = r.Int(i, 12);
    d.round_base = static_cast<int>(r.Int(i, 13));
    out.push_back(std::move(d));
  }
  return out;
}

RelayMeter RelayMeterAt(const Rows& r, int i) {
  return RelayMeter{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Text(i, 4), r.Int(i, 5)};
}

RelayBatchRecord RelayBatchAt(const Rows& r, int i) {
  RelayBatchRecord b{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5), r.Int(i, 6), {}};
  if (!r.IsNull(i, 7)) b.failure_code = static_cast<int>(r.Int(i, 7));
  return b;
}

RelayWorkOrder WorkOrderAt(const Rows& r, int i) {
  return RelayWorkOrder{r.Int(i, 0), r.Text(i, 1), r.Int(i, 2),  r.Int(i, 3),  r.Int(i, 4), r.Text(i, 5),
                        r.Text(i, 6), r.Int(i, 7), r.Text(i, 8), r.Int(i, 9), r.Int(i, 10)};
}

std::vector<std::pair<std::string, int64_t>> KeyCounts(const Rows& r) {
  return All<std::pair<std::string, int64_t>>(r, [](const Rows& r, int i) { return std::make_pair(r.Text(i, 0), r.Int(i, 1)); });
}

}  // namespace

// --- alerts and deliveries ---

Result<std::vector<AlertRecord>> PostgresStore::ListAlerts(const std::string& meter_id, TimeRange created,
                                                           int64_t limit) {
  Params p;
  p.Text(meter_id).Int(created.from).Int(created.to);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListAlerts, p.Limit(limit), "list alerts"));
  return All<AlertRecord>(r, AlertAt);
}

Result<int64_t> PostgresStore::CountAlerts(const std::string& meter_id, const std::string& terminal_id,
                                           int64_t period_start) {
  return Count(sql::kCountAlerts, Params().Text(meter_id).Text(terminal_id).Int(period_start),
               "count alerts of meter " + meter_id + " to terminal " + terminal_id);
}

Result<std::vector<Delivery>> PostgresStore::ListDeliveries(const std::string& meter_id, int64_t alert_id,
                                                            int64_t limit) {
  Params p;
  p.Int(alert_id).Text(meter_id);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListDeliveries, p.Limit(limit), "list deliveries"));
  return Deliveries(r);
}

Result<std::vector<Delivery>> PostgresStore::DueDeliveries(int64_t now_ms, int64_t limit) {
  Params p;
  p.Int(now_ms);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kDueDeliveries, p.Limit(limit), "due deliveries"));
  return Deliveries(r);
}

Status PostgresStore::UpdateDelivery(const Delivery& d) {
  // A delivery's outcome is written the moment the receiver has answered, on a connection of its
  // own with an asynchronous commit: the window in which a SIGKILLed worker has sent a delivery
  // but not recorded it (so the next alerts holder sends it again, with the same Idempotency-Key)
  // is then one round trip to the server — not the wait behind the readings' group commits on the
  // writer plus an fsync (which made it likely for a kill during a dispatch burst). A record the
  // server had not flushed is lost only if the server itself crashes: the claim then lapses and
  // the delivery is sent again, which is the same at-least-once outcome (docs/scale.md).
  const std::string operation = "update delivery " + std::to_string(d.id);
  bool found = false;
  MH_RETURN_IF_ERROR(PooledTransaction(operation, [&](pg::Connection& db) -> Status {
    MH_RETURN_IF_ERROR(db.Exec("SET LOCAL synchronous_commit = off", "update delivery: record at once"));
    return RecordDelivery(db, d, &found);
  }));
  if (!found) return NotFound(operation + ": no such delivery");
  return Status::Ok();
}

Status PostgresStore::RecordDelivery(pg::Connection& db, const Delivery& d, bool* found) {
  MH_ASSIGN_OR_RETURN(Rows r, db.Run(sql::kUpdateDelivery,
                                     Params().Int(d.id).Text(d.terminal_id).Text(d.channel).Text(d.address)
                                         .Text(d.content).Text(DeliveryStatusName(d.status)).Int(d.attempts)
                                         .Int(d.next_attempt_at).Text(d.last_error).Int(d.updated_at)
                                         .Int(d.round_started_at).Int(d.round_base)));
  *found = r.affected() > 0;
  if (!*found || d.attempts <= 0) return Status::Ok();
  return db.Run(sql::kRecordAttempt, Params().Int(d.id).Int(d.attempts).Int(d.updated_at)
                                         .Text(DeliveryStatusName(d.status)).Text(d.last_error),
                "record attempt")
      .status();
}

Result<bool> PostgresStore::ClaimDelivery(int64_t delivery_id, int64_t due_at, int64_t until) {
  const std::string operation = "claim delivery " + std::to_string(delivery_id);
  bool claimed = false;
  MH_RETURN_IF_ERROR(WriteTransaction(operation, [&](pg::Connection& db) -> Status {
    MH_RETURN_IF_ERROR(CheckJobFence(db, kDeliveryJob));
    MH_ASSIGN_OR_RETURN(Rows r, db.Run(sql::kClaimDelivery, Params().Int(delivery_id).Int(due_at).Int(until)));
    claimed = r.affected() > 0;
    return Status::Ok();
  }));
  return claimed;
}

Result<std::vector<DeliveryAttempt>> PostgresStore::ListDeliveryAttempts(int64_t delivery_id) {
  const std::string what = "attempts of delivery " + std::to_string(delivery_id);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListAttempts, Params().Int(delivery_id), "list " + what));
  std::vector<DeliveryAttempt> out;
  for (int i = 0; i < r.size(); ++i) {
    DeliveryAttempt a;
    a.delivery_id = r.Int(i, 0);
    a.attempt = static_cast<int>(r.Int(i, 1));
    a.at_ms = r.Int(i, 2);
    MH_ASSIGN_OR_RETURN(a.status, StatusAt(r, i, 3, what));
    a.error = r.Text(i, 4);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::optional<Delivery>> PostgresStore::GetDelivery(int64_t delivery_id) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetDelivery, Params().Int(delivery_id), "get delivery " + std::to_string(delivery_id)));
  MH_ASSIGN_OR_RETURN(std::vector<Delivery> rows, Deliveries(r));
  if (rows.empty()) return std::optional<Delivery>();
  return std::optional<Delivery>(std::move(rows.front()));
}

Result<std::vector<int64_t>> PostgresStore::RequeueFailedDeliveries(const DeliveryRequeue& q) {
  std::vector<int64_t> ids;
  MH_RETURN_IF_ERROR(WriteTransaction("re-queue failed deliveries", [&](pg::Connection& db) -> Status {
    ids.clear();
    Params p;
    p.Int(q.delivery_id).Text(q.meter_id).Int(q.failed_since);
    MH_ASSIGN_OR_RETURN(Rows failed, db.Run(sql::kFailedForRequeue, p.Limit(q.limit), "select failed deliveries"));
    for (int i = 0; i < failed.size(); ++i) {
      const int64_t id = failed.Int(i, 0);
      const std::string operation = "re-queue delivery " + std::to_string(id);
      MH_RETURN_IF_ERROR(db.Run(sql::kRequeueDelivery, Params().Int(id).Int(q.at_ms), operation).status());
      MH_RETURN_IF_ERROR(db.Run(sql::kRecordRequeue, Params().Int(id).Int(q.at_ms).Int(failed.Int(i, 1)).Text(q.requested_by),
                                operation)
                             .status());
      ids.push_back(id);
    }
    return Status::Ok();
  }));
  return ids;
}

Result<std::vector<DeliveryRequeueRecord>> PostgresStore::ListDeliveryRequeues(int64_t delivery_id) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRequeues, Params().Int(delivery_id),
                                   "list re-queues of delivery " + std::to_string(delivery_id)));
  return All<DeliveryRequeueRecord>(r, [](const Rows& r, int i) {
    return DeliveryRequeueRecord{r.Int(i, 0), r.Int(i, 1), static_cast<int>(r.Int(i, 2)), r.Text(i, 3)};
  });
}

// --- relay ---

Status PostgresStore::UpsertRelayMeter(const RelayMeter& m) {
  if (m.meter_id.empty()) return InvalidArgument("upsert relay meter: empty meter_id");
  return Write(sql::kUpsertRelayMeter,
               Params().Text(m.meter_id).Text(m.region_code).Text(m.position_code).Text(m.region_name)
                   .Text(m.device_key_hex).Int(m.registered_at),
               "upsert relay meter " + m.meter_id)
      .status();
}

Result<std::optional<RelayMeter>> PostgresStore::GetRelayMeter(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetRelayMeter, Params().Text(meter_id), "get relay meter " + meter_id));
  if (r.empty()) return std::optional<RelayMeter>();
  return std::optional<RelayMeter>(RelayMeterAt(r, 0));
}

Result<std::vector<RelayMeter>> PostgresStore::ListRelayMeters(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRelayMeters, Params().Text(region_code), "list relay meters"));
  return All<RelayMeter>(r, RelayMeterAt);
}

Status PostgresStore::ReplaceLevelReports(const std::string& meter_id, const std::vector<RelayLevelReport>& reports) {
  const std::string operation = "replace level reports of meter " + meter_id;
  for (const RelayLevelReport& r : reports) {
    if (r.meter_id != meter_id) return InvalidArgument(operation + ": a report of meter '" + r.meter_id + "'");
  }
  return WriteTransaction(operation, [&](pg::Connection& db) -> Status {
    MH_RETURN_IF_ERROR(db.Run(sql::kDeleteLevelReports, Params().Text(meter_id)).status());
    std::vector<Params> rows;
    for (const RelayLevelReport& r : reports)
      rows.push_back(Params().Text(r.meter_id).Int(r.sub_period).Text(r.region_code).Int(r.level).Int(r.reported_at));
    return db.Pipeline(sql::kInsertLevelReport, rows);
  });
}

Result<std::vector<RelayLevelReport>> PostgresStore::ListLevelReports(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListLevelReports, Params().Text(region_code),
                                   "list level reports of region " + region_code));
  return All<RelayLevelReport>(r, [](const Rows& r, int i) {
    return RelayLevelReport{r.Text(i, 0), r.Text(i, 1), static_cast<int>(r.Int(i, 2)), static_cast<int>(r.Int(i, 3)),
                            r.Int(i, 4)};
  });
}

Status PostgresStore::PutRegionKey(const RegionKeyRecord& k) {
  const std::string operation = "put key " + std::to_string(k.key_id) + " of region " + k.region_code;
  if (k.key_id < 1 || k.key_id > 255) return InvalidArgument(operation + ": key id must lie in 1..255");
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kInsertRegionKey,
                                    Params().Text(k.region_code).Int(k.key_id).Text(k.key_hex).Int(k.created_at), operation));
  if (r.affected() == 0) return AlreadyExists(operation + ": the region already has a key with this id");
  return Status::Ok();
}

Result<std::vector<RegionKeyRecord>> PostgresStore::ListRegionKeys(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRegionKeys, Params().Text(region_code), "list keys of region " + region_code));
  return All<RegionKeyRecord>(r, [](const Rows& r, int i) {
    return RegionKeyRecord{r.Text(i, 0), static_cast<int>(r.Int(i, 1)), r.Text(i, 2), r.Int(i, 3)};
  });
}

Status PostgresStore::DeleteRegionKey(const std::string& region_code, int key_id) {
  return Write(sql::kDeleteRegionKey, Params().Text(region_code).Int(key_id), "delete key of region " + region_code).status();
}

Result<bool> PostgresStore::RecordRelayBatch(const RelayBatchRecord& b) {
  const std::string operation = "record relay batch from " + b.origin_meter_id;
  if (b.digest_hex.empty()) return InvalidArgument(operation + ": empty digest");
  Params p;
  p.Text(b.digest_hex).Text(b.origin_meter_id).Text(b.relay_meter_id).Text(b.outcome).Int(b.readings).Int(b.received_at);
  b.failure_code ? p.Int(*b.failure_code) : p.Null();
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kRecordRelayBatch, p, operation));
  return !r.empty() && r.Int(0, 0) != 0;
}

Result<RelayBatchTotals> PostgresStore::SumRelayBatches() {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kSumRelayBatches, Params(), "sum relay batches"));
  if (r.empty()) return RelayBatchTotals{};
  return RelayBatchTotals{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2), r.Int(0, 3), r.Int(0, 4)};
}

Result<std::vector<RelayBatchRecord>> PostgresStore::ListRelayBatches(const std::string& relay_meter_id, int64_t limit) {
  Params p;
  p.Text(relay_meter_id);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRelayBatches, p.Limit(limit), "list relay batches"));
  return All<RelayBatchRecord>(r, RelayBatchAt);
}

Result<std::vector<RelayBatchRecord>> PostgresStore::ListRelayBatchesFrom(const std::string& origin_meter_id,
                                                                          int64_t limit) {
  Params p;
  p.Text(origin_meter_id);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRelayBatchesFrom, p.Limit(limit), "list relay batches from " + origin_meter_id));
  return All<RelayBatchRecord>(r, RelayBatchAt);
}

Result<bool> PostgresStore::PutRelayOutcome(const RelayOutcomeRecord& o) {
  if (o.meter_id.empty()) return InvalidArgument("put relay outcome: empty meter_id");
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kInsertRelayOutcome,
                                    Params().Text(o.meter_id).Int(o.night).Text(o.region_code).Int(o.uplink_attempts)
                                        .Int(o.uplink_failures).Text(o.uplink_failure_codes).Int(o.relay_attempts)
                                        .Int(o.relay_failures).Int(o.delivered_via_relay).Int(o.aged_out).Int(o.queued)
                                        .Text(o.relays_json).Int(o.received_at),
                                    "put relay outcome of meter " + o.meter_id + " night " + std::to_string(o.night)));
  return r.affected() == 1;
}

Result<std::vector<RelayOutcomeRecord>> PostgresStore::ListRelayOutcomes(const std::string& meter_id, int64_t until,
                                                                         int64_t limit) {
  Params p;
  p.Text(meter_id).Int(until);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRelayOutcomes, p.Limit(limit), "list relay outcomes of meter " + meter_id));
  return All<RelayOutcomeRecord>(r, [](const Rows& r, int i) {
    return RelayOutcomeRecord{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Int(i, 3),  r.Int(i, 4),  r.Text(i, 5), r.Int(i, 6),
                              r.Int(i, 7),  r.Int(i, 8),  r.Int(i, 9), r.Int(i, 10), r.Text(i, 11), r.Int(i, 12)};
  });
}

Result<RelayOutcomeTotals> PostgresStore::SumRelayOutcomes(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kSumRelayOutcomes, Params().Text(region_code), "sum relay outcomes"));
  if (r.empty()) return RelayOutcomeTotals{};
  return RelayOutcomeTotals{r.Int(0, 0), r.Int(0, 1), r.Int(0, 2), r.Int(0, 3), r.Int(0, 4),
                            r.Int(0, 5), r.Int(0, 6), r.Int(0, 7), r.Int(0, 8)};
}

Result<bool> PostgresStore::OpenRelayWorkOrder(RelayWorkOrder* o) {
  if (o->meter_id.empty()) return InvalidArgument("open relay work order: empty meter_id");
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kInsertRelayWorkOrder,
                                    Params().Text(o->meter_id).Int(o->first_night).Int(o->last_night).Int(o->nights)
                                        .Text(o->content).Text(o->state).Int(o->attempts).Text(o->last_error)
                                        .Int(o->opened_at).Int(o->updated_at),
                                    "open relay work order for meter " + o->meter_id));
  if (r.empty()) return false;  // the streak already has its order
  o->id = r.Int(0, 0);
  return true;
}

Status PostgresStore::UpdateRelayWorkOrder(const RelayWorkOrder& o) {
  const std::string operation = "update relay work order " + std::to_string(o.id);
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kUpdateRelayWorkOrder,
                                    Params().Int(o.id).Text(o.state).Int(o.attempts).Text(o.last_error).Int(o.updated_at),
                                    operation));
  if (r.affected() == 0) return NotFound(operation + ": no such order");
  return Status::Ok();
}

Result<std::vector<RelayWorkOrder>> PostgresStore::ListRelayWorkOrders(const std::string& meter_id,
                                                                       const std::string& state, int64_t limit) {
  Params p;
  p.Text(meter_id).Text(state);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListRelayWorkOrders, p.Limit(limit), "list relay work orders"));
  return All<RelayWorkOrder>(r, WorkOrderAt);
}

// --- the fleet view ---

Result<MeterPage> PostgresStore::SearchMeters(const MeterQuery& q) {
  if (q.offset < 0) return InvalidArgument("search meters: negative offset");
  Params filter;
  filter.Text(q.customer_id).Text(q.kind).Text(q.region_code).Text(q.text);
  Params page = filter;
  page.Limit(q.limit).Int(q.offset).Text(q.after);
  MeterPage out;
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kSearchMeters, page, "search meters"));
  out.meters = All<MeterInfo>(r, MeterAt);
  if (!q.count_total) return out;
  MH_ASSIGN_OR_RETURN(out.total, Count(sql::kCountSearchMeters, filter, "count meters found"));
  return out;
}

Result<FleetCounts> PostgresStore::CountFleet(int64_t alerts_since, int64_t quarantine_since) {
  FleetCounts f;
  MH_ASSIGN_OR_RETURN(f.meters, CountMeters());
  MH_ASSIGN_OR_RETURN(Rows kinds, Read(sql::kCountMetersByKind, Params(), "count meters by kind"));
  f.by_kind = KeyCounts(kinds);
  MH_ASSIGN_OR_RETURN(Rows regions, Read(sql::kCountMetersByRegion, Params(), "count meters by region"));
  f.by_region = KeyCounts(regions);
  MH_ASSIGN_OR_RETURN(Rows states, Read(sql::kCountMeterStates, Params().Int(alerts_since).Int(quarantine_since),
                                        "count meter states"));
  f.by_state = KeyCounts(states);
  int64_t flagged = 0;
  for (const auto& kc : f.by_state) flagged += kc.second;
  f.by_state.emplace_back("normal", std::max<int64_t>(0, f.meters - flagged));
  std::sort(f.by_state.begin(), f.by_state.end());
  MH_ASSIGN_OR_RETURN(Rows verdicts, Read(sql::kCountQuarantineByVerdict, Params(), "count quarantine by verdict"));
  f.quarantine_by_verdict = KeyCounts(verdicts);
  MH_ASSIGN_OR_RETURN(Rows statuses, Read(sql::kCountDeliveriesByStatus, Params(), "count deliveries by status"));
  f.deliveries_by_status = KeyCounts(statuses);
  MH_ASSIGN_OR_RETURN(f.alerts_since, Count(sql::kCountAlertsSince, Params().Int(alerts_since), "count alerts since"));
  return f;
}

}  // namespace mh::store::pgstore
