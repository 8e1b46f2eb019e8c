// SPEC 4.1 at the head-end: each audited meter's cycle length D from its consumption over the last
// `history_days` against the mean of the other meters of its region over the same days, and its
// user attribute (enterprise Q = 1: watched daily; residential Q = 3). The audit server sends the
// result to the meter before its next cycle (command audit_cycle); the simulator uses the same code.
//
// A meter's region: the one given at commissioning, else its relay identity's region code; meters
// with neither form one group. The region's meters: those whose relay identity is in it and those
// commissioned in it. The other meters without a reading in the span are left out of the mean; a
// meter without one counts as having consumed nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "audit/consumption_source.h"
#include "base/status.h"
#include "meter/audit/schedule.h"
#include "store/audit_store.h"

namespace mh::audit {

struct CyclePlanOptions {
  int history_days = 30;
  meter::audit::CycleOptions cycle;  // w, D_min, D_max
};

struct CyclePlan {
  int d = 3;
  double q = meter::audit::kResidentialQ;
  std::string region;
  double consumption = 0;   // E_h
  double region_mean = 0;   // Ē
  int others = 0;           // meters in Ē
};

// "enterprise" → 1, "residential" → 3; InvalidArgument naming the value otherwise.
Result<double> QuantifiedUserAttribute(const std::string& user_attribute);

// Not thread-safe: the audit server calls it under its own lock.
class CyclePlanner {
 public:
  // `source` and `store` must outlive the planner.
  CyclePlanner(ConsumptionSource* source, store::AuditStore* store, CyclePlanOptions options = {})
      : source_(source), store_(store), options_(options) {}

  // The plan for `meter` with the span ending at local midnight of `day` (zone `tz_offset_s`):
  // the `history_days` local days before it.
  Result<CyclePlan> Plan(const store::AuditMeterRow& meter, int64_t day, int32_t tz_offset_s);

 private:
  Result<std::string> RegionOf(const store::AuditMeterRow& meter);
  // Every member's consumption over the span, computed once per (region, day, zone).
  Result<const std::map<std::string, std::optional<double>>*> RegionConsumption(const std::string& region, int64_t day,
                                                                                 int32_t tz_offset_s);

  ConsumptionSource* const source_;
  store::AuditStore* const store_;
  const CyclePlanOptions options_;
  std::map<std::tuple<std::string, int64_t, int32_t>, std::map<std::string, std::optional<double>>> cache_;
};

}  // namespace mh::audit
