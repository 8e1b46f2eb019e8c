// Writes a driver's test vectors as one file each into a directory: the seed corpus of its
// libFuzzer target (scripts/fuzz-briefly.sh).  Usage: meter_fuzz_seeds PROTOCOL DIR
#include <filesystem>
#include <fstream>
#include <iostream>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: meter_fuzz_seeds PROTOCOL DIR\n";
    return 2;
  }
  const mh::codec::ProtocolDriver* driver = mh::codec::FindDriver(argv[1]);
  if (driver == nullptr) {
    std::cerr << "meter_fuzz_seeds: no driver " << argv[1] << "\n";
    return 2;
  }
  std::filesystem::create_directories(argv[2]);
  int n = 0;
  for (const mh::codec::TestVector& v : driver->vectors) {
    auto bytes = mh::codec::ParseHexFrame(v.hex);
    if (!bytes.ok()) continue;
    std::ofstream out(std::filesystem::path(argv[2]) / ("seed-" + v.name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
    ++n;
  }
  std::cout << "meter_fuzz_seeds: " << n << " seeds for " << argv[1] << " in " << argv[2] << "\n";
  return 0;
}
