// libFuzzer entry point over the DL/T 645 decoder (meter_fuzz_target.h says what it checks).
// Build (clang only) and run from the driver's vectors:
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMH_FUZZ=ON -DMH_BUILD_BENCH=OFF
//   cmake --build build-fuzz --target dlt645_fuzz meter_fuzz_seeds
//   ./build-fuzz/tests/fuzz/meter_fuzz_seeds dlt645 /tmp/dlt645-corpus
//   ./build-fuzz/tests/fuzz/dlt645_fuzz -max_total_time=60 /tmp/dlt645-corpus
#include <cstddef>
#include <cstdint>

#include "fuzz/meter_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mh::fuzz::FuzzDlt645(data, size);
  return 0;
}
