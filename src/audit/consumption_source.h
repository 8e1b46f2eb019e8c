// What the audit server reads of the readings store: whether a meter is registered (commissioning
// refuses unknown meters — the ledger would keep them forever), a meter's consumption over a span
// and the meters of a region (the cycle length of SPEC 4.1). A small seam: the daemon implements it
// over store::Store (src/app/store_consumption.h), the simulator and the tests in memory — the audit
// area never sees the ingest pipeline or a transport.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::audit {

class ConsumptionSource {
 public:
  virtual ~ConsumptionSource() = default;
  // Whether the readings store knows the meter (POST /api/v1/meters).
  virtual Result<bool> IsRegistered(const std::string& meter_id) = 0;
  // Energy the meter consumed in (from, to] (UTC epoch seconds), from its accepted cumulative
  // readings: the register at `to` minus the register at `from` (or at the first reading after
  // `from` when the history starts later). nullopt when it has no reading in (.., to] at all.
  virtual Result<std::optional<double>> Consumption(const std::string& meter_id, int64_t from, int64_t to) = 0;
  // The meters whose relay identity is in `region` (a SPEC 0.1 region code), by id.
  virtual Result<std::vector<std::string>> MetersOfRegion(const std::string& region) = 0;
  // The region code of the meter's relay identity; nullopt when it has none.
  virtual Result<std::optional<std::string>> RegionOf(const std::string& meter_id) = 0;
};

// In memory (the simulator, tests): readings and relay regions added by hand. Not thread-safe.
class MemoryConsumptionSource final : public ConsumptionSource {
 public:
  void Register(const std::string& meter_id) { registered_[meter_id]; }
  // A cumulative register reading (registers the meter).
  void AddReading(const std::string& meter_id, int64_t t, double value) { registered_[meter_id][t] = value; }
  void SetRegion(const std::string& meter_id, const std::string& region) { regions_[meter_id] = region; }

  Result<bool> IsRegistered(const std::string& meter_id) override { return registered_.count(meter_id) > 0; }
  Result<std::optional<double>> Consumption(const std::string& meter_id, int64_t from, int64_t to) override;
  Result<std::vector<std::string>> MetersOfRegion(const std::string& region) override;
  Result<std::optional<std::string>> RegionOf(const std::string& meter_id) override;

 private:
  std::map<std::string, std::map<int64_t, double>> registered_;  // meter → t → register
  std::map<std::string, std::string> regions_;
};

}  // namespace mh::audit
