// The store interface: everything MeterHub persists goes through it. SQLite (embedded default)
// implements it now, PostgreSQL next; both must pass store_conformance_test.
//
// Contract for every backend:
// - Commit(batch) is atomic and durable when it returns OK (fsync'd per `synchronous`), except
//   for a `deferred` batch's accepted readings and states, which become durable at Pack();
// - accepted readings are keyed by (meter_id, channel, ts): re-committing a key keeps one reading,
//   the one committed last. Whether a different value may replace a stored one is the pipeline's
//   decision (it keeps the first and records a conflict; a correction is a new version), not the
//   store's; quarantine rows are keyed by (meter_id, channel, ts, verdict, raw value) and
//   deduplicated;
// - per-meter ordering is the caller's: the pipeline commits a meter's readings in arrival order;
// - methods are safe to call from several threads (backends serialise writes internally);
// - within a batch: accepted upserts, quarantine inserts, remove_accepted deletes (so a key both
//   accepted and removed ends up removed), events, states, alerts with their deliveries;
// - events are deduplicated on all their fields, alerts on (meter_id, terminal_id, period_start,
//   ts): re-committing a batch never stores (or sends) an alert twice;
// - Commit refuses a record without meter_id, or an accepted reading whose value or consumption
//   is not finite, with InvalidArgument, and writes nothing of that batch;
// - `limit` <= 0 means no limit; lists come oldest first (ts, created_at or id ascending).
// The conformance suite (store_conformance.h) pins all of this down.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/records.h"

namespace mh::store {

class Store {
 public:
  virtual ~Store() = default;

  // --- meters and terminals ---
  virtual Status UpsertMeter(const MeterInfo& meter) = 0;
  virtual Result<std::optional<MeterInfo>> GetMeter(const std::string& meter_id) = 0;
  // customer_id empty = all meters.
  virtual Result<std::vector<MeterInfo>> ListMeters(const std::string& customer_id, int64_t offset,
                                                    int64_t limit) = 0;
  virtual Result<int64_t> CountMeters() = 0;
  // The meter registered with this protocol address (MeterInfo::address); nullopt when none.
  virtual Result<std::optional<MeterInfo>> FindMeterByAddress(const std::string& protocol,
                                                             const std::string& address) = 0;
  // The meters registered behind this gateway (MeterInfo::gateway: a DTU, a receiver) with a
  // protocol, by meter_id; what the TCP gateway polls when the DTU registers (indexed).
  virtual Result<std::vector<MeterInfo>> MetersBehindGateway(const std::string& gateway) = 0;
  // NotFound when the meter is not registered.
  virtual Status SetCustomerThreshold(const std::string& meter_id, std::optional<double> t1) = 0;
  // Rebinding an already bound terminal updates its channel and address. NotFound when the meter
  // is not registered.
  virtual Status BindTerminal(const Terminal& terminal) = 0;
  // NotFound when the terminal was not bound to the meter.
  virtual Status UnbindTerminal(const std::string& meter_id, const std::string& terminal_id) = 0;
  virtual Result<std::vector<Terminal>> ListTerminals(const std::string& meter_id) = 0;

  // --- the ingest write path ---
  virtual Status Commit(const IngestBatch& batch) = 0;
  // Folds the readings committed since the last Pack into the packed layout (docs/storage.md) and
  // makes deferred batches durable. The daemon packs in the background; bulk loaders at the end.
  virtual Status Pack() = 0;
  // Accepted readings committed but not packed yet (what the next Pack folds).
  virtual int64_t UnpackedReadings() = 0;
  // States of the given meters that have one (missing meters are simply absent).
  virtual Result<std::vector<MeterStateRecord>> LoadMeterStates(const std::vector<std::string>& meter_ids) = 0;
  // The registration, terminals and state of each registered meter of `meter_ids` (unregistered
  // ones are absent) — what the pipeline needs on first sight of a batch's meters. A backend reads
  // them in one transaction; this default asks meter by meter.
  virtual Result<std::vector<MeterSnapshot>> LoadMeters(const std::vector<std::string>& meter_ids) {
    std::vector<MeterSnapshot> out;
    for (const std::string& id : meter_ids) {
      MH_ASSIGN_OR_RETURN(std::optional<MeterInfo> info, GetMeter(id));
      if (!info) continue;
      MeterSnapshot s;
      s.info = std::move(*info);
      MH_ASSIGN_OR_RETURN(s.terminals, ListTerminals(id));
      MH_ASSIGN_OR_RETURN(std::vector<MeterStateRecord> states, LoadMeterStates({id}));
      if (!states.empty()) s.state = std::move(states.front().state);
      out.push_back(std::move(s));
    }
    return out;
  }

