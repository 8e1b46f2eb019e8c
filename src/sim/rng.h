// The simulator's random stream: SplitMix64. 8 bytes of state, so every meter can own streams
// (std::mt19937_64 would carry 2.5 KB each), and our own uniform/normal draws, because
// std::normal_distribution differs between standard libraries and a seed must mean the same
// fleet everywhere.
#pragma once

#include <cmath>
#include <cstdint>

namespace mh::sim {

// A UniformRandomBitGenerator.
class SimRng {
 public:
  using result_type = uint64_t;
  explicit SimRng(uint64_t seed = 0) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~uint64_t{0}; }
  result_type operator()() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// Uniform in [0, 1).
inline double Uniform01(SimRng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

inline double Uniform(SimRng& rng, double lo, double hi) { return lo + (hi - lo) * Uniform01(rng); }

// Standard normal (Box–Muller, one value per call).
inline double Normal(SimRng& rng) {
  double u1 = Uniform01(rng);
  const double u2 = Uniform01(rng);
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// A well-mixed seed from parts (seed, meter index, stream number).
inline uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0) {
  SimRng r(a);
  SimRng s(r() ^ b);
  SimRng t(s() ^ c);
  return t();
}

}  // namespace mh::sim
