// libFuzzer entry point over the DLMS/COSEM decoder (HDLC, wrapper, M-Bus, A-XDR, ciphering).
// Build (clang only):
//   CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DMH_FUZZ=ON -DMH_BUILD_BENCH=OFF
//   cmake --build build-fuzz --target dlms_fuzz meter_fuzz_seeds
//   ./build-fuzz/tests/fuzz/meter_fuzz_seeds /tmp/seeds
//   ./build-fuzz/tests/fuzz/dlms_fuzz -max_total_time=60 /tmp/corpus /tmp/seeds/dlms
#include <cstddef>
#include <cstdint>

#include "fuzz/meter_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mh::fuzz::FuzzDlms(data, size);
  return 0;
}
