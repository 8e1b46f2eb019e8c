// The PostgreSQL main store's class, shared by its source files (pg_store.cc: connections,
// meters, readings, access; pg_store_commit.cc: the ingest write path; pg_store_alerts.cc:
// alerts, deliveries, relay and the fleet view). Not for use outside src/store/postgres.
//
// One writer connection behind a mutex takes every write (so this process's commits never
// deadlock each other) but a delivery's outcome (UpdateDelivery: recorded the moment the
// receiver answers, not behind the readings' commits); reads take a connection from a small pool
// and run beside it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_db.h"
#include "store/postgres/pg_store.h"

namespace mh::store::pgstore {

// At most `max_open` connections to one database, each with the store's statements prepared:
// a burst of readers waits for one instead of exhausting the server's max_connections.
class ConnectionPool {
 public:
  ConnectionPool(std::string url, int max_open) : url_(std::move(url)), max_open_(max_open < 1 ? 1 : max_open) {}
  // An idle healthy connection, a new one, or (all in use) the next one given back.
  Result<std::unique_ptr<pg::Connection>> Take();
  // Back to the pool (closed when broken or left inside a transaction).
  void Give(std::unique_ptr<pg::Connection> c);
  static Result<std::unique_ptr<pg::Connection>> Connect(const std::string& url);

 private:
  const std::string url_;
  const int max_open_;
  std::mutex mu_;
  std::condition_variable returned_;
  int open_ = 0;  // guarded by mu_: idle or taken
  std::vector<std::unique_ptr<pg::Connection>> idle_;
};

// A connection for the writer: the pool's statements, the staging tables and what reads them.
Result<std::unique_ptr<pg::Connection>> ConnectWriter(const std::string& url);

// Every row of `r` as at(r, i) makes it; the first, if any.
template <typename T, typename At>
std::vector<T> All(const pg::Rows& r, At at) {
  std::vector<T> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(at(r, i));
  return out;
}
template <typename T, typename At>
std::optional<T> First(const pg::Rows& r, At at) {
  if (r.empty()) return std::nullopt;
  return at(r, 0);
}

MeterInfo MeterAt(const pg::Rows& r, int i);
// The 10 parameters of kRegisterMeter / kUpsertMeter.
pg::Params MeterParams(const MeterInfo& m);
Terminal TerminalAt(const pg::Rows& r, int i);

class PostgresStore final : public Store {
 public:
  PostgresStore(const PostgresStoreOptions& options, std::unique_ptr<pg::Connection> writer)
      : url_(options.url), writer_(std::move(writer)), readers_(options.url, options.max_readers) {}

  // --- meters and terminals (pg_store.cc) ---
  Status UpsertMeter(const MeterInfo& meter) override;
  Result<std::optional<MeterInfo>> GetMeter(const std::string& meter_id) override;
  Result<std::vector<MeterInfo>> ListMeters(const std::string& customer_id, int64_t offset, int64_t limit) override;
  Result<int64_t> CountMeters() override;
  Result<std::optional<MeterInfo>> FindMeterByAddress(const std::string& protocol, const std::string& address) override;
  Result<std::vector<MeterInfo>> MetersBehindGateway(const std::string& gateway) override;
  Status SetCustomerThreshold(const std::string& meter_id, std::optional<double> t1) override;
  Status BindTerminal(const Terminal& terminal) override;
  Status UnbindTerminal(const std::string& meter_id, const std::string& terminal_id) override;
  Result<std::vector<Terminal>> ListTerminals(const std::string& meter_id) override;

  // --- the ingest write path (pg_store_commit.cc) ---
  Status Commit(const IngestBatch& batch) override;
  Status SetCommitFence(std::shared_ptr<const CommitFence> fence);
  Status Pack() override;
  int64_t UnpackedReadings() override { return unpacked_.load(); }
  Result<std::vector<MeterStateRecord>> LoadMeterStates(const std::vector<std::string>& meter_ids) override;
  Result<std::vector<MeterSnapshot>> LoadMeters(const std::vector<std::string>& meter_ids) override;

