// libFuzzer entry point over ParseBeacon and the pcap reader. Build (clang only):
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMH_FUZZ=ON -DMH_BUILD_BENCH=OFF
//   cmake --build build-fuzz --target beacon_fuzz
//   ./build-fuzz/tests/fuzz/beacon_fuzz -max_total_time=60 ../shared/data/pcap/aircrack-ng
#include <cstddef>
#include <cstdint>

#include "beacon_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mh::fuzz::FuzzBeaconAndPcap(data, size);
  return 0;
}
