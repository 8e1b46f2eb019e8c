// The meter decoders' libFuzzer bodies run by a plain gtest: 20,000 seeded inputs per protocol
// (the driver vectors mutated: bytes replaced, bits flipped, cut, grown; and random bytes), so CI
// exercises them with any compiler.
#include <gtest/gtest.h>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "fuzz/meter_fuzz_target.h"
#include "fuzz/seeded_inputs.h"

namespace mh::fuzz {
namespace {

void RunSeeded(const char* protocol, void (*step)(const uint8_t*, size_t)) {
  const codec::ProtocolDriver* driver = codec::FindDriver(protocol);
  ASSERT_NE(driver, nullptr);
  std::vector<std::vector<uint8_t>> seeds;
  for (const codec::TestVector& v : driver->vectors) seeds.push_back(codec::ParseHexFrame(v.hex).value());
  RunSeededInputs(seeds, 20000, 4, step);
}

TEST(MeterFuzzTest, DlmsTwentyThousandSeededInputs) { RunSeeded("dlms", &FuzzDlms); }
TEST(MeterFuzzTest, WmbusTwentyThousandSeededInputs) { RunSeeded("wmbus", &FuzzWmbus); }

}  // namespace
}  // namespace mh::fuzz
