#include "app/store_consumption.h"

namespace mh::app {

Result<bool> StoreConsumptionSource::IsRegistered(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> meter, store_->GetMeter(meter_id));
  return meter.has_value();
}

Result<std::optional<double>> StoreConsumptionSource::Consumption(const std::string& meter_id, int64_t from, int64_t to) {
  if (from >= to) return std::optional<double>();
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> end, store_->LastReadingAtOrBefore(meter_id, to));
  if (!end) return std::optional<double>();
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> start, store_->LastReadingAtOrBefore(meter_id, from));
  if (!start) {
    // The meter's history starts inside the span: from its first reading there.
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> first, store_->QueryReadings(meter_id, store::TimeRange{from + 1, to}, 1));
    if (first.empty()) return std::optional<double>();
    start = first.front();
  }
  const double used = end->value - start->value;
  if (used >= 0) return std::optional<double>(used);
  // The register went round (or was reset) inside the span: add up the accepted differences.
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows, store_->QueryReadings(meter_id, store::TimeRange{start->ts + 1, to}, 0));
  double sum = 0;
  for (const store::StoredReading& r : rows) sum += r.consumption;
  return std::optional<double>(sum);
}

Result<std::vector<std::string>> StoreConsumptionSource::MetersOfRegion(const std::string& region) {
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> meters, store_->ListRelayMeters(region));
  std::vector<std::string> out;
  for (const store::RelayMeter& m : meters) out.push_back(m.meter_id);
  return out;
}

Result<std::optional<std::string>> StoreConsumptionSource::RegionOf(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(std::optional<store::RelayMeter> relay, store_->GetRelayMeter(meter_id));
  if (!relay) return std::optional<std::string>();
  return std::optional<std::string>(relay->region_code);
}

}  // namespace mh::app
