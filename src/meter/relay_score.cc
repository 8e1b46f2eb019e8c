#include "meter/relay_score.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace mh::meter {

bool IsDigits(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<std::string> MakeRelaySsid(std::string_view region_code, std::string_view position_code) {
  if (!IsDigits(region_code, kRegionCodeLength)) {
    return InvalidArgument("region code '" + std::string(region_code) + "' is not 9 digits");
  }
  if (!IsDigits(position_code, kPositionCodeLength)) {
    return InvalidArgument("position code '" + std::string(position_code) + "' is not 6 digits");
  }
  return std::string(kSsidPrefix) + std::string(region_code) + std::string(position_code);
}

bool AcceptsBeacon(std::string_view ssid, std::string_view region_code) {
  constexpr size_t kHead = kSsidPrefix.size() + kRegionCodeLength;  // 21
  if (ssid.size() != kRelaySsidLength) return false;
  if (ssid.substr(0, kSsidPrefix.size()) != kSsidPrefix) return false;
  if (ssid.substr(kSsidPrefix.size(), kRegionCodeLength) != region_code) return false;
  return IsDigits(ssid.substr(kHead), kPositionCodeLength);
}

double RelayScore(double rssi, double mean_rssi, long position_distance, double frequency, double alpha) {
  const double scale = std::max(1.0, static_cast<double>(std::labs(position_distance)));
  return std::max(alpha, frequency) / (1.0 + std::exp(-(rssi - mean_rssi) / scale));
}

Result<std::vector<ScoredRelay>> ChooseRelays(const std::vector<ScannedBeacon>& scan,
                                              std::string_view region_code,
                                              std::string_view self_position,
                                              const ScoreOptions& options) {
  if (!IsDigits(region_code, kRegionCodeLength)) {
    return InvalidArgument("region code '" + std::string(region_code) + "' is not 9 digits");
  }
  if (!IsDigits(self_position, kPositionCodeLength)) {
    return InvalidArgument("own position code '" + std::string(self_position) + "' is not 6 digits");
  }
  if (options.k < 0) return InvalidArgument("k must not be negative");
  std::vector<ScoredRelay> accepted;
  double sum = 0;
  for (const ScannedBeacon& b : scan) {
    if (!AcceptsBeacon(b.ssid, region_code)) continue;
    accepted.push_back({b.ssid, b.ssid.substr(21), b.rssi_dbm, b.frequency, 0});
    sum += b.rssi_dbm;
  }
  if (accepted.empty()) return accepted;
  const double mean = sum / static_cast<double>(accepted.size());
  const long l3 = std::stol(std::string(self_position));
  for (ScoredRelay& r : accepted) {
    r.score = RelayScore(r.rssi_dbm, mean, l3 - std::stol(r.position_code), r.frequency, options.alpha);
  }
  std::stable_sort(accepted.begin(), accepted.end(), [](const ScoredRelay& a, const ScoredRelay& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.rssi_dbm != b.rssi_dbm) return a.rssi_dbm > b.rssi_dbm;
    return a.position_code < b.position_code;  // equal length digits: lexical = numeric
  });
  if (accepted.size() > static_cast<size_t>(options.k)) accepted.resize(static_cast<size_t>(options.k));
  return accepted;
}

}  // namespace mh::meter
