// The meter decoders' fuzz steps run by a plain gtest over a fixed, seeded corpus: each driver's
// test vectors mutated 20,000 times (byte changes, bit flips, truncation, insertion), and random
// bytes — so CI exercises them with any compiler. The libFuzzer targets are dlt645_fuzz and
// cjt188_fuzz (clang, scripts/fuzz-briefly.sh).
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "fuzz/meter_fuzz_target.h"

namespace mh::fuzz {
namespace {

void FuzzSeeded(const std::string& protocol, const std::function<void(const uint8_t*, size_t)>& step) {
  const codec::ProtocolDriver* driver = codec::FindDriver(protocol);
  ASSERT_NE(driver, nullptr);
  std::vector<std::vector<uint8_t>> seeds;
  for (const codec::TestVector& v : driver->vectors) seeds.push_back(*codec::ParseHexFrame(v.hex));
  std::mt19937 rng(0x4d48);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> in;
    if (i % 10 == 9) {
      in.resize(rng() % 80);
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
  SUCCEED();
}

TEST(MeterFuzzTest, Dlt645TwentyThousandSeededInputs) { FuzzSeeded("dlt645", FuzzDlt645); }
TEST(MeterFuzzTest, Cjt188TwentyThousandSeededInputs) { FuzzSeeded("cjt188", FuzzCjt188); }

}  // namespace
}  // namespace mh::fuzz
