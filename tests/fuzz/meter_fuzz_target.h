// One fuzz step per meter-protocol decoder, shared by the libFuzzer targets (dlt645_fuzz.cc,
// cjt188_fuzz.cc, dlms_fuzz.cc, wmbus_fuzz.cc; clang only) and the seeded gtest twin
// (meter_fuzz_test.cc, any compiler). Any bytes decode to a frame or to an error naming a byte —
// never a crash; the finding is a crash, a sanitizer report or a broken invariant (a trap).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mh::fuzz {

// DL/T 645 / CJ/T 188: a frame that decodes re-encodes from its parts to exactly the bytes given
// (wake-up bytes aside) and prints as JSON.
void FuzzDlt645(const uint8_t* data, size_t size);
void FuzzCjt188(const uint8_t* data, size_t size);
// DLMS/COSEM / wireless M-Bus, with the test vectors' keys: a decoded frame's values are finite
// and its channels named; an error names a byte offset within the input.
void FuzzDlms(const uint8_t* data, size_t size);
void FuzzWmbus(const uint8_t* data, size_t size);

}  // namespace mh::fuzz
