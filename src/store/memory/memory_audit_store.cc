// The AuditStore in memory (tests): the same semantics as the SQLite backend, under one mutex.
#include <algorithm>
#include <map>
#include <mutex>

#include "store/audit_store.h"

namespace mh::store {
namespace {

class MemoryAuditStore final : public AuditStore {
 public:
  Status PutSegments(const AuditSegments& s) override {
    std::lock_guard lock(mu_);
    segments_[s.meter_id] = s;
    return Status::Ok();
  }
  Result<std::optional<AuditSegments>> GetSegments(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    auto it = segments_.find(meter_id);
    if (it == segments_.end()) return std::optional<AuditSegments>();
    return std::optional<AuditSegments>(it->second);
  }
  Result<std::vector<std::string>> MetersWithSegments() override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, s] : segments_) out.push_back(id);
    return out;
  }
  Status PutMeter(const AuditMeterRow& meter) override {
    std::lock_guard lock(mu_);
    meters_[meter.meter_id] = meter;
    return Status::Ok();
  }
  Result<std::optional<AuditMeterRow>> GetMeter(const std::string& meter_id) override {
    std::lock_guard lock(mu_);
    auto it = meters_.find(meter_id);
    if (it == meters_.end()) return std::optional<AuditMeterRow>();
    return std::optional<AuditMeterRow>(it->second);
  }
  Result<std::vector<std::string>> MetersInRegion(const std::string& region) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, m] : meters_) {
      if (m.region == region) out.push_back(id);
    }
    return out;
  }
  Result<int64_t> AddResult(const AuditResultRow& row) override {
    std::lock_guard lock(mu_);
    results_.push_back(row);
    results_.back().id = static_cast<int64_t>(results_.size());
    return results_.back().id;
  }
  Result<std::vector<AuditResultRow>> Results(const std::string& meter_id, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<AuditResultRow> out;
    for (auto it = results_.rbegin(); it != results_.rend() && static_cast<int>(out.size()) < limit; ++it) {
      if (meter_id.empty() || it->meter_id == meter_id) out.push_back(*it);
    }
    return out;
  }
  Status PutOrder(const InspectionOrderRow& order) override {
    std::lock_guard lock(mu_);
    auto it = std::find_if(orders_.begin(), orders_.end(), [&](const auto& o) { return o.id == order.id; });
    if (it == orders_.end()) {
      orders_.push_back(order);
    } else {
      *it = order;
    }
    return Status::Ok();
  }
  Result<std::optional<InspectionOrderRow>> GetOrder(const std::string& id) override {
    std::lock_guard lock(mu_);
    for (const auto& o : orders_) {
      if (o.id == id) return std::optional<InspectionOrderRow>(o);
    }
    return std::optional<InspectionOrderRow>();
  }
  Result<std::vector<InspectionOrderRow>> Orders(const std::string& state, int limit) override {
    std::lock_guard lock(mu_);
    std::vector<InspectionOrderRow> out;
    for (auto it = orders_.rbegin(); it != orders_.rend() && static_cast<int>(out.size()) < limit; ++it) {
      if (state.empty() || it->state == state) out.push_back(*it);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, AuditSegments> segments_;
  std::map<std::string, AuditMeterRow> meters_;
  std::vector<AuditResultRow> results_;
  std::vector<InspectionOrderRow> orders_;  // in insertion order
};

}  // namespace

std::unique_ptr<AuditStore> NewMemoryAuditStore() { return std::make_unique<MemoryAuditStore>(); }

}  // namespace mh::store
