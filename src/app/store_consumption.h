// The audit server's view of the readings store (audit::ConsumptionSource over store::Store):
// registered meters, a meter's consumption from its accepted cumulative readings, and the meters
// of a region from their relay identities. Read-only; safe from any thread (the store is).
#pragma once

#include "audit/consumption_source.h"
#include "store/store.h"

namespace mh::app {

class StoreConsumptionSource final : public audit::ConsumptionSource {
 public:
  // `store` must outlive this.
  explicit StoreConsumptionSource(store::Store* store) : store_(store) {}

  Result<bool> IsRegistered(const std::string& meter_id) override;
  Result<std::optional<double>> Consumption(const std::string& meter_id, int64_t from, int64_t to) override;
  Result<std::vector<std::string>> MetersOfRegion(const std::string& region) override;
  Result<std::optional<std::string>> RegionOf(const std::string& meter_id) override;

 private:
  store::Store* const store_;
};

}  // namespace mh::app
