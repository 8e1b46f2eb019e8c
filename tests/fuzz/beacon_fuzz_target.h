// One fuzz step over ParseBeacon and the pcap reader, shared by the libFuzzer target
// (beacon_fuzz.cc, clang only) and the seeded gtest (beacon_fuzz_test.cc, any compiler).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mh::fuzz {

// Feeds `data` to ParseBeacon, to ReadPcap as a whole file, and, behind a valid pcap header
// whose link type (105, 127 or 119) is chosen by data[0], as one record. Never fails; crashes
// and sanitizer reports are the findings.
void FuzzBeaconAndPcap(const uint8_t* data, size_t size);

}  // namespace mh::fuzz
