// The meter decoders' libFuzzer bodies run by a plain gtest: 20,000 seeded inputs per protocol
// (the driver vectors mutated: bytes replaced, bits flipped, cut, grown; and random bytes), so CI
// exercises them with any compiler.
#include <gtest/gtest.h>

#include <random>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "fuzz/meter_fuzz_target.h"

namespace mh::fuzz {
namespace {

void RunSeeded(const char* protocol, void (*step)(const uint8_t*, size_t)) {
  const codec::ProtocolDriver* driver = codec::FindDriver(protocol);
  ASSERT_NE(driver, nullptr);
  std::vector<std::vector<uint8_t>> seeds;
  for (const codec::TestVector& v : driver->vectors) seeds.push_back(codec::ParseHexFrame(v.hex).value());
  std::mt19937 rng(0x4d48);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> in;
    if (i % 10 == 9) {
      in.resize(rng() % 300);
      for (uint8_t& b : in) b = static_cast<uint8_t>(rng());
    } else {
      in = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits && !in.empty(); ++k) {
        switch (rng() % 4) {
          case 0: in[rng() % in.size()] = static_cast<uint8_t>(rng()); break;
          case 1: in[rng() % in.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 2: in.resize(rng() % (in.size() + 1)); break;
          default: in.insert(in.begin() + rng() % (in.size() + 1), static_cast<uint8_t>(rng()));
        }
      }
    }
    step(in.data(), in.size());
  }
}

TEST(MeterFuzzTest, DlmsTwentyThousandSeededInputs) { RunSeeded("dlms", &FuzzDlms); }
TEST(MeterFuzzTest, WmbusTwentyThousandSeededInputs) { RunSeeded("wmbus", &FuzzWmbus); }

}  // namespace
}  // namespace mh::fuzz
