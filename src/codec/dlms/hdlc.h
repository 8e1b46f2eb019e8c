// How a DLMS/COSEM APDU reaches us: HDLC frames (IEC 62056-46: flags 0x7E, frame format type 3,
// segmentation, 1/2/4-byte addresses, HCS and FCS), the TCP/UDP wrapper of IEC 62056-47, wired
// M-Bus long frames (IEC 62056-7-6), or the bare APDU, each with or without the LLC header
// E6 E6/E7 00. The result is the APDU with the
// input offset of every byte, so that later errors name where in the input they are.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::codec::dlms {

// CRC-16/X-25 (HDLC's HCS and FCS): reflected polynomial 0x1021, initial value and final xor
// 0xFFFF (check value of "123456789": 0x906E); transmitted least significant byte first.
uint16_t CrcX25(std::span<const uint8_t> data);

// "byte 7 (HCS): expected 0x875a, got 0x875b".
Status ByteError(size_t offset, std::string_view field, std::string_view what);
// "0xdb", for messages.
std::string Hex0x(uint8_t v);

struct Apdu {
  std::vector<uint8_t> bytes;
  std::vector<uint16_t> origin;  // input offset of bytes[i]
  int hdlc_frames = 0;           // 0 when the input was not HDLC
  size_t Offset(size_t i) const {
    if (i < origin.size()) return origin[i];
    return origin.empty() ? 0 : origin.back() + 1u;
  }
};

// Unwraps one APDU. A line of several HDLC frames (or M-Bus frames) is one segmented APDU: every
// frame but the last carries the segmentation bit (M-Bus: CI without bit 4); their information
// fields are joined.
Result<Apdu> ReadApdu(std::span<const uint8_t> input);

}  // namespace mh::codec::dlms
