// One fuzz step per meter-protocol decoder, shared by the libFuzzer targets (dlt645_fuzz.cc,
// cjt188_fuzz.cc; clang only) and the seeded gtest twin (meter_fuzz_test.cc, any compiler).
// Any bytes decode to a frame or to an error naming a byte — never a crash; a frame that decodes
// re-encodes from its parts to exactly the bytes given (wake-up bytes aside) and prints as JSON.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mh::fuzz {

void FuzzDlt645(const uint8_t* data, size_t size);
void FuzzCjt188(const uint8_t* data, size_t size);

}  // namespace mh::fuzz
