// SPEC 2.4: relay SSIDs, which beacons a scanning meter accepts, and the relay-quality score
// S = max(α, F) / (1 + exp(−(R − R̄) / max(1, |L3 − L2|))) that picks the k best relays.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::meter {

inline constexpr std::string_view kSsidPrefix = "elecmeter_AP";  // 12 chars
inline constexpr size_t kRegionCodeLength = 9;
inline constexpr size_t kPositionCodeLength = 6;
inline constexpr size_t kRelaySsidLength = 27;  // prefix + region + position

// True for exactly `len` ASCII digits.
bool IsDigits(std::string_view s, size_t len);
// "elecmeter_AP" + region (9 digits) + position (6 digits); InvalidArgument otherwise.
Result<std::string> MakeRelaySsid(std::string_view region_code, std::string_view position_code);

// Accepted when the first 21 chars are the prefix and `region_code` and the SSID is 27 chars
// ending in 6 digits (a malformed position code is treated like a foreign beacon).
bool AcceptsBeacon(std::string_view ssid, std::string_view region_code);

struct ScannedBeacon {
  std::string ssid;
  double rssi_dbm = 0;   // R
  double frequency = 0;  // F: times seen broadcasting in the last history_days target sub-periods
};

struct ScoredRelay {
  std::string ssid;
  std::string position_code;  // L2, chars [21,27)
  double rssi_dbm = 0;
  double frequency = 0;
  double score = 0;  // S
};

struct ScoreOptions {
  double alpha = 3;  // α: theoretical lower bound of the broadcast frequency
  int k = 3;         // relays chosen
};

// S for one beacon given R̄ and |L3 − L2|.
double RelayScore(double rssi, double mean_rssi, long position_distance, double frequency, double alpha);

// Keeps the accepted beacons, R̄ = their mean RSSI, scores them, returns the k best: higher S
// first, tie → higher R, then lower position code, then scan order. InvalidArgument when the
// region or own position code is malformed or k < 0.
Result<std::vector<ScoredRelay>> ChooseRelays(const std::vector<ScannedBeacon>& scan,
                                              std::string_view region_code,
                                              std::string_view self_position,
                                              const ScoreOptions& options = {});

}  // namespace mh::meter
