// The embedded SQLite store: one database file in WAL mode. One writer connection behind a mutex
// takes every write (an ingest batch is one BEGIN IMMEDIATE … COMMIT); a pool of read-only
// connections serves reads, which WAL lets run while a commit is in progress. Accepted readings
// and meter states live in sqlite_readings.cc; the schema and its migrations in sqlite_schema.cc;
// statements, binding and connections in store_db.h. Everything on disk is written up (and
// frozen) in docs/storage.md.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <utility>

#include "store/sqlite/area_db.h"
#include "store/sqlite/sqlite_readings.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/sqlite/store_db.h"

namespace mh::store {
namespace {

using namespace sqlite_db;  // NOLINT: this file is the store's own plumbing

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
  m.group = row.Text();
  m.timezone = row.Text();
  m.protocol = row.Text();
  m.address = row.Text();
  m.gateway = row.Text();
  m.billing_channel = row.Text();
  return Status::Ok();
}

Status ReadTerminal(Row& row, Terminal& t) {
  t.terminal_id = row.Text();
  t.meter_id = row.Text();
  t.channel = row.Text();
  t.address = row.Text();
  return Status::Ok();
}

Status ReadQuarantined(Row& row, QuarantinedReading& q) {
  q.meter_id = row.Text();
  q.channel = row.Text();
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

Status ReadVersion(Row& row, ReadingVersion& v) {
  v.meter_id = row.Text();
  v.channel = row.Text();
  v.ts = row.Int();
  v.version = static_cast<uint32_t>(row.Int());
  v.value = row.Real();
  v.consumption = row.Real();
  v.source = row.Text();
  v.quality = row.Text();
  v.replaced_at = row.Int();
  v.replaced_by = row.Text();
  v.reason = row.Text();
  return Status::Ok();
}

Status ReadEstimate(Row& row, ReadingEstimate& e) {
  e.meter_id = row.Text();
  e.channel = row.Text();
  e.ts = row.Int();
  e.method = row.Text();
  e.inputs = row.Text();
  e.estimated_by = row.Text();
  e.created_at = row.Int();
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
  a.estimated_consumption = row.Real();
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
  b.failure_code = row.OptionalInt();
  return Status::Ok();
}

Status ReadRelayOutcome(Row& row, RelayOutcomeRecord& o) {
  o.meter_id = row.Text();
  o.region_code = row.Text();
  o.night = row.Int();
  o.uplink_attempts = row.Int();
  o.uplink_failures = row.Int();
  o.uplink_failure_codes = row.Text();
  o.relay_attempts = row.Int();
  o.relay_failures = row.Int();
  o.delivered_via_relay = row.Int();
  o.aged_out = row.Int();
  o.queued = row.Int();
  o.relays_json = row.Text();
  o.received_at = row.Int();
  return Status::Ok();
}

Status ReadRelayOutcomeTotals(Row& row, RelayOutcomeTotals& t) {
  t.reports = row.Int();
  t.meters = row.Int();
  t.uplink_attempts = row.Int();
  t.uplink_failures = row.Int();
  t.uplink_failed_nights = row.Int();
  t.relay_attempts = row.Int();
  t.relay_failures = row.Int();
  t.delivered_via_relay = row.Int();
  t.aged_out = row.Int();
  return Status::Ok();
}

Status ReadRelayWorkOrder(Row& row, RelayWorkOrder& o) {
  o.id = row.Int();
  o.meter_id = row.Text();
  o.first_night = row.Int();
  o.last_night = row.Int();
  o.nights = row.Int();
  o.content = row.Text();
  o.state = row.Text();
  o.attempts = row.Int();
  o.last_error = row.Text();
  o.opened_at = row.Int();
  o.updated_at = row.Int();
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
  t.created_at = row.Int();
  t.expires_at = row.Int();
  t.revoked_at = row.Int();
  return Status::Ok();
}

Status ReadUser(Row& row, UserRecord& u) {
  u.username = row.Text();
  u.role = row.Text();
  u.customer_id = row.Text();
  u.password_hash = row.Text();
  u.created_at = row.Int();
  return Status::Ok();
}

Status ReadSession(Row& row, SessionRecord& s) {
  s.session_sha256 = row.Text();
  s.username = row.Text();
  s.token_sha256 = row.Text();
  s.created_at = row.Int();
  s.expires_at = row.Int();
  return Status::Ok();
}

using KeyCount = std::pair<std::string, int64_t>;
Status ReadKeyCount(Row& row, KeyCount& kc) {
  kc.first = row.Text();
  kc.second = row.Int();
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

std::string ReadingContext(std::string_view what, const std::string& meter_id, int64_t ts) {
  return std::string(what) + " " + meter_id + "@" + std::to_string(ts);
}


// The database holds device and region keys in clear: a new file is created readable by its
// owner only (0600), and SQLite gives the -wal and -shm files the same mode.
Status CreatePrivately(const std::string& path) {
  if (IsInMemory(path)) return Status::Ok();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
    return Status::Ok();
  }
  if (errno == EEXIST) return Status::Ok();
  return Unavailable("sqlite: cannot create " + path + ": " + std::strerror(errno));
}

// ---------------------------------------------------------------------------------------------

class SqliteStore final : public Store {
 public:
  SqliteStore(const SqliteOptions& options, std::unique_ptr<Connection> writer,
              std::unique_ptr<PackedReadings> readings)
      : in_memory_(IsInMemory(options.path)),
        path_(options.path),
        writer_(std::move(writer)),
        readings_(std::move(readings)),
        readers_(options.path, options.busy_timeout_ms) {}
  ~SqliteStore() override {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  // --- meters and terminals ---

  Status UpsertMeter(const MeterInfo& m) override {
    if (m.meter_id.empty()) return InvalidArgument("upsert meter: empty meter_id");
    return Write(Sql::kUpsertMeter, "upsert meter " + m.meter_id, [&](Binder& b) {
      b.Text(m.meter_id).Text(m.kind).Text(m.customer_id).Int(m.tz_offset_s).Int(m.interval_s)
          .OptionalReal(m.register_max).OptionalReal(m.customer_t1).Int(m.created_at).Text(m.group).Text(m.timezone)
          .Text(m.protocol).Text(m.address).Text(m.gateway).Text(m.billing_channel);
    });
  }

  Result<std::optional<MeterInfo>> FindMeterByAddress(const std::string& protocol, const std::string& address) override {
    MH_ASSIGN_OR_RETURN(std::vector<MeterInfo> rows,
                        Query<MeterInfo>(Sql::kFindMeterByAddress, "find meter by " + protocol + " address " + address,
                                         ReadMeter, [&](Binder& b) { b.Text(protocol).Text(address); }));
    if (rows.empty()) return std::optional<MeterInfo>();
    return std::optional<MeterInfo>(std::move(rows.front()));
  }

  Result<std::vector<MeterInfo>> MetersBehindGateway(const std::string& gateway) override {
    return Query<MeterInfo>(Sql::kMetersBehindGateway, "meters behind gateway " + gateway, ReadMeter,
                            [&](Binder& b) { b.Text(gateway); });
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
    if (!batch.accepted.empty() || !batch.remove_accepted.empty() || !batch.states.empty())
      MH_RETURN_IF_ERROR(HoldReadingsWriterLock());
    StagedReadings staged;
    // Published before the write lock is released: the next commit's staging must see this one.
    return Transaction(
        "commit batch",
        [&](Connection& db) -> Status {
          staged = StagedReadings();
          MH_RETURN_IF_ERROR(RegisterMeters(db, batch.new_meters));
          MH_RETURN_IF_ERROR(readings_->Stage(db, batch, &staged));
          return WriteBatch(db, batch);
        },
        [&] { readings_->Publish(std::move(staged)); });
  }

  Status Pack() override {
    MH_RETURN_IF_ERROR(HoldReadingsWriterLock());
    return readings_->Pack(
        [this](const std::function<Status(Connection&)>& body, const std::function<void()>& committed) {
          return Transaction("pack readings", body, committed);
        });
  }

  int64_t UnpackedReadings() override { return readings_->Unpacked(); }

  Result<std::vector<MeterStateRecord>> LoadMeterStates(const std::vector<std::string>& meter_ids) override {
    return WithReader([&](Connection& c) -> Result<std::vector<MeterStateRecord>> {
      std::vector<MeterStateRecord> states;
      states.reserve(meter_ids.size());
      for (const std::string& meter_id : meter_ids) {
        MH_ASSIGN_OR_RETURN(std::optional<std::string> state, readings_->State(c, meter_id));
        if (state) states.push_back({meter_id, std::move(*state)});
      }
      return states;
    });
  }

  Result<std::vector<MeterSnapshot>> LoadMeters(const std::vector<std::string>& meter_ids) override {
    // One read transaction for all of them: starting one per lookup costs a page-cache reset each
    // after every commit (200,000 first-seen meters took longer than their readings).
    return WithReader([&](Connection& c) -> Result<std::vector<MeterSnapshot>> {
      MH_RETURN_IF_ERROR(c.Exec("BEGIN", "load meters: begin"));
      Result<std::vector<MeterSnapshot>> out = LoadMetersIn(c, meter_ids);
      Status ended = c.Exec(out.ok() ? "COMMIT" : "ROLLBACK", "load meters: end");
      if (out.ok() && !ended.ok()) return ended;
      return out;
    });
  }

  Result<std::vector<MeterSnapshot>> LoadMetersIn(Connection& c, const std::vector<std::string>& meter_ids) {
    std::vector<MeterSnapshot> out;
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * get, c.Statement(Sql::kGetMeter));
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * terminals, c.Statement(Sql::kListTerminals));
    std::vector<MeterInfo> found;
    for (const std::string& id : meter_ids) {
      found.clear();
      Binder b(get);
      b.Text(id);
      MH_RETURN_IF_ERROR(CollectRows(c, get, b, "load meters: meter " + id, found, ReadMeter));
      if (found.empty()) continue;
      MeterSnapshot s;
      s.info = std::move(found.front());
      Binder t(terminals);
      t.Text(id);
      MH_RETURN_IF_ERROR(CollectRows(c, terminals, t, "load meters: terminals of " + id, s.terminals, ReadTerminal));
      MH_ASSIGN_OR_RETURN(s.state, readings_->State(c, id));
      out.push_back(std::move(s));
    }
    return out;
  }

  // --- reads ---

  Result<std::vector<StoredReading>> QueryReadings(const std::string& meter_id, TimeRange range, int64_t limit,
                                                   const std::string& channel) override {
    return WithReader([&](Connection& c) { return readings_->Query(c, meter_id, channel, range, limit); });
  }

  Result<std::optional<StoredReading>> LastReadingAtOrBefore(const std::string& meter_id, int64_t t,
                                                             const std::string& channel) override {
    return WithReader([&](Connection& c) { return readings_->LastAtOrBefore(c, meter_id, channel, t); });
  }

  Result<std::optional<StoredReading>> GetReading(const std::string& meter_id, int64_t ts,
                                                  const std::string& channel) override {
    return WithReader([&](Connection& c) { return readings_->Get(c, meter_id, channel, ts); });
  }

  Result<std::vector<ReadingVersion>> ListReadingVersions(const std::string& meter_id, int64_t ts,
                                                          const std::string& channel) override {
    return Query<ReadingVersion>(Sql::kListVersions, ReadingContext("list versions of reading", meter_id, ts),
                                 ReadVersion, [&](Binder& b) { b.Text(meter_id).Text(channel).Int(ts); });
  }

  Result<std::optional<ReadingEstimate>> GetEstimate(const std::string& meter_id, int64_t ts,
                                                     const std::string& channel) override {
    MH_ASSIGN_OR_RETURN(std::vector<ReadingEstimate> found,
                        Query<ReadingEstimate>(Sql::kGetEstimate, ReadingContext("get the estimate of reading", meter_id, ts),
                                               ReadEstimate, [&](Binder& b) { b.Text(meter_id).Text(channel).Int(ts); }));
    if (found.empty()) return std::optional<ReadingEstimate>();
    return std::optional<ReadingEstimate>(std::move(found.front()));
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

  Result<int64_t> CountReadings() override { return readings_->Count(); }
  Result<int64_t> CountQuarantine() override { return Count(Sql::kCountQuarantine, "count quarantine"); }
  Result<int64_t> CountEstimatedReadings() override { return Count(Sql::kCountEstimates, "count estimates"); }

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

  Result<bool> ClaimDelivery(int64_t delivery_id, int64_t due_at, int64_t until) override {
    const std::string operation = "claim delivery " + std::to_string(delivery_id);
    std::lock_guard lock(write_mutex_);
    Connection& db = *writer_;
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * claim, db.Statement(Sql::kClaimDelivery));
    Binder b(claim);
    b.Int(delivery_id).Int(due_at).Int(until);
    if (const int rc = StepWrite(claim, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
    return sqlite3_changes(db.db()) > 0;
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
                              .Int(r.readings).Int(r.received_at).OptionalInt(r.failure_code);
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

  // --- relay outcomes and work orders (schema 5) ---

  Result<std::vector<RelayBatchRecord>> ListRelayBatchesFrom(const std::string& origin_meter_id,
                                                             int64_t limit) override {
    return Query<RelayBatchRecord>(Sql::kListRelayBatchesFrom, "list relay batches from " + origin_meter_id,
                                   ReadRelayBatch, [&](Binder& b) { b.Text(origin_meter_id).Limit(limit); });
  }

  Result<bool> PutRelayOutcome(const RelayOutcomeRecord& o) override {
    const std::string operation = "put relay outcome of meter " + o.meter_id + " night " + std::to_string(o.night);
    if (o.meter_id.empty()) return InvalidArgument("put relay outcome: empty meter_id");
    MH_ASSIGN_OR_RETURN(int inserted, WriteCounting(Sql::kInsertRelayOutcome, operation, [&](Binder& b) {
                          b.Text(o.meter_id).Int(o.night).Text(o.region_code).Int(o.uplink_attempts)
                              .Int(o.uplink_failures).Text(o.uplink_failure_codes).Int(o.relay_attempts)
                              .Int(o.relay_failures).Int(o.delivered_via_relay).Int(o.aged_out).Int(o.queued)
                              .Text(o.relays_json).Int(o.received_at);
                        }));
    return inserted == 1;
  }

  Result<std::vector<RelayOutcomeRecord>> ListRelayOutcomes(const std::string& meter_id, int64_t until,
                                                            int64_t limit) override {
    return Query<RelayOutcomeRecord>(Sql::kListRelayOutcomes, "list relay outcomes of meter " + meter_id,
                                     ReadRelayOutcome, [&](Binder& b) { b.Text(meter_id).Int(until).Limit(limit); });
  }

  Result<RelayOutcomeTotals> SumRelayOutcomes(const std::string& region_code) override {
    Result<std::vector<RelayOutcomeTotals>> rows =
        region_code.empty()
            ? Query<RelayOutcomeTotals>(Sql::kSumRelayOutcomes, "sum relay outcomes", ReadRelayOutcomeTotals,
                                        [](Binder&) {})
            : Query<RelayOutcomeTotals>(Sql::kSumRelayOutcomesOfRegion, "sum relay outcomes of region " + region_code,
                                        ReadRelayOutcomeTotals, [&](Binder& b) { b.Text(region_code); });
    if (!rows.ok()) return rows.status();
    return rows->empty() ? RelayOutcomeTotals{} : rows->front();
  }

  Result<bool> OpenRelayWorkOrder(RelayWorkOrder* o) override {
    const std::string operation = "open relay work order for meter " + o->meter_id;
    if (o->meter_id.empty()) return InvalidArgument("open relay work order: empty meter_id");
    std::lock_guard lock(write_mutex_);
    sqlite3* handle = writer_->db();
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, writer_->Statement(Sql::kInsertRelayWorkOrder));
    ResetOnExit reset(insert);
    Binder b(insert);
    b.Text(o->meter_id).Int(o->first_night).Int(o->last_night).Int(o->nights).Text(o->content).Text(o->state)
        .Int(o->attempts).Text(o->last_error).Int(o->opened_at).Int(o->updated_at);
    if (b.rc() != SQLITE_OK) return SqliteError(handle, b.rc(), operation);
    int rc = sqlite3_step(insert);
    if (rc == SQLITE_DONE) return false;  // the streak already has its order
    if (rc != SQLITE_ROW) return SqliteError(handle, rc, operation);
    const int64_t id = sqlite3_column_int64(insert, 0);
    rc = sqlite3_step(insert);  // runs the statement to its end: the insert commits here
    if (rc != SQLITE_DONE) return SqliteError(handle, rc, operation);
    o->id = id;
    return true;
  }

  Status UpdateRelayWorkOrder(const RelayWorkOrder& o) override {
    const std::string operation = "update relay work order " + std::to_string(o.id);
    MH_ASSIGN_OR_RETURN(int changed, WriteCounting(Sql::kUpdateRelayWorkOrder, operation, [&](Binder& b) {
                          b.Int(o.id).Text(o.state).Int(o.attempts).Text(o.last_error).Int(o.updated_at);
                        }));
    if (changed == 0) return NotFound(operation + ": no such order");
    return Status::Ok();
  }

  Result<std::vector<RelayWorkOrder>> ListRelayWorkOrders(const std::string& meter_id, const std::string& state,
                                                          int64_t limit) override {
    return Query<RelayWorkOrder>(Sql::kListRelayWorkOrders, "list relay work orders", ReadRelayWorkOrder,
                                 [&](Binder& b) { b.Text(meter_id).Text(state).Limit(limit); });
  }

  // --- API tokens ---

  Status PutToken(const ApiToken& t) override {
    if (t.token_sha256.empty()) return InvalidArgument("put token: empty token_sha256");
    return Write(Sql::kPutToken, "put token " + t.name, [&](Binder& b) {
      b.Text(t.token_sha256).Text(t.name).Text(t.role).Text(t.customer_id).Int(t.created_at).Int(t.expires_at)
          .Int(t.revoked_at);
    });
  }

  Result<std::optional<ApiToken>> FindToken(const std::string& token_sha256) override {
    MH_ASSIGN_OR_RETURN(std::vector<ApiToken> rows,
                        Query<ApiToken>(Sql::kFindToken, "find token", ReadToken,
                                        [&](Binder& b) { b.Text(token_sha256); }));
    return First(std::move(rows));
  }

  // --- access: token lifecycle, users, sessions ---

  Result<std::vector<ApiToken>> ListTokens() override {
    return Query<ApiToken>(Sql::kListTokens, "list tokens", ReadToken, [](Binder&) {});
  }

  Status RevokeToken(const std::string& token_sha256, int64_t at) override {
    const std::string operation = "revoke token " + token_sha256.substr(0, 12);
    bool found = false;
    MH_RETURN_IF_ERROR(Transaction(operation, [&](Connection& db) -> Status {
      MH_RETURN_IF_ERROR(Step(db, Sql::kRevokeToken, operation, [&](Binder& b) { b.Text(token_sha256).Int(at); }));
      found = sqlite3_changes(db.db()) > 0;
      return Step(db, Sql::kDeleteSessionsOfToken, operation, [&](Binder& b) { b.Text(token_sha256); });
    }));
    if (!found) return NotFound(operation + ": no such token");
    return Status::Ok();
  }

  Status AddUser(const UserRecord& u) override {
    const std::string operation = "add user " + u.username;
    if (u.username.empty()) return InvalidArgument("add user: empty username");
    Status status = Write(Sql::kAddUser, operation, [&](Binder& b) {
      b.Text(u.username).Text(u.role).Text(u.customer_id).Text(u.password_hash).Int(u.created_at);
    });
    if (!status.ok() && status.message().find("UNIQUE") != std::string::npos)
      return AlreadyExists(operation + ": the username is taken");
    return status;
  }

  Result<std::optional<UserRecord>> GetUser(const std::string& username) override {
    MH_ASSIGN_OR_RETURN(std::vector<UserRecord> rows, Query<UserRecord>(Sql::kGetUser, "get user " + username, ReadUser,
                                                                        [&](Binder& b) { b.Text(username); }));
    return First(std::move(rows));
  }

  Result<std::vector<UserRecord>> ListUsers() override {
    return Query<UserRecord>(Sql::kListUsers, "list users", ReadUser, [](Binder&) {});
  }

  Status DeleteUser(const std::string& username) override {
    const std::string operation = "delete user " + username;
    bool found = false;
    MH_RETURN_IF_ERROR(Transaction(operation, [&](Connection& db) -> Status {
      MH_RETURN_IF_ERROR(Step(db, Sql::kDeleteUser, operation, [&](Binder& b) { b.Text(username); }));
      found = sqlite3_changes(db.db()) > 0;
      return Step(db, Sql::kDeleteSessionsOfUser, operation, [&](Binder& b) { b.Text(username); });
    }));
    if (!found) return NotFound(operation + ": no such user");
    return Status::Ok();
  }

  Status PutSession(const SessionRecord& s) override {
    if (s.session_sha256.empty()) return InvalidArgument("put session: empty session_sha256");
    if (s.username.empty() == s.token_sha256.empty())
      return InvalidArgument("put session: exactly one of username and token_sha256 must be set");
    return Write(Sql::kPutSession, "put session", [&](Binder& b) {
      b.Text(s.session_sha256).Text(s.username).Text(s.token_sha256).Int(s.created_at).Int(s.expires_at);
    });
  }

  Result<std::optional<SessionRecord>> FindSession(const std::string& session_sha256) override {
    MH_ASSIGN_OR_RETURN(std::vector<SessionRecord> rows,
                        Query<SessionRecord>(Sql::kFindSession, "find session", ReadSession,
                                             [&](Binder& b) { b.Text(session_sha256); }));
    return First(std::move(rows));
  }

  Status DeleteSession(const std::string& session_sha256) override {
    return Write(Sql::kDeleteSession, "delete session", [&](Binder& b) { b.Text(session_sha256); });
  }

  Result<int64_t> DeleteExpiredSessions(int64_t now) override {
    MH_ASSIGN_OR_RETURN(int changed, WriteCounting(Sql::kDeleteExpiredSessions, "delete expired sessions",
                                                   [&](Binder& b) { b.Int(now); }));
    return static_cast<int64_t>(changed);
  }

  // --- aggregates for the fleet view ---

  Result<MeterPage> SearchMeters(const MeterQuery& q) override {
    if (q.offset < 0) return InvalidArgument("search meters: negative offset");
    auto bind = [&](Binder& b) { b.Text(q.customer_id).Text(q.kind).Text(q.region_code).Text(q.text); };
    MeterPage page;
    MH_ASSIGN_OR_RETURN(page.meters, Query<MeterInfo>(Sql::kSearchMeters, "search meters", ReadMeter, [&](Binder& b) {
                          bind(b);
                          b.Limit(q.limit).Int(q.offset).Text(q.after);
                        }));
    if (!q.count_total) return page;
    MH_ASSIGN_OR_RETURN(std::vector<KeyCount> total,
                        Query<KeyCount>(Sql::kCountSearchMeters, "count searched meters",
                                        [](Row& row, KeyCount& kc) {
                                          kc.second = row.Int();
                                          return Status::Ok();
                                        },
                                        bind));
    page.total = total.empty() ? 0 : total.front().second;
    return page;
  }

  Result<FleetCounts> CountFleet(int64_t alerts_since, int64_t quarantine_since) override {
    FleetCounts f;
    auto none = [](Binder&) {};
    MH_ASSIGN_OR_RETURN(f.meters, CountMeters());
    MH_ASSIGN_OR_RETURN(f.by_kind, Query<KeyCount>(Sql::kCountMetersByKind, "count meters by kind", ReadKeyCount, none));
    MH_ASSIGN_OR_RETURN(f.by_region,
                        Query<KeyCount>(Sql::kCountMetersByRegion, "count meters by region", ReadKeyCount, none));
    MH_ASSIGN_OR_RETURN(std::vector<KeyCount> states,
                        Query<KeyCount>(Sql::kCountMeterStates, "count meter states", ReadKeyCount,
                                        [&](Binder& b) { b.Int(alerts_since).Int(quarantine_since); }));
    int64_t flagged = 0;
    for (const auto& kc : states) flagged += kc.second;
    f.by_state = states;
    f.by_state.emplace_back("normal", std::max<int64_t>(0, f.meters - flagged));
    std::sort(f.by_state.begin(), f.by_state.end());
    MH_ASSIGN_OR_RETURN(f.quarantine_by_verdict, Query<KeyCount>(Sql::kCountQuarantineByVerdict,
                                                                 "count quarantine by verdict", ReadKeyCount, none));
    MH_ASSIGN_OR_RETURN(f.deliveries_by_status, Query<KeyCount>(Sql::kCountDeliveriesByStatus,
                                                                "count deliveries by status", ReadKeyCount, none));
    MH_ASSIGN_OR_RETURN(std::vector<KeyCount> alerts,
                        Query<KeyCount>(Sql::kCountAlertsSince, "count alerts since", ReadKeyCount,
                                        [&](Binder& b) { b.Int(alerts_since); }));
    f.alerts_since = alerts.empty() ? 0 : alerts.front().second;
    return f;
  }

 private:
  // One process at a time writes readings to a file: the readings not yet packed are mirrored in
  // that process's memory, so a second writer's would be invisible to it (and its validation
  // state stale). The first process to write holds an advisory lock on <path>.readings-lock.
  Status HoldReadingsWriterLock() {
    std::lock_guard lock(lock_mu_);
    if (in_memory_ || lock_fd_ >= 0) return Status::Ok();
    const std::string lock_path = path_ + ".readings-lock";
    const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Unavailable("sqlite: cannot open " + lock_path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return FailedPrecondition("sqlite: another process writes readings to " + path_ +
                                " (a running meterhub serve?); send them to it (POST /api/v1/readings) or stop it first");
    }
    lock_fd_ = fd;
    return Status::Ok();
  }

  // The body of Commit, inside the open transaction. Statements are fetched once per batch and
  // rows bound without copies, so the per-row cost is SQLite's own.
  Status RegisterMeters(Connection& db, const std::vector<MeterInfo>& meters) {
    if (meters.empty()) return Status::Ok();
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kRegisterMeter));
    for (const MeterInfo& m : meters) {
      if (m.meter_id.empty()) return InvalidArgument("commit batch: new meter without meter_id");
      Binder b(insert);
      b.Text(m.meter_id).Text(m.kind).Text(m.customer_id).Int(m.tz_offset_s).Int(m.interval_s)
          .OptionalReal(m.register_max).OptionalReal(m.customer_t1).Int(m.created_at).Text(m.group).Text(m.timezone)
          .Text(m.protocol).Text(m.address).Text(m.gateway).Text(m.billing_channel);
      if (const int rc = StepWrite(insert, b); rc != SQLITE_OK)
        return SqliteError(db.db(), rc, "commit batch: register meter " + m.meter_id);
    }
    return Status::Ok();
  }

  Status WriteBatch(Connection& db, const IngestBatch& batch) {
    sqlite3* handle = db.db();
    if (!batch.quarantined.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertQuarantine));
      for (const QuarantinedReading& q : batch.quarantined) {
        if (q.meter_id.empty()) return InvalidArgument("commit batch: quarantined reading without meter_id");
        QuarantineValueKey(q, value_key_);
        Binder b(insert);
        b.Text(q.meter_id).Text(q.channel).Int(q.ts).Text(VerdictName(q.verdict)).Text(value_key_)
            .OptionalReal(q.value).Text(q.raw_value).Text(q.reason).Text(q.source).Int(q.received_at);
        if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: quarantine reading", q.meter_id, q.ts));
        }
      }
    }
    if (!batch.remove_quarantined.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * remove, db.Statement(Sql::kDeleteRejudged));
      for (const ReadingKey& k : batch.remove_quarantined) {
        if (k.meter_id.empty()) return InvalidArgument("commit batch: quarantine row to remove without meter_id");
        Binder b(remove);
        b.Text(k.meter_id).Text(k.channel).Int(k.ts);
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
    if (!batch.versions.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertVersion));
      for (const ReadingVersion& v : batch.versions) {
        if (v.meter_id.empty()) return InvalidArgument("commit batch: reading version without meter_id");
        Binder b(insert);
        b.Text(v.meter_id).Text(v.channel).Int(v.ts).Int(v.version).Real(v.value).Real(v.consumption).Text(v.source)
            .Text(v.quality).Int(v.replaced_at).Text(v.replaced_by).Text(v.reason);
        if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: keep a version of reading", v.meter_id, v.ts));
        }
      }
    }
    if (!batch.estimates.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertEstimate));
      for (const ReadingEstimate& e : batch.estimates) {
        if (e.meter_id.empty()) return InvalidArgument("commit batch: reading estimate without meter_id");
        Binder b(insert);
        b.Text(e.meter_id).Text(e.channel).Int(e.ts).Text(e.method).Text(e.inputs).Text(e.estimated_by)
            .Int(e.created_at);
        if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) {
          return SqliteError(handle, rc, ReadingContext("commit batch: record the estimate of reading", e.meter_id, e.ts));
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
          .Real(a.period_consumption).Real(a.threshold).Real(a.excess).Int(a.created_at).Real(a.estimated_consumption);
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

  // Runs `body(writer)` inside BEGIN IMMEDIATE … COMMIT; rolls back when it fails. After a
  // successful COMMIT, `committed()` runs while the write lock is still held.
  template <typename Body>
  Status Transaction(std::string_view operation, const Body& body, const std::function<void()>& committed = {}) {
    std::lock_guard lock(write_mutex_);
    Connection& db = *writer_;
    MH_RETURN_IF_ERROR(db.Run(Sql::kBegin, operation));
    Status status = body(db);
    if (status.ok()) status = db.Run(Sql::kCommit, operation);
    if (!status.ok() && sqlite3_get_autocommit(db.db()) == 0) (void)db.Run(Sql::kRollback, operation);
    if (status.ok() && committed) committed();
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
  const std::string path_;
  std::mutex lock_mu_;
  int lock_fd_ = -1;  // guarded by lock_mu_; the readings writer lock, held until the store closes

  std::mutex write_mutex_;
  // Declared before readers_ so it closes last: the last connection to close checkpoints the WAL.
  std::unique_ptr<Connection> writer_;  // guarded by write_mutex_
  std::string value_key_;               // guarded by write_mutex_; reused per quarantined row
  std::unique_ptr<PackedReadings> readings_;  // accepted readings and meter states (internally guarded)

  ReaderPool readers_;  // internally synchronised
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  if (sqlite3_threadsafe() == 0) return FailedPrecondition("sqlite: library built without thread support");
  MH_ASSIGN_OR_RETURN(const char* synchronous, area_db::SynchronousPragma(options.synchronous, "sqlite: store.synchronous"));
  if (options.path.empty()) return InvalidArgument("sqlite: empty database path");

  MH_RETURN_IF_ERROR(CreatePrivately(options.path));
  MH_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(options.path, /*read_only=*/false, options.busy_timeout_ms));
  // A new file gets 8 KiB pages: a day of 15-minute readings packs into rows of up to 64 readings
  // (~1.4 KB), which then stay on their page instead of spilling to overflow pages.
  MH_ASSIGN_OR_RETURN(std::string pages, writer->QueryText("PRAGMA page_count", "read page count"));
  if (pages == "0") MH_RETURN_IF_ERROR(writer->Exec("PRAGMA page_size = 8192", "set page_size"));
  MH_ASSIGN_OR_RETURN(std::string journal_mode, writer->QueryText("PRAGMA journal_mode = WAL", "set WAL mode"));
  if (journal_mode != "wal" && !IsInMemory(options.path)) {
    return FailedPrecondition("sqlite: " + options.path + ": WAL mode refused (journal_mode is " +
                              journal_mode + ")");
  }
  MH_RETURN_IF_ERROR(writer->Exec(synchronous, "set synchronous"));
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys = ON", "enable foreign keys"));
  // A bigger page cache keeps the blocks' upper B-tree levels in memory while packing.
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA cache_size = -65536", "set cache_size"));
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA temp_store = MEMORY", "set temp_store"));
  // Without a limit the WAL file keeps its high-water size after a checkpoint.
  MH_RETURN_IF_ERROR(writer->Exec("PRAGMA journal_size_limit = 67108864", "set journal_size_limit"));
  MH_RETURN_IF_ERROR(Migrate(*writer).WithContext(options.path));
  if (options.max_size_bytes > 0) {
    MH_ASSIGN_OR_RETURN(std::string page_size, writer->QueryText("PRAGMA page_size", "read page_size"));
    const int64_t pages = std::max<int64_t>(1, options.max_size_bytes / std::max<int64_t>(1, std::atoll(page_size.c_str())));
    MH_RETURN_IF_ERROR(writer->Exec(("PRAGMA max_page_count = " + std::to_string(pages)).c_str(), "set max_page_count"));
  }
  MH_ASSIGN_OR_RETURN(std::unique_ptr<PackedReadings> readings, PackedReadings::Load(*writer));
  return std::unique_ptr<Store>(new SqliteStore(options, std::move(writer), std::move(readings)));
}

}  // namespace mh::store