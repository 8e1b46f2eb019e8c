// The fixed corpus of the fuzz targets' gtest twins: `count` inputs from a generator seeded with
// 0x4d48 — every tenth one random bytes (shorter than `max_random`), the others a seed with 1 to
// `max_edits` edits (a byte changed, a bit flipped, a cut, a byte inserted).
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace mh::fuzz {

inline void ForEachSeededInput(const std::vector<std::vector<uint8_t>>& seeds, int count, size_t max_random,
                               int max_edits, const std::function<void(const std::vector<uint8_t>&)>& step) {
  std::mt19937 rng(0x4d48);
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> in;
    if (i % 10 == 9) {
      in.resize(rng() % max_random);
      for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
    } else {
      in = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_edits));
      for (int k = 0; k < edits && !in.empty(); ++k) {
        switch (rng() % 4) {
          case 0: in[rng() % in.size()] = static_cast<uint8_t>(rng()); break;
          case 1: in[rng() % in.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 2: in.resize(rng() % (in.size() + 1)); break;
          default: in.insert(in.begin() + rng() % (in.size() + 1), static_cast<uint8_t>(rng()));
        }
      }
    }
    step(in);
  }
}

}  // namespace mh::fuzz
