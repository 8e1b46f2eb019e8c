#include "beacon_fuzz_target.h"

#include <span>
#include <vector>

#include "codec/wifi/beacon.h"
#include "codec/wifi/pcap.h"

namespace mh::fuzz {
namespace {

void PutLe32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void Consume(std::span<const uint8_t> bytes) {
  Result<codec::wifi::PcapCapture> cap = codec::wifi::ReadPcap(bytes);
  if (!cap.ok()) return;
  size_t malformed = 0;
  for (const codec::wifi::BeaconSighting& b : codec::wifi::FindBeacons(*cap, &malformed)) {
    if (b.beacon.ssid.size() > codec::wifi::kMaxSsidLength) __builtin_trap();
  }
}

}  // namespace

void FuzzBeaconAndPcap(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  Result<codec::wifi::ParsedBeacon> beacon = codec::wifi::ParseBeacon(in);
  if (beacon.ok() && beacon->ssid.size() > codec::wifi::kMaxSsidLength) __builtin_trap();
  Consume(in);
  if (size == 0) return;
  static constexpr uint32_t kLinkTypes[3] = {105, 127, 119};
  std::vector<uint8_t> file;
  PutLe32(file, 0xa1b2c3d4);
  PutLe32(file, 0x00040002);
  PutLe32(file, 0);
  PutLe32(file, 0);
  PutLe32(file, 65535);
  PutLe32(file, kLinkTypes[data[0] % 3]);
  PutLe32(file, 0);
  PutLe32(file, 0);
  PutLe32(file, static_cast<uint32_t>(size - 1));
  PutLe32(file, static_cast<uint32_t>(size - 1));
  file.insert(file.end(), data + 1, data + size);
  Consume(file);
}

}  // namespace mh::fuzz
