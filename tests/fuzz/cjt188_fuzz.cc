// libFuzzer entry point over the CJ/T 188 decoder (meter_fuzz_target.h says what it checks).
// Build (clang only) and run from the driver's vectors:
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMH_FUZZ=ON -DMH_BUILD_BENCH=OFF
//   cmake --build build-fuzz --target cjt188_fuzz meter_fuzz_seeds
//   ./build-fuzz/tests/fuzz/meter_fuzz_seeds cjt188 /tmp/cjt188-corpus
//   ./build-fuzz/tests/fuzz/cjt188_fuzz -max_total_time=60 /tmp/cjt188-corpus
#include <cstddef>
#include <cstdint>

#include "fuzz/meter_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mh::fuzz::FuzzCjt188(data, size);
  return 0;
}
