#include "relay/head_end.h"

#include "crypto/crypto.h"

namespace mh::relay {

HeadEnd::HeadEnd(const DeviceKeys* keys, size_t remembered_batches) : keys_(keys), remembered_(remembered_batches) {}

void HeadEnd::Report(const std::string& region_code, const LevelReport& report) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& reports = reports_[region_code];
  // One report per (meter, sub-period): the newest replaces the old one.
  for (auto& r : reports) {
    if (r.meter_id == report.meter_id && r.sub_period == report.sub_period) {
      r.level = report.level;
      return;
    }
  }
  reports.push_back(report);
}

std::optional<int> HeadEnd::Target(const std::string& region_code) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reports_.find(region_code);
  if (it == reports_.end()) return std::nullopt;
  return TargetSubPeriod(it->second);
}

std::map<int, double> HeadEnd::Levels(const std::string& region_code) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = reports_.find(region_code);
  if (it == reports_.end()) return {};
  return RegionLevels(it->second);
}

Result<meter::RegionKey> HeadEnd::RotateKey(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes secret, crypto::RandomBytes(32));
  std::lock_guard<std::mutex> lock(mu_);
  auto& keys = region_keys_[region_code];
  meter::RegionKey key;
  const int previous = keys.empty() ? 0 : keys.front().id;
  key.id = static_cast<uint8_t>(previous % 255 + 1);
  std::copy(secret.begin(), secret.end(), key.key.begin());
  keys.insert(keys.begin(), key);
  if (keys.size() > 2) keys.resize(2);
  return key;
}

std::vector<meter::RegionKey> HeadEnd::Keys(const std::string& region_code) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = region_keys_.find(region_code);
  return it == region_keys_.end() ? std::vector<meter::RegionKey>{} : it->second;
}

Result<bool> HeadEnd::Accept(const ForwardedBatch& f) {
  const std::string& origin = f.batch.origin_meter_id;
  std::optional<std::vector<uint8_t>> device_key = keys_->DeviceKey(origin);
  if (!device_key) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.unknown_origin;
    return NotFound("forwarded batch of unknown meter '" + origin + "' (via " + f.relay_meter_id + ")");
  }
  Status verified = meter::VerifyBatch(f.batch, f.tag, *device_key);
  std::lock_guard<std::mutex> lock(mu_);
  if (!verified.ok()) {
    ++stats_.rejected;
    return verified.WithContext("forwarded batch of " + origin + " via " + f.relay_meter_id);
  }
  // The tag identifies the batch's content: the same batch through a second relay is a duplicate.
  std::string id = crypto::HexEncode(f.tag);
  if (!seen_.insert(id).second) {
    ++stats_.duplicates;
    return false;
  }
  seen_order_.push_back(std::move(id));
  if (seen_order_.size() > remembered_) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  ++stats_.accepted;
  stats_.readings += static_cast<int64_t>(f.batch.readings.size());
  return true;
}

RelayStats HeadEnd::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace mh::relay
