// Writes every registered meter-protocol driver's test vectors as binary files, the seed corpus
// of the meter decoders' libFuzzer targets: meter_fuzz_seeds DIR -> DIR/<protocol>/<vector>.bin.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: meter_fuzz_seeds DIR\n";
    return 2;
  }
  int written = 0;
  for (const mh::codec::ProtocolDriver* d : mh::codec::AllDrivers()) {
    const std::filesystem::path dir = std::filesystem::path(argv[1]) / d->name;
    std::filesystem::create_directories(dir);
    for (const mh::codec::TestVector& v : d->vectors) {
      auto bytes = mh::codec::ParseHexFrame(v.hex);
      if (!bytes.ok()) continue;
      std::ofstream out(dir / (v.name + ".bin"), std::ios::binary);
      out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
      ++written;
    }
  }
  std::cout << "meter_fuzz_seeds: " << written << " seeds in " << argv[1] << "\n";
  return 0;
}
