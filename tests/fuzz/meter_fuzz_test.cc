// The meter decoders' fuzz steps run by a plain gtest over a fixed, seeded corpus: each driver's
// test vectors mutated 20,000 times (byte changes, bit flips, truncation, insertion), and random
// bytes — so CI exercises them with any compiler. The libFuzzer targets are dlt645_fuzz,
// cjt188_fuzz, dlms_fuzz and wmbus_fuzz (clang, scripts/fuzz-briefly.sh).
#include <gtest/gtest.h>

#include <functional>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "fuzz/meter_fuzz_target.h"
#include "fuzz/seeded_inputs.h"

namespace mh::fuzz {
namespace {

void FuzzSeeded(const std::string& protocol, const std::function<void(const uint8_t*, size_t)>& step,
                size_t max_random) {
  const codec::ProtocolDriver* driver = codec::FindDriver(protocol);
  ASSERT_NE(driver, nullptr);
  std::vector<std::vector<uint8_t>> seeds;
  for (const codec::TestVector& v : driver->vectors) {
    auto bytes = codec::ParseHexFrame(v.hex);
    if (bytes.ok()) seeds.push_back(*bytes);
  }
  ASSERT_FALSE(seeds.empty());
  ForEachSeededInput(seeds, 20000, max_random, 4, [&](const std::vector<uint8_t>& in) { step(in.data(), in.size()); });
  SUCCEED();
}

TEST(MeterFuzzTest, Dlt645TwentyThousandSeededInputs) { FuzzSeeded("dlt645", FuzzDlt645, 80); }
TEST(MeterFuzzTest, Cjt188TwentyThousandSeededInputs) { FuzzSeeded("cjt188", FuzzCjt188, 80); }
TEST(MeterFuzzTest, DlmsTwentyThousandSeededInputs) { FuzzSeeded("dlms", FuzzDlms, 300); }
TEST(MeterFuzzTest, WmbusTwentyThousandSeededInputs) { FuzzSeeded("wmbus", FuzzWmbus, 300); }

}  // namespace
}  // namespace mh::fuzz