  // --- reads ---
  // Accepted readings of one channel ("" = the billing channel) in ts order.
  virtual Result<std::vector<StoredReading>> QueryReadings(const std::string& meter_id, TimeRange range,
                                                           int64_t limit, const std::string& channel = "") = 0;
  // The last accepted reading with ts <= t.
  virtual Result<std::optional<StoredReading>> LastReadingAtOrBefore(const std::string& meter_id, int64_t t,
                                                                     const std::string& channel = "") = 0;
  // The accepted reading at exactly ts.
  virtual Result<std::optional<StoredReading>> GetReading(const std::string& meter_id, int64_t ts,
                                                          const std::string& channel = "") = 0;
  // The values a reading had before its corrections, oldest first.
  virtual Result<std::vector<ReadingVersion>> ListReadingVersions(const std::string& meter_id, int64_t ts,
                                                                  const std::string& channel = "") = 0;
  // How the estimated reading at ts was made (unset: none recorded).
  virtual Result<std::optional<ReadingEstimate>> GetEstimate(const std::string& meter_id, int64_t ts,
                                                             const std::string& channel = "") = 0;
  // meter_id empty = all meters.
  virtual Result<std::vector<QuarantinedReading>> QueryQuarantine(const std::string& meter_id, TimeRange range,
                                                                  int64_t limit) = 0;
  // Events whose [ts_from, ts_to] overlaps the range.
  virtual Result<std::vector<ReadingEvent>> QueryEvents(const std::string& meter_id, TimeRange range,
                                                        int64_t limit) = 0;
  // Every stored reading, estimates included (CountEstimatedReadings of them are estimates).
  virtual Result<int64_t> CountReadings() = 0;
  // Stored readings that are estimates (an estimate superseded by an actual reading is not).
  virtual Result<int64_t> CountEstimatedReadings() = 0;
  virtual Result<int64_t> CountQuarantine() = 0;

  // --- alerts and their delivery log ---
  // meter_id empty = all meters.
  virtual Result<std::vector<AlertRecord>> ListAlerts(const std::string& meter_id, TimeRange created,
                                                      int64_t limit) = 0;
  // Alerts already sent to `terminal_id` for `meter_id` in the period starting at `period_start`.
  virtual Result<int64_t> CountAlerts(const std::string& meter_id, const std::string& terminal_id,
                                      int64_t period_start) = 0;
  // meter_id empty = any meter, alert_id 0 = any alert.
  virtual Result<std::vector<Delivery>> ListDeliveries(const std::string& meter_id, int64_t alert_id,
                                                       int64_t limit) = 0;
  // Pending deliveries whose next_attempt_at <= now_ms, oldest first.
  virtual Result<std::vector<Delivery>> DueDeliveries(int64_t now_ms, int64_t limit) = 0;
  // Writes everything but alert_id to the delivery with this id; NotFound when there is none.
  // Records the outcome of one attempt: updates the delivery and, when delivery.attempts > 0,
  // appends (attempts, updated_at, status, last_error) to its attempt history, atomically.
  virtual Status UpdateDelivery(const Delivery& delivery) = 0;
  // Claims a delivery before it is sent (the dispatcher's "send at most once while alive"): moves
  // its next_attempt_at from `due_at` to `until`, committed, only if it is still pending and still
  // due at `due_at` — false when another dispatcher claimed or recorded it meanwhile. A claim left
  // by a dispatcher that died before recording the outcome makes the delivery due again at `until`.
  // Scale-out (PostgreSQL with a commit fence): the claim also requires this worker to hold the
  // kDeliveryJob lease under its current epoch, checked inside the claim's transaction.
  virtual Result<bool> ClaimDelivery(int64_t delivery_id, int64_t due_at, int64_t until) = 0;
  // Every attempt at a delivery, oldest first.
  virtual Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) = 0;
  virtual Result<std::optional<Delivery>> GetDelivery(int64_t delivery_id) = 0;
  // Puts the failed deliveries the request selects back in the queue, atomically: pending, due at
  // request.at_ms, a new round (round_started_at 0, round_base = attempts), and a
  // DeliveryRequeueRecord each. Returns their ids, oldest first. Other deliveries are untouched.
  virtual Result<std::vector<int64_t>> RequeueFailedDeliveries(const DeliveryRequeue& request) = 0;
  // Every re-queue of a delivery, oldest first.
  virtual Result<std::vector<DeliveryRequeueRecord>> ListDeliveryRequeues(int64_t delivery_id) = 0;

