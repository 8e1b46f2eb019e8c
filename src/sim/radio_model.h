// The default radio model of SPEC 6.1, fixed so that relay and plain retry are compared fairly:
// per-meter base uplink success with a poor tail, per-building Markov interference persisting
// across nights, multi-night uplink module faults, and a log-distance Wi-Fi link between meters.
// Every draw comes from a stream keyed by (seed, meter or building or link, night, purpose), so the
// draws do not depend on the order a strategy asks for them: both strategies see the same fleet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::sim {

struct RadioModelOptions {
  int street_length = 200;            // meters per street; position codes 1..street_length
  double position_step_m = 10;        // distance between neighbouring positions (informational)
  int building_size = 10;             // consecutive positions sharing interference
  double good_uplink_p = 0.995;       // p_i of an ordinary meter
  double poor_share = 0.10;           // share of "poor spot" meters (basements, far ends)
  double poor_p_min = 0.05;           // poor p_i ~ U[poor_p_min, poor_p_max]
  double poor_p_max = 0.6;
  double interference_good = 1.0;     // s in the good state
  double interference_bad = 0.3;      // s in the bad state
  double p_good_to_bad = 0.05;        // per night
  double p_bad_to_bad = 0.8;          // per night
  double fault_rate = 0.002;          // share of healthy meters whose uplink module fails per night
  double fault_mean_nights = 5;       // mean of the geometric fault duration (≥ 1 night)
  double rssi_at_zero_dbm = -40;      // RSSI = rssi_at_zero − rssi_slope·log10(1 + 10·|ΔL|) + N(0, σ)
  double rssi_slope = 25;
  double rssi_sigma_db = 4;
  double wifi_threshold_dbm = -85;    // a frame can only succeed above this RSSI
  double wifi_frame_success = 0.95;   // frame success above the threshold
  int readings_per_day = 96;          // every 15 min

  // InvalidArgument naming the first bad field.
  Status Validate() const;
  // One "name = value" line per field, for reports.
  std::string Describe() const;
};

// Draw purposes: each gets its own stream so adding a consumer never shifts another's draws.
enum class DrawPurpose : uint64_t {
  kDayReadings = 1,   // per (meter, day): the first upload of each reading
  kRetryUplink = 2,   // per (meter, night): plain-retry attempts over the own uplink
  kForwardUplink = 3, // per (relay, night): forwards over the relay's uplink
  kWifiFrame = 4,     // per (origin, night): meter-to-meter frame outcomes
  kOutcomeUplink = 5, // per (meter, night): the nightly outcome report over the own uplink
};

class RadioModel {
 public:
  // Draws the fleet: `meters` meters in streets of street_length, nights 1..nights.
  // InvalidArgument for bad options, meters < 1 or nights < 1.
  static Result<RadioModel> Create(const RadioModelOptions& options, int meters, int nights,
                                   uint64_t seed);

  const RadioModelOptions& options() const { return options_; }
  int meters() const { return meters_; }
  int nights() const { return nights_; }
  uint64_t seed() const { return seed_; }

  int Street(int meter) const { return meter / options_.street_length; }
  int Position(int meter) const { return meter % options_.street_length + 1; }  // 1..street_length
  int Building(int meter) const {
    return Street(meter) * buildings_per_street_ + (Position(meter) - 1) / options_.building_size;
  }
  int buildings() const { return buildings_; }

  double BaseUplink(int meter) const { return base_p_[meter]; }
  bool IsPoorSpot(int meter) const { return poor_[meter] != 0; }
  // Interference factor s of a building on `night` (1-based; day d shares night d's state).
  double Interference(int building, int night) const;
  bool InterferenceBad(int building, int night) const {
    return bad_[static_cast<size_t>(building) * nights_ + (night - 1)] != 0;
  }
  bool Faulty(int meter, int night) const {
    return fault_[static_cast<size_t>(meter) * nights_ + (night - 1)] != 0;
  }
  // Uplink success per attempt = p_i × s(building, night), 0 while the module is faulty.
  double UplinkSuccess(int meter, int night) const;

  // RSSI (dBm) of the link between two meters of one street on `night`: symmetric, one draw per
  // (unordered pair, night), mean −40 − 25·log10(1 + 10·|ΔL|).
  double Rssi(int a, int b, int night) const;
  double MeanRssi(int position_distance) const;
  // Frame success probability at `rssi`.
  double FrameSuccess(double rssi) const {
    return rssi > options_.wifi_threshold_dbm ? options_.wifi_frame_success : 0.0;
  }
  // Largest |ΔL| whose link can ever be heard (mean RSSI + 6σ above the threshold).
  int MaxHearingDistance() const { return max_hearing_distance_; }

  // Seed of the stream for (id, night, purpose).
  uint64_t StreamSeed(uint64_t id, int night, DrawPurpose purpose) const;

 private:
  RadioModel() = default;

  RadioModelOptions options_;
  int meters_ = 0;
  int nights_ = 0;
  uint64_t seed_ = 0;
  int buildings_per_street_ = 0;
  int buildings_ = 0;
  int max_hearing_distance_ = 0;
  std::vector<double> base_p_;   // per meter
  std::vector<uint8_t> poor_;    // per meter
  std::vector<uint8_t> bad_;     // [building × nights + night − 1]
  std::vector<uint8_t> fault_;   // [meter × nights + night − 1]
};

}  // namespace mh::sim
