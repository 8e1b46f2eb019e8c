// IEEE 802.11 beacon management frames as bytes: built by a relay meter (SPEC 2.4), parsed from
// scans and captures. Layout and frozen numbers: docs/formats/beacon.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "codec/crc32.h"  // Crc32: the 802.11 FCS

namespace mh::codec::wifi {

using MacAddress = std::array<uint8_t, 6>;
using Oui = std::array<uint8_t, 3>;

inline constexpr MacAddress kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
// MeterHub's vendor-specific element: OUI 02:4D:48 ("MH", locally administered), type 0x01.
// Its payload (key id | nonce | ciphertext | tag, SPEC 2.5) belongs to the meter library.
inline constexpr Oui kMeterHubOui = {0x02, 0x4D, 0x48};
inline constexpr uint8_t kMeterHubVendorType = 0x01;

// Element IDs used here (IEEE 802.11-2020, 9.4.2).
inline constexpr uint8_t kElementSsid = 0;
inline constexpr uint8_t kElementSupportedRates = 1;
inline constexpr uint8_t kElementDsParameterSet = 3;
inline constexpr uint8_t kElementExtendedSupportedRates = 50;
inline constexpr uint8_t kElementVendorSpecific = 221;

inline constexpr size_t kMaxSsidLength = 32;
inline constexpr size_t kBeaconHeaderLength = 24;  // MAC header of a management frame (no HTC)
inline constexpr size_t kBeaconFixedLength = 12;   // timestamp, interval, capability

// A vendor-specific element (ID 221): body = OUI (3) | type (1, optional) | payload.
struct VendorElement {
  Oui oui{};
  std::optional<uint8_t> type;   // absent only when the element body is just the OUI
  std::vector<uint8_t> payload;  // bytes after the type
  bool operator==(const VendorElement&) const = default;
};

// Any information element, as found on the wire.
struct InformationElement {
  uint8_t id = 0;
  std::vector<uint8_t> body;  // at most 255 bytes
  bool operator==(const InformationElement&) const = default;
};

// What a beacon carries. Elements are written in the order of the standard: SSID, Supported
// Rates, DS Parameter Set, `extra_elements` (e.g. RSN, ID 48), vendor elements.
struct BeaconFields {
  MacAddress bssid{};                    // also the source address unless `source` is set
  std::optional<MacAddress> source;      // SA; defaults to bssid (an AP sends its own beacons)
  MacAddress destination = kBroadcastMac;
  uint16_t duration = 0;
  uint16_t sequence_number = 0;          // 12 bits; fragment number is always 0
  uint64_t timestamp_us = 0;             // TSF timer, microseconds
  uint16_t beacon_interval_tu = 100;     // time units of 1024 us
  uint16_t capability = 0x0001;          // bit 0 ESS; bit 4 privacy when the AP requires WPA2
  std::vector<uint8_t> ssid;             // raw octets, 0..32, need not be UTF-8
  // Rates in 500 kb/s units, bit 7 = basic rate. The first 8 go into Supported Rates, more into
  // Extended Supported Rates. Default: 1, 2, 5.5, 11 (basic), 6, 9, 12, 18 Mb/s.
  std::vector<uint8_t> rates = {0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24};
  uint8_t channel = 6;                   // DS Parameter Set: current channel
  std::vector<InformationElement> extra_elements;
  std::vector<VendorElement> vendor_elements;
};

// A parsed beacon. Unknown elements are kept in `elements` (all elements, wire order).
struct ParsedBeacon {
  uint8_t frame_control_flags = 0;       // second frame-control octet
  uint16_t duration = 0;
  MacAddress destination{};
  MacAddress source{};
  MacAddress bssid{};
  uint16_t sequence_number = 0;
  uint8_t fragment_number = 0;
  uint64_t timestamp_us = 0;
  uint16_t beacon_interval_tu = 0;
  uint16_t capability = 0;
  bool has_ssid = false;                 // an SSID element was present (maybe empty: hidden SSID)
  std::vector<uint8_t> ssid;             // raw octets of the first SSID element
  std::vector<uint8_t> rates;            // Supported Rates then Extended Supported Rates
  std::optional<uint8_t> channel;        // from the DS Parameter Set
  std::vector<VendorElement> vendor_elements;
  std::vector<InformationElement> elements;
};

// Checks what BuildBeacon requires: SSID <= 32 octets, 1..255 rates, each element body <= 255.
Status ValidateBeaconFields(const BeaconFields& fields);

// The frame as bytes (no FCS), or the reason the fields cannot be encoded.
Result<std::vector<uint8_t>> TryBuildBeacon(const BeaconFields& fields);

// Precondition: ValidateBeaconFields(fields).ok(); otherwise throws std::invalid_argument naming
// the field. Always holds for MeterHub's own beacons (27-octet SSID, 65-octet vendor body).
std::vector<uint8_t> BuildBeacon(const BeaconFields& fields);

// Parses a beacon frame (MAC header through the last element, without FCS). Never reads outside
// `frame`. Errors name the field and its byte offset: not a beacon, truncated header or fixed
// fields, an element whose length runs past the end, a malformed SSID/DS/vendor element.
Result<ParsedBeacon> ParseBeacon(std::span<const uint8_t> frame);

}  // namespace mh::codec::wifi
