// Classic libpcap files of 802.11 frames: written with linktype 105 (what `meterhub relay
// beacons` emits), read with linktypes 105, 127 (radiotap) and 119 (Prism/AVS), so that real
// captures can be scanned for beacons. pcapng is not supported. See docs/formats/beacon.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/wifi/beacon.h"

namespace mh::codec::wifi {

inline constexpr uint32_t kLinkTypeIeee80211 = 105;
inline constexpr uint32_t kLinkTypePrism = 119;  // Prism or AVS header
inline constexpr uint32_t kLinkTypeRadiotap = 127;
inline constexpr uint32_t kPcapSnaplen = 65535;

// One frame to write. The timestamp is handed in (no clock is read here).
struct PcapFrame {
  int64_t timestamp_us = 0;   // microseconds since the Unix epoch
  std::vector<uint8_t> frame; // a raw 802.11 frame (no FCS), e.g. from BuildBeacon
};

// The whole file: 24-byte header (magic 0xa1b2c3d4 little-endian, v2.4, snaplen 65535,
// linktype 105) and one 16-byte record header per frame. Frames over the snaplen are cut.
std::vector<uint8_t> WritePcap(std::span<const PcapFrame> frames);
Status WritePcapFile(const std::string& path, std::span<const PcapFrame> frames);

// One record, with its link-layer header removed.
struct PcapRecord {
  size_t index = 0;                 // 0-based record number in the file
  int64_t ts_sec = 0;
  uint32_t ts_nsec = 0;             // nanoseconds (micro-second files are scaled)
  uint32_t orig_len = 0;            // length on the wire, as recorded
  std::vector<uint8_t> frame;       // the 802.11 frame, FCS removed when known to be present
  std::optional<int> rssi_dbm;      // radiotap dBm antenna signal, or AVS ssi_signal in dBm
  std::string issue;                // non-empty: the link header was bad; `frame` is empty
};

struct PcapCapture {
  uint32_t linktype = 0;            // low 16 bits of the header's link-type field
  bool nanosecond = false;
  bool swapped = false;             // written on a big-endian host
  std::vector<PcapRecord> records;
  std::string truncated;            // non-empty: the file ended inside a record (what, where)
};

// Fails on a file that is not a classic pcap (pcapng included), on an unsupported link type, and
// on a bad file header. A bad record's link header is reported in that record's `issue`; a file
// cut inside a record keeps the records before it and says so in `truncated`.
Result<PcapCapture> ReadPcap(std::span<const uint8_t> bytes);
Result<PcapCapture> ReadPcapFile(const std::string& path);

// A beacon found in a capture.
struct BeaconSighting {
  size_t record_index = 0;
  int64_t ts_sec = 0;
  uint32_t ts_nsec = 0;
  std::optional<int> rssi_dbm;
  ParsedBeacon beacon;              // SSID bytes, BSSID, channel, vendor elements, ...
};

// Every record that parses as a beacon (frame control 0x80); frames that are not beacons are
// skipped, malformed beacons are counted in `*malformed` when given.
std::vector<BeaconSighting> FindBeacons(const PcapCapture& capture, size_t* malformed = nullptr);

}  // namespace mh::codec::wifi
