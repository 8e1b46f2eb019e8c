#include "audit/consumption_source.h"

namespace mh::audit {

Result<std::optional<double>> MemoryConsumptionSource::Consumption(const std::string& meter_id, int64_t from, int64_t to) {
  auto m = registered_.find(meter_id);
  if (m == registered_.end() || from >= to) return std::optional<double>();
  const auto& r = m->second;
  auto end = r.upper_bound(to);
  if (end == r.begin()) return std::optional<double>();  // no reading at or before `to`
  auto start = r.upper_bound(from);
  // The register at `from`: the last reading at or before it, else the first one after it.
  if (start != r.begin()) {
    --start;
  } else if (start == end) {
    return std::optional<double>();
  }
  return std::optional<double>(std::prev(end)->second - start->second);
}

Result<std::vector<std::string>> MemoryConsumptionSource::MetersOfRegion(const std::string& region) {
  std::vector<std::string> out;
  for (const auto& [id, r] : regions_) {
    if (r == region) out.push_back(id);
  }
  return out;
}

Result<std::optional<std::string>> MemoryConsumptionSource::RegionOf(const std::string& meter_id) {
  auto it = regions_.find(meter_id);
  if (it == regions_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

}  // namespace mh::audit