  // --- relay retransmission (seed 000) ---
  virtual Status UpsertRelayMeter(const RelayMeter& meter) = 0;
  virtual Result<std::optional<RelayMeter>> GetRelayMeter(const std::string& meter_id) = 0;
  // region_code empty = every region; ordered by region, then position code.
  virtual Result<std::vector<RelayMeter>> ListRelayMeters(const std::string& region_code) = 0;
  // Replaces every report of `meter_id` with `reports` (all of that meter), atomically.
  virtual Status ReplaceLevelReports(const std::string& meter_id, const std::vector<RelayLevelReport>& reports) = 0;
  // Ordered by meter, then sub-period.
  virtual Result<std::vector<RelayLevelReport>> ListLevelReports(const std::string& region_code) = 0;
  // AlreadyExists when the region already has a key with this id (ids are never reused while kept).
  virtual Status PutRegionKey(const RegionKeyRecord& key) = 0;
  // Newest first.
  virtual Result<std::vector<RegionKeyRecord>> ListRegionKeys(const std::string& region_code) = 0;
  virtual Status DeleteRegionKey(const std::string& region_code, int key_id) = 0;
  // OK(true) when the digest is new (the record is stored), OK(false) when it was seen before (its
  // `copies` grows by one, everything else stays as first recorded).
  virtual Result<bool> RecordRelayBatch(const RelayBatchRecord& batch) = 0;
  virtual Result<RelayBatchTotals> SumRelayBatches() = 0;
  // Batches carried by `relay_meter_id` (empty = all), newest first.
  virtual Result<std::vector<RelayBatchRecord>> ListRelayBatches(const std::string& relay_meter_id,
                                                                 int64_t limit) = 0;
  // Batches of the origin meter `origin_meter_id` (with their failure codes), newest first.
  virtual Result<std::vector<RelayBatchRecord>> ListRelayBatchesFrom(const std::string& origin_meter_id,
                                                                     int64_t limit) = 0;
  // OK(true) when the (meter_id, night) is new and stored; OK(false) when that night is already
  // kept (it stays as first stored). InvalidArgument without meter_id.
  virtual Result<bool> PutRelayOutcome(const RelayOutcomeRecord& outcome) = 0;
  // The meter's outcomes of nights <= `until`, newest night first.
  virtual Result<std::vector<RelayOutcomeRecord>> ListRelayOutcomes(const std::string& meter_id, int64_t until,
                                                                    int64_t limit) = 0;
  // Sums over every outcome of the region (empty = every region).
  virtual Result<RelayOutcomeTotals> SumRelayOutcomes(const std::string& region_code) = 0;
  // Opens the work order unless the meter already has one for the same first_night: OK(true) with
  // order->id set, OK(false) and nothing written when it has. InvalidArgument without meter_id.
  virtual Result<bool> OpenRelayWorkOrder(RelayWorkOrder* order) = 0;
  // Writes state, attempts, last_error and updated_at of the order with this id; NotFound when
  // there is none.
  virtual Status UpdateRelayWorkOrder(const RelayWorkOrder& order) = 0;
  // meter_id and state empty = any; newest (highest id) first.
  virtual Result<std::vector<RelayWorkOrder>> ListRelayWorkOrders(const std::string& meter_id, const std::string& state,
                                                                  int64_t limit) = 0;

  // --- API tokens, users and sessions (SPEC 5) ---
  // Inserts or replaces the token with this hash.
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<std::optional<ApiToken>> FindToken(const std::string& token_sha256) = 0;
  // Every token (revoked ones too), oldest first.
  virtual Result<std::vector<ApiToken>> ListTokens() = 0;
  // Marks the token revoked at `at` and deletes its sessions, atomically; a token already revoked
  // keeps its first revocation time. NotFound when there is no such token.
  virtual Status RevokeToken(const std::string& token_sha256, int64_t at) = 0;
  // AlreadyExists when the username is taken.
  virtual Status AddUser(const UserRecord& user) = 0;
  virtual Result<std::optional<UserRecord>> GetUser(const std::string& username) = 0;
  // Ordered by username.
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  // Deletes the user and their sessions, atomically. NotFound when there is no such user.
  virtual Status DeleteUser(const std::string& username) = 0;
  virtual Status PutSession(const SessionRecord& session) = 0;
  virtual Result<std::optional<SessionRecord>> FindSession(const std::string& session_sha256) = 0;
  // Deleting a session that is not there is not an error.
  virtual Status DeleteSession(const std::string& session_sha256) = 0;
  // Deletes the sessions with expires_at <= now; returns how many.
  virtual Result<int64_t> DeleteExpiredSessions(int64_t now) = 0;

  // --- aggregates for the dashboard's fleet view ---
  // Meters matching `query`, in meter-id order, one page of them, and how many match in all.
  virtual Result<MeterPage> SearchMeters(const MeterQuery& query) = 0;
  // Fleet-wide counts. A meter's state: `alerted` (an alert created at or after `alerts_since`),
  // else `quarantined` (a quarantined reading with ts at or after `quarantine_since`), else
  // `normal`; `alerts_since` also bounds FleetCounts::alerts_since.
  virtual Result<FleetCounts> CountFleet(int64_t alerts_since, int64_t quarantine_since) = 0;
};

}  // namespace mh::store
