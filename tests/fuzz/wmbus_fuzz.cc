// libFuzzer entry point over the wireless M-Bus / OMS decoder (frame formats, ELL, AFL,
// security modes 5 and 7, EN 13757-3 records). Build and seeds as for dlms_fuzz.cc:
//   ./build-fuzz/tests/fuzz/wmbus_fuzz -max_total_time=60 /tmp/corpus /tmp/seeds/wmbus
#include <cstddef>
#include <cstdint>

#include "fuzz/meter_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mh::fuzz::FuzzWmbus(data, size);
  return 0;
}
