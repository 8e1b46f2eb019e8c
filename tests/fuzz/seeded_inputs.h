// The seeded inputs the gtest twins of the libFuzzer targets feed their fuzz step: mutations of
// known-good inputs (a byte replaced, a bit flipped, the tail cut, a byte inserted) and, every
// tenth, random bytes — deterministic, so a failure reproduces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace mh::fuzz {

// Calls `step` `count` times; each seed-based input gets 1..max_edits edits.
inline void RunSeededInputs(const std::vector<std::vector<uint8_t>>& seeds, int count, int max_edits,
                            const std::function<void(const uint8_t*, size_t)>& step) {
  std::mt19937 rng(0x4d48);
  for (int i = 0; i < count; ++i) {
    std::vector<uint8_t> in;
    if (i % 10 == 9 || seeds.empty()) {
      in.resize(rng() % 300);
      for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
    } else {
      in = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_edits));
      for (int k = 0; k < edits && !in.empty(); ++k) {
        switch (rng() % 4) {
          case 0: in[rng() % in.size()] = static_cast<uint8_t>(rng()); break;
          case 1: in[rng() % in.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 2: in.resize(rng() % (in.size() + 1)); break;
          default: in.insert(in.begin() + static_cast<std::ptrdiff_t>(rng() % (in.size() + 1)), static_cast<uint8_t>(rng()));
        }
      }
    }
    step(in.data(), in.size());
  }
}

}  // namespace mh::fuzz
