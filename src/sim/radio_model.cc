#include "sim/radio_model.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "sim/rng.h"

namespace mh::sim {
namespace {

// Fixed stream tags for the fleet draws (independent of DrawPurpose, which covers per-night use).
constexpr uint64_t kTagBaseUplink = 0x101;
constexpr uint64_t kTagInterference = 0x102;
constexpr uint64_t kTagFault = 0x103;
constexpr uint64_t kTagRssi = 0x104;

bool IsProbability(double p) { return p >= 0 && p <= 1; }

}  // namespace

Status RadioModelOptions::Validate() const {
  if (street_length < 1) return InvalidArgument("street_length must be ≥ 1");
  if (building_size < 1) return InvalidArgument("building_size must be ≥ 1");
  if (!IsProbability(good_uplink_p)) return InvalidArgument("good_uplink_p must lie in [0, 1]");
  if (!IsProbability(poor_share)) return InvalidArgument("poor_share must lie in [0, 1]");
  if (!IsProbability(poor_p_min) || !IsProbability(poor_p_max) || poor_p_min > poor_p_max)
    return InvalidArgument("poor_p_min ≤ poor_p_max must lie in [0, 1]");
  if (!IsProbability(interference_good) || !IsProbability(interference_bad))
    return InvalidArgument("interference factors must lie in [0, 1]");
  if (!IsProbability(p_good_to_bad) || !IsProbability(p_bad_to_bad))
    return InvalidArgument("interference transition probabilities must lie in [0, 1]");
  if (!IsProbability(fault_rate)) return InvalidArgument("fault_rate must lie in [0, 1]");
  if (!(fault_mean_nights >= 1)) return InvalidArgument("fault_mean_nights must be ≥ 1");
  if (!(rssi_sigma_db >= 0)) return InvalidArgument("rssi_sigma_db must be ≥ 0");
  if (!IsProbability(wifi_frame_success)) return InvalidArgument("wifi_frame_success must lie in [0, 1]");
  if (readings_per_day < 1) return InvalidArgument("readings_per_day must be ≥ 1");
  return Status::Ok();
}

std::string RadioModelOptions::Describe() const {
  std::ostringstream o;
  o << "street_length = " << street_length << " (positions 1.." << street_length << ", "
    << position_step_m << " m apart)\n"
    << "building_size = " << building_size << " positions\n"
    << "uplink p_i = " << good_uplink_p << " for " << (1 - poor_share) * 100 << " %, U["
    << poor_p_min << ", " << poor_p_max << "] for " << poor_share * 100 << " %\n"
    << "interference s: good " << interference_good << " / bad " << interference_bad
    << ", P(good->bad) = " << p_good_to_bad << ", P(bad->bad) = " << p_bad_to_bad
    << " (per building and night, day 1 from the stationary distribution)\n"
    << "module faults: " << fault_rate * 100 << " % of healthy meters per night, geometric duration mean "
    << fault_mean_nights << " nights\n"
    << "wifi RSSI = " << rssi_at_zero_dbm << " - " << rssi_slope << "*log10(1 + 10*|dL|) + N(0, "
    << rssi_sigma_db << ") dBm; frame success " << wifi_frame_success << " above "
    << wifi_threshold_dbm << " dBm, else 0\n"
    << "readings_per_day = " << readings_per_day << "\n";
  return o.str();
}

Result<RadioModel> RadioModel::Create(const RadioModelOptions& options, int meters, int nights,
                                      uint64_t seed) {
  if (Status s = options.Validate(); !s.ok()) return s;
  if (meters < 1) return InvalidArgument("meters must be ≥ 1");
  if (nights < 1) return InvalidArgument("nights must be ≥ 1");
  RadioModel m;
  m.options_ = options;
  m.meters_ = meters;
  m.nights_ = nights;
  m.seed_ = seed;
  m.buildings_per_street_ = (options.street_length + options.building_size - 1) / options.building_size;
  const int streets = (meters + options.street_length - 1) / options.street_length;
  m.buildings_ = streets * m.buildings_per_street_;

  // Base uplink success: one stream per meter.
  m.base_p_.resize(meters);
  m.poor_.resize(meters);
  for (int i = 0; i < meters; ++i) {
    SimRng r(MixSeed(seed, static_cast<uint64_t>(i), kTagBaseUplink));
    const bool poor = Uniform01(r) < options.poor_share;
    const double u = Uniform01(r);  // drawn either way: the stream does not depend on the branch
    m.poor_[i] = poor;
    m.base_p_[i] = poor ? options.poor_p_min + (options.poor_p_max - options.poor_p_min) * u
                        : options.good_uplink_p;
  }

  // Interference: a two-state Markov chain per building, day 1 from the stationary distribution.
  const double p_bad_to_good = 1 - options.p_bad_to_bad;
  const double denom = options.p_good_to_bad + p_bad_to_good;
  const double stationary_bad = denom > 0 ? options.p_good_to_bad / denom : 0;
  m.bad_.resize(static_cast<size_t>(m.buildings_) * nights);
  for (int b = 0; b < m.buildings_; ++b) {
    SimRng r(MixSeed(seed, static_cast<uint64_t>(b), kTagInterference));
    bool bad = Uniform01(r) < stationary_bad;
    for (int n = 1; n <= nights; ++n) {
      if (n > 1) bad = Uniform01(r) < (bad ? options.p_bad_to_bad : options.p_good_to_bad);
      m.bad_[static_cast<size_t>(b) * nights + (n - 1)] = bad;
    }
  }

  // Module faults: a healthy meter fails on a night with fault_rate, for 1 + Geometric nights
  // (P(last night) = 1 / mean each night). Nobody is faulty before day 1.
  const double p_end = 1.0 / options.fault_mean_nights;
  m.fault_.assign(static_cast<size_t>(meters) * nights, 0);
  for (int i = 0; i < meters; ++i) {
    SimRng r(MixSeed(seed, static_cast<uint64_t>(i), kTagFault));
    int remaining = 0;
    for (int n = 1; n <= nights; ++n) {
      if (remaining == 0 && Uniform01(r) < options.fault_rate) {
        remaining = 1;
        while (Uniform01(r) >= p_end) ++remaining;
      }
      if (remaining > 0) {
        m.fault_[static_cast<size_t>(i) * nights + (n - 1)] = 1;
        --remaining;
      }
    }
  }

  // Hearing range: mean RSSI + 6σ must clear the threshold.
  int d = 0;
  while (d < options.street_length &&
         m.MeanRssi(d + 1) + 6 * options.rssi_sigma_db > options.wifi_threshold_dbm)
    ++d;
  m.max_hearing_distance_ = d;
  return m;
}

double RadioModel::Interference(int building, int night) const {
  return InterferenceBad(building, night) ? options_.interference_bad : options_.interference_good;
}

double RadioModel::UplinkSuccess(int meter, int night) const {
  if (Faulty(meter, night)) return 0;
  return base_p_[meter] * Interference(Building(meter), night);
}

double RadioModel::MeanRssi(int position_distance) const {
  return options_.rssi_at_zero_dbm -
         options_.rssi_slope * std::log10(1.0 + 10.0 * std::abs(position_distance));
}

double RadioModel::Rssi(int a, int b, int night) const {
  const uint64_t lo = static_cast<uint64_t>(a < b ? a : b);
  const uint64_t hi = static_cast<uint64_t>(a < b ? b : a);
  SimRng r(MixSeed(seed_ ^ kTagRssi, (lo << 32) | hi, static_cast<uint64_t>(night)));
  return MeanRssi(Position(a) - Position(b)) + options_.rssi_sigma_db * Normal(r);
}

uint64_t RadioModel::StreamSeed(uint64_t id, int night, DrawPurpose purpose) const {
  return MixSeed(seed_ + static_cast<uint64_t>(purpose) * 0x9E3779B97F4A7C15ull, id,
                 static_cast<uint64_t>(night));
}

}  // namespace mh::sim