  // --- reads (pg_store.cc) ---
  Result<std::vector<StoredReading>> QueryReadings(const std::string& meter_id, TimeRange range, int64_t limit,
                                                   const std::string& channel) override;
  Result<std::optional<StoredReading>> LastReadingAtOrBefore(const std::string& meter_id, int64_t t,
                                                             const std::string& channel) override;
  Result<std::optional<StoredReading>> GetReading(const std::string& meter_id, int64_t ts,
                                                  const std::string& channel) override;
  Result<std::vector<ReadingVersion>> ListReadingVersions(const std::string& meter_id, int64_t ts,
                                                          const std::string& channel) override;
  Result<std::optional<ReadingEstimate>> GetEstimate(const std::string& meter_id, int64_t ts,
                                                     const std::string& channel) override;
  Result<std::vector<QuarantinedReading>> QueryQuarantine(const std::string& meter_id, TimeRange range,
                                                          int64_t limit) override;
  Result<std::vector<ReadingEvent>> QueryEvents(const std::string& meter_id, TimeRange range, int64_t limit) override;
  Result<int64_t> CountReadings() override;
  Result<int64_t> CountQuarantine() override;
  Result<int64_t> CountEstimatedReadings() override;

  // --- alerts and deliveries (pg_store_alerts.cc) ---
  Result<std::vector<AlertRecord>> ListAlerts(const std::string& meter_id, TimeRange created, int64_t limit) override;
  Result<int64_t> CountAlerts(const std::string& meter_id, const std::string& terminal_id, int64_t period_start) override;
  Result<std::vector<Delivery>> ListDeliveries(const std::string& meter_id, int64_t alert_id, int64_t limit) override;
  Result<std::vector<Delivery>> DueDeliveries(int64_t now_ms, int64_t limit) override;
  Status UpdateDelivery(const Delivery& delivery) override;
  Result<bool> ClaimDelivery(int64_t delivery_id, int64_t due_at, int64_t until) override;
  Result<std::vector<DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) override;
  Result<std::optional<Delivery>> GetDelivery(int64_t delivery_id) override;
  Result<std::vector<int64_t>> RequeueFailedDeliveries(const DeliveryRequeue& request) override;
  Result<std::vector<DeliveryRequeueRecord>> ListDeliveryRequeues(int64_t delivery_id) override;

  // --- relay (pg_store_alerts.cc) ---
  Status UpsertRelayMeter(const RelayMeter& meter) override;
  Result<std::optional<RelayMeter>> GetRelayMeter(const std::string& meter_id) override;
  Result<std::vector<RelayMeter>> ListRelayMeters(const std::string& region_code) override;
  Status ReplaceLevelReports(const std::string& meter_id, const std::vector<RelayLevelReport>& reports) override;
  Result<std::vector<RelayLevelReport>> ListLevelReports(const std::string& region_code) override;
  Status PutRegionKey(const RegionKeyRecord& key) override;
  Result<std::vector<RegionKeyRecord>> ListRegionKeys(const std::string& region_code) override;
  Status DeleteRegionKey(const std::string& region_code, int key_id) override;
  Result<bool> RecordRelayBatch(const RelayBatchRecord& batch) override;
  Result<RelayBatchTotals> SumRelayBatches() override;
  Result<std::vector<RelayBatchRecord>> ListRelayBatches(const std::string& relay_meter_id, int64_t limit) override;
  Result<std::vector<RelayBatchRecord>> ListRelayBatchesFrom(const std::string& origin_meter_id, int64_t limit) override;
  Result<bool> PutRelayOutcome(const RelayOutcomeRecord& outcome) override;
  Result<std::vector<RelayOutcomeRecord>> ListRelayOutcomes(const std::string& meter_id, int64_t until,
                                                            int64_t limit) override;
  Result<RelayOutcomeTotals> SumRelayOutcomes(const std::string& region_code) override;
  Result<bool> OpenRelayWorkOrder(RelayWorkOrder* order) override;
  Status UpdateRelayWorkOrder(const RelayWorkOrder& order) override;
  Result<std::vector<RelayWorkOrder>> ListRelayWorkOrders(const std::string& meter_id, const std::string& state,
                                                          int64_t limit) override;

