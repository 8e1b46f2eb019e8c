// One fuzz step over each meter-protocol decoder, shared by the libFuzzer targets (dlms_fuzz.cc,
// wmbus_fuzz.cc; clang only) and their seeded gtest twin (meter_fuzz_test.cc, any compiler).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mh::fuzz {

// Decodes `data` as a DLMS/COSEM frame (resp. a wM-Bus telegram) with the test vectors' keys.
// Never fails; a crash, a sanitizer report or a broken invariant (__builtin_trap) is the
// finding. Invariants: a decoded frame's values are finite and its channels named; an error
// names a byte offset within the input ("byte N (field): ...").
void FuzzDlms(const uint8_t* data, size_t size);
void FuzzWmbus(const uint8_t* data, size_t size);

}  // namespace mh::fuzz
