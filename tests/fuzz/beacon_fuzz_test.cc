// The libFuzzer target's body run by a plain gtest: 20,000 seeded inputs (mutated beacons and
// pcap files, and random bytes), so CI exercises it with any compiler.
#include <gtest/gtest.h>

#include "codec/wifi/beacon.h"
#include "codec/wifi/pcap.h"
#include "fuzz/beacon_fuzz_target.h"
#include "fuzz/seeded_inputs.h"

namespace mh::fuzz {
namespace {

TEST(BeaconFuzzTest, TwentyThousandSeededInputs) {
  codec::wifi::BeaconFields f;
  f.bssid = {0x02, 0x4d, 0x48, 1, 2, 3};
  f.ssid = {'e', 'l', 'e', 'c', 'm', 'e', 't', 'e', 'r', '_', 'A', 'P'};
  f.vendor_elements.push_back({codec::wifi::kMeterHubOui, 1, std::vector<uint8_t>(61, 0x33)});
  const std::vector<uint8_t> beacon = codec::wifi::BuildBeacon(f);
  const std::vector<codec::wifi::PcapFrame> frames = {{0, beacon}, {1, beacon}};
  const std::vector<uint8_t> pcap = codec::wifi::WritePcap(frames);
  // Record seeds: the first byte picks the link type (0: 105, 1: 127, 2: 119).
  std::vector<uint8_t> raw = {0};
  raw.insert(raw.end(), beacon.begin(), beacon.end());
  std::vector<uint8_t> radiotap = {1, 0, 0, 24, 0, 0x2f, 0, 0, 0};
  radiotap.resize(1 + 24, 0);
  radiotap[17] = 0x10;
  radiotap.insert(radiotap.end(), beacon.begin(), beacon.end());
  std::vector<uint8_t> prism = {2, 0x44, 0, 0, 0, 144, 0, 0, 0};
  prism.resize(1 + 144, 0);
  prism.insert(prism.end(), beacon.begin(), beacon.end());
  const std::vector<std::vector<uint8_t>> seeds = {beacon, pcap, raw, radiotap, prism};

  ForEachSeededInput(seeds, 20000, 300, 6,
                     [](const std::vector<uint8_t>& in) { FuzzBeaconAndPcap(in.data(), in.size()); });
  SUCCEED();
}

}  // namespace
}  // namespace mh::fuzz
