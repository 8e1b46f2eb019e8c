// What every meter-protocol decoder (DL/T 645, CJ/T 188, DLMS/COSEM, wireless M-Bus) turns a frame
// into: the meter's protocol address and a list of registers. Decoders are pure functions from
// bytes to this value; a corrupt frame is an InvalidArgument whose message names the byte offset
// and the field ("byte 14 (checksum): expected 0x5a, got 0x5b").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::codec {

// One register a frame carried. `channel` names it in the protocol's own terms:
//   dlt645  the data identifier as 8 hex digits ("00010000"; 1997 identifiers: 4 hex digits)
//   cjt188  a field name: "current_cumulative_flow", "settlement_cumulative_flow", ...
//   dlms    the OBIS code "A-B:C.D.E.F"
//   wmbus   quantity[_storageN][_tariffN][_subunitN], e.g. "volume", "energy_storage1"
struct DecodedRegister {
  std::string channel;
  double value = 0;
  // ASCII unit: kWh, kvarh, kW, kvar, V, A, Hz, m3, m3/h, GJ, MWh, C (for °C), ...;
  // nullopt when dimensionless.
  std::optional<std::string> unit;
  std::optional<int64_t> ts;         // UTC epoch seconds when the frame dates this register
  std::vector<std::string> status;   // flags that apply to this register only
};

struct DecodedFrame {
  std::string protocol;              // "dlt645" | "cjt188" | "dlms" | "wmbus"
  // dlt645: 12 BCD digits, cjt188: 14 BCD digits, most significant first; wmbus: manufacturer
  // code + id ("KAM12345678"); dlms: logical device name or system title when the frame has one.
  std::optional<std::string> address;
  std::vector<DecodedRegister> registers;
  std::vector<std::string> status;   // the frame's status / error flags as short strings
};

// Keys for encrypted frames (wM-Bus security modes 5/7, DLMS general-glo-ciphering).
struct KeyPair {
  std::vector<uint8_t> key;          // wM-Bus AES-128 key, or the DLMS encryption key
  std::vector<uint8_t> auth_key;     // DLMS authentication key (empty when none)
};
struct DecodeKeys {
  KeyPair any;                                 // --key / --auth-key: for every frame
  std::map<std::string, KeyPair> by_address;   // --keys FILE: per address (as in DecodedFrame)
  // The keys for `address`: its own when listed, else `any`.
  const KeyPair& For(const std::string& address) const {
    auto it = by_address.find(address);
    return it == by_address.end() ? any : it->second;
  }
};

using FrameBytes = std::span<const uint8_t>;

}  // namespace mh::codec
