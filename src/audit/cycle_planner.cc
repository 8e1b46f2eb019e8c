#include "audit/cycle_planner.h"

#include <algorithm>
#include <set>

namespace mh::audit {
namespace {

namespace ma = meter::audit;

// Spans of old days are not asked for again: keep the cache to the days in use.
constexpr size_t kMaxCachedRegions = 4096;

}  // namespace

Result<double> QuantifiedUserAttribute(const std::string& user_attribute) {
  if (user_attribute == "enterprise") return ma::kEnterpriseQ;
  if (user_attribute == "residential") return ma::kResidentialQ;
  return InvalidArgument("user attribute '" + user_attribute + "' is not enterprise or residential");
}

Result<std::string> CyclePlanner::RegionOf(const store::AuditMeterRow& meter) {
  if (!meter.region.empty()) return meter.region;
  MH_ASSIGN_OR_RETURN(std::optional<std::string> relay, source_->RegionOf(meter.meter_id));
  return relay.value_or("");
}

Result<const std::map<std::string, std::optional<double>>*> CyclePlanner::RegionConsumption(const std::string& region,
                                                                                             int64_t day,
                                                                                             int32_t tz_offset_s) {
  const auto key = std::make_tuple(region, day, tz_offset_s);
  if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
  std::set<std::string> members;
  if (!region.empty()) {
    MH_ASSIGN_OR_RETURN(std::vector<std::string> relay, source_->MetersOfRegion(region));
    members.insert(relay.begin(), relay.end());
  }
  MH_ASSIGN_OR_RETURN(std::vector<std::string> commissioned, store_->MetersInRegion(region));
  members.insert(commissioned.begin(), commissioned.end());
  const int64_t to = day * ma::kDaySeconds - tz_offset_s;
  const int64_t from = to - options_.history_days * ma::kDaySeconds;
  std::map<std::string, std::optional<double>> used;
  for (const std::string& m : members) {
    MH_ASSIGN_OR_RETURN(used[m], source_->Consumption(m, from, to));
  }
  if (cache_.size() >= kMaxCachedRegions) {
    // Drop the spans that end before this one's: the planner moves forward in time.
    for (auto it = cache_.begin(); it != cache_.end();) {
      it = std::get<1>(it->first) < day ? cache_.erase(it) : std::next(it);
    }
    if (cache_.size() >= kMaxCachedRegions) cache_.clear();
  }
  return &cache_.emplace(key, std::move(used)).first->second;
}

Result<CyclePlan> CyclePlanner::Plan(const store::AuditMeterRow& meter, int64_t day, int32_t tz_offset_s) {
  CyclePlan plan;
  MH_ASSIGN_OR_RETURN(plan.q, QuantifiedUserAttribute(meter.user_attribute));
  MH_ASSIGN_OR_RETURN(plan.region, RegionOf(meter));
  MH_ASSIGN_OR_RETURN(const auto* region, RegionConsumption(plan.region, day, tz_offset_s));
  // The meter's own figure is read fresh: its latest readings may have come after the cache.
  const int64_t to = day * ma::kDaySeconds - tz_offset_s;
  MH_ASSIGN_OR_RETURN(std::optional<double> own,
                      source_->Consumption(meter.meter_id, to - options_.history_days * ma::kDaySeconds, to));
  plan.consumption = own.value_or(0);
  std::vector<double> others;
  for (const auto& [id, used] : *region) {
    if (id != meter.meter_id && used) others.push_back(*used);
  }
  plan.others = static_cast<int>(others.size());
  plan.region_mean = ma::RegionMean(others);
  MH_ASSIGN_OR_RETURN(plan.d, ma::CycleLength(plan.consumption, plan.region_mean, plan.q, options_.cycle));
  return plan;
}

}  // namespace mh::audit
