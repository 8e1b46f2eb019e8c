// An in-memory Store for the alerts tests: deliveries only (everything else is kInternal), plus
// a log of every UpdateDelivery so a test can read the attempt history.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "store/store.h"

namespace mh::alerts::testing {

class FakeDeliveryStore final : public store::Store {
 public:
  // Adds a pending delivery due at `next_attempt_at`; returns its id.
  int64_t AddDelivery(store::Delivery d) {
    std::lock_guard<std::mutex> lock(mu_);
    d.id = ++last_id_;
    deliveries_[d.id] = d;
    return d.id;
  }
  store::Delivery Get(int64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_.at(id);
  }
  std::vector<store::Delivery> Updates() {
    std::lock_guard<std::mutex> lock(mu_);
    return updates_;
  }
  void FailUpdates(bool fail) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_updates_ = fail;
  }

  Result<std::vector<store::Delivery>> DueDeliveries(int64_t now_ms, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::Delivery> out;
    for (const auto& [id, d] : deliveries_) {  // ids ascend: oldest first
      if (static_cast<int64_t>(out.size()) >= limit) break;
      if (d.status == store::DeliveryStatus::kPending && d.next_attempt_at <= now_ms) out.push_back(d);
    }
    return out;
  }
  Result<bool> ClaimDelivery(int64_t delivery_id, int64_t due_at, int64_t until) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deliveries_.find(delivery_id);
    if (it == deliveries_.end() || it->second.status != store::DeliveryStatus::kPending ||
        it->second.next_attempt_at != due_at)
      return false;
    it->second.next_attempt_at = until;
    return true;
  }
  Status UpdateDelivery(const store::Delivery& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_updates_) return Unavailable("fake store: updates disabled");
    if (deliveries_.count(d.id) == 0) return NotFound("no delivery " + std::to_string(d.id));
    deliveries_[d.id] = d;
    updates_.push_back(d);
    return Status::Ok();
  }
  Result<std::vector<store::DeliveryAttempt>> ListDeliveryAttempts(int64_t delivery_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::DeliveryAttempt> out;
    for (const auto& d : updates_)
      if (d.id == delivery_id && d.attempts > 0) out.push_back({d.id, d.attempts, d.updated_at, d.status, d.last_error});
    return out;
  }
  Result<std::vector<store::Delivery>> ListDeliveries(const std::string& meter_id, int64_t alert_id,
                                                      int64_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::Delivery> out;
    for (const auto& [id, d] : deliveries_) {
      if ((alert_id == 0 || d.alert_id == alert_id) && static_cast<int64_t>(out.size()) < limit) out.push_back(d);
    }
    return out;
  }

  Result<std::optional<store::Delivery>> GetDelivery(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deliveries_.find(id);
    if (it == deliveries_.end()) return std::optional<store::Delivery>();
    return std::optional<store::Delivery>(it->second);
  }

  // Not used by the alerts module.
  Status UpsertMeter(const store::MeterInfo&) override { return Unused(); }
  Result<std::optional<store::MeterInfo>> GetMeter(const std::string&) override { return Unused(); }
  Result<std::vector<store::MeterInfo>> ListMeters(const std::string&, int64_t, int64_t) override { return Unused(); }
  Result<int64_t> CountMeters() override { return Unused(); }
  Result<std::optional<store::MeterInfo>> FindMeterByAddress(const std::string&, const std::string&) override {
    return Unused();
  }
  Result<std::vector<store::MeterInfo>> MetersBehindGateway(const std::string&) override { return Unused(); }
  Status SetCustomerThreshold(const std::string&, std::optional<double>) override { return Unused(); }
  Status BindTerminal(const store::Terminal&) override { return Unused(); }
  Status UnbindTerminal(const std::string&, const std::string&) override { return Unused(); }
  Result<std::vector<store::Terminal>> ListTerminals(const std::string&) override { return Unused(); }
  Status Commit(const store::IngestBatch&) override { return Unused(); }
  Status Pack() override { return Unused(); }
  int64_t UnpackedReadings() override { return 0; }
  Result<std::vector<store::MeterStateRecord>> LoadMeterStates(const std::vector<std::string>&) override {
    return Unused();
  }
  Result<std::vector<store::StoredReading>> QueryReadings(const std::string&, store::TimeRange, int64_t,
                                                          const std::string&) override {
    return Unused();
  }
  Result<std::optional<store::StoredReading>> LastReadingAtOrBefore(const std::string&, int64_t,
                                                                    const std::string&) override {
    return Unused();
  }
  Result<std::optional<store::StoredReading>> GetReading(const std::string&, int64_t, const std::string&) override {
    return Unused();
  }
  Result<std::vector<store::ReadingVersion>> ListReadingVersions(const std::string&, int64_t,
                                                                 const std::string&) override {
    return Unused();
  }
  Result<std::optional<store::ReadingEstimate>> GetEstimate(const std::string&, int64_t,
                                                            const std::string&) override {
    return Unused();
  }
  Result<std::vector<store::QuarantinedReading>> QueryQuarantine(const std::string&, store::TimeRange,
                                                                 int64_t) override {
    return Unused();
  }
  Result<std::vector<store::ReadingEvent>> QueryEvents(const std::string&, store::TimeRange, int64_t) override {
    return Unused();
  }
  Result<int64_t> CountReadings() override { return Unused(); }
  Result<int64_t> CountQuarantine() override { return Unused(); }
  Result<int64_t> CountEstimatedReadings() override { return Unused(); }
  Result<std::vector<store::AlertRecord>> ListAlerts(const std::string&, store::TimeRange, int64_t) override {
    return Unused();
  }
  Result<int64_t> CountAlerts(const std::string&, const std::string&, int64_t) override { return Unused(); }
  Status UpsertRelayMeter(const store::RelayMeter&) override { return Unused(); }
  Result<std::optional<store::RelayMeter>> GetRelayMeter(const std::string&) override { return Unused(); }
  Result<std::vector<store::RelayMeter>> ListRelayMeters(const std::string&) override { return Unused(); }
  Status ReplaceLevelReports(const std::string&, const std::vector<store::RelayLevelReport>&) override {
    return Unused();
  }
  Result<std::vector<store::RelayLevelReport>> ListLevelReports(const std::string&) override { return Unused(); }
  Status PutRegionKey(const store::RegionKeyRecord&) override { return Unused(); }
  Result<std::vector<store::RegionKeyRecord>> ListRegionKeys(const std::string&) override { return Unused(); }
  Status DeleteRegionKey(const std::string&, int) override { return Unused(); }
  Result<bool> RecordRelayBatch(const store::RelayBatchRecord&) override { return Unused(); }
  Result<store::RelayBatchTotals> SumRelayBatches() override { return Unused(); }
  Result<std::vector<store::RelayBatchRecord>> ListRelayBatches(const std::string&, int64_t) override {
    return Unused();
  }
  Result<std::vector<store::RelayBatchRecord>> ListRelayBatchesFrom(const std::string&, int64_t) override {
    return Unused();
  }
  Result<bool> PutRelayOutcome(const store::RelayOutcomeRecord&) override { return Unused(); }
  Result<std::vector<store::RelayOutcomeRecord>> ListRelayOutcomes(const std::string&, int64_t, int64_t) override {
    return Unused();
  }
  Result<store::RelayOutcomeTotals> SumRelayOutcomes(const std::string&) override { return Unused(); }
  Result<bool> OpenRelayWorkOrder(store::RelayWorkOrder*) override { return Unused(); }
  Status UpdateRelayWorkOrder(const store::RelayWorkOrder&) override { return Unused(); }
  Result<std::vector<store::RelayWorkOrder>> ListRelayWorkOrders(const std::string&, const std::string&, int64_t) override {
    return Unused();
  }
  Result<std::vector<int64_t>> RequeueFailedDeliveries(const store::DeliveryRequeue&) override { return Unused(); }
  Result<std::vector<store::DeliveryRequeueRecord>> ListDeliveryRequeues(int64_t) override { return Unused(); }
  Status PutToken(const store::ApiToken&) override { return Unused(); }
  Result<std::optional<store::ApiToken>> FindToken(const std::string&) override { return Unused(); }
  Result<std::vector<store::ApiToken>> ListTokens() override { return Unused(); }
  Status RevokeToken(const std::string&, int64_t) override { return Unused(); }
  Status AddUser(const store::UserRecord&) override { return Unused(); }
  Result<std::optional<store::UserRecord>> GetUser(const std::string&) override { return Unused(); }
  Result<std::vector<store::UserRecord>> ListUsers() override { return Unused(); }
  Status DeleteUser(const std::string&) override { return Unused(); }
  Status PutSession(const store::SessionRecord&) override { return Unused(); }
  Result<std::optional<store::SessionRecord>> FindSession(const std::string&) override { return Unused(); }
  Status DeleteSession(const std::string&) override { return Unused(); }
  Result<int64_t> DeleteExpiredSessions(int64_t) override { return Unused(); }
  Result<store::MeterPage> SearchMeters(const store::MeterQuery&) override { return Unused(); }
  Result<store::FleetCounts> CountFleet(int64_t, int64_t) override { return Unused(); }

 private:
  static Status Unused() { return Internal("not implemented by FakeDeliveryStore"); }

  std::mutex mu_;
  int64_t last_id_ = 0;                          // guarded by mu_
  std::map<int64_t, store::Delivery> deliveries_;  // guarded by mu_
  std::vector<store::Delivery> updates_;         // guarded by mu_
  bool fail_updates_ = false;                    // guarded by mu_
};

}  // namespace mh::alerts::testing