  // --- tokens, users, sessions (pg_store.cc) ---
  Status PutToken(const ApiToken& token) override;
  Result<std::optional<ApiToken>> FindToken(const std::string& token_sha256) override;
  Result<std::vector<ApiToken>> ListTokens() override;
  Status RevokeToken(const std::string& token_sha256, int64_t at) override;
  Status AddUser(const UserRecord& user) override;
  Result<std::optional<UserRecord>> GetUser(const std::string& username) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Status DeleteUser(const std::string& username) override;
  Status PutSession(const SessionRecord& session) override;
  Result<std::optional<SessionRecord>> FindSession(const std::string& session_sha256) override;
  Status DeleteSession(const std::string& session_sha256) override;
  Result<int64_t> DeleteExpiredSessions(int64_t now) override;

  // --- the fleet view (pg_store_alerts.cc) ---
  Result<MeterPage> SearchMeters(const MeterQuery& query) override;
  Result<FleetCounts> CountFleet(int64_t alerts_since, int64_t quarantine_since) override;

 private:
  // A read: one statement on a pooled connection.
  Result<pg::Rows> Read(const pg::Statement& s, const pg::Params& p, const std::string& context);
  // Several statements on one pooled connection (e.g. a read transaction).
  template <typename T>
  Result<T> WithReader(const std::function<Result<T>(pg::Connection&)>& f) {
    MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> c, readers_.Take());
    Result<T> out = f(*c);
    readers_.Give(std::move(c));
    return out;
  }
  Result<int64_t> Count(const pg::Statement& s, const pg::Params& p, const std::string& context);
  // A write: one statement on the writer (autocommit), or a transaction of several.
  Result<pg::Rows> Write(const pg::Statement& s, const pg::Params& p, const std::string& context);
  Status WriteTransaction(const std::string& context, const std::function<Status(pg::Connection&)>& body);
  // A transaction on a pooled connection, beside the writer (never behind write_mu_).
  Status PooledTransaction(const std::string& context, const std::function<Status(pg::Connection&)>& body);
  // The writer connection, reconnected when the server dropped it. Call under write_mu_.
  Result<pg::Connection*> Writer();
  // How Commit writes a batch's readings and new meters: COPY'd straight into their tables (all
  // must be new), or merged with what is there (readings replace, meters stay as registered).
  enum class WritePath { kDirect, kMerged };
  // The body of Commit, inside its transaction.
  Status WriteBatch(pg::Connection& db, const IngestBatch& batch, WritePath path);
  // Commit's lease check, inside its transaction (first thing). Call under write_mu_.
  Status CheckFence(pg::Connection& db);
  // UpdateDelivery's statements, inside its transaction on `db`; *found = the delivery exists.
  Status RecordDelivery(pg::Connection& db, const Delivery& d, bool* found);
  // A singleton job's lease check (ClaimDelivery), inside the transaction. Call under write_mu_.
  Status CheckJobFence(pg::Connection& db, const std::string& job);

  const std::string url_;
  std::mutex write_mu_;
  std::unique_ptr<pg::Connection> writer_;  // guarded by write_mu_
  pg::CopyRows copy_;                       // guarded by write_mu_; reused per batch
  bool unflushed_ = false;                  // guarded by write_mu_: a deferred batch committed asynchronously
  std::shared_ptr<const CommitFence> fence_;  // guarded by write_mu_; null = no scale-out, no check
  std::atomic<int64_t> unpacked_{0};
  ConnectionPool readers_;
};

}  // namespace mh::store::pgstore
