// DL/T 645-2007 (and 1997) frames of Chinese electricity meters:
//   [FE…] 68 A0..A5 68 C L DATA CS 16
// the address as 12 BCD digits (least significant byte first on the wire), DATA with 0x33 added
// to every byte, CS the sum mod 256 from the first 68. Decoding gives the address and the
// registers of a read answer, the error flags of an abnormal answer, or what a request asks for;
// encoding builds the read requests the head-end polls meters with. docs/formats/meter-protocols.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/meter/driver.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

// The "dlt645" driver: Dlt645Decode and its test vectors (shared, public-project and
// standard-built frames).
const ProtocolDriver& Dlt645Driver();

namespace dlt645 {

// One frame's link layer, checked (start and end markers, lengths, checksum, BCD address).
struct Frame {
  std::array<uint8_t, 6> address_wire{};  // as on the wire, least significant byte first
  std::string address;                     // 12 digits, most significant first ('A' = wildcard)
  uint8_t control = 0;
  std::vector<uint8_t> data;               // 0x33 already removed
  size_t data_offset = 0;                  // where data[0] sits in the input
};
Result<Frame> ParseFrame(FrameBytes bytes);

// The whole decoder (ProtocolDriver::decode). Keys are not used: DL/T 645 is not encrypted.
Result<DecodedFrame> Decode(FrameBytes bytes, const DecodeKeys& keys);

// Concatenated values of a read answer and its follow-up frames decoded at once, so that the
// values of a block identifier split over several frames keep their numbering.
Result<std::vector<DecodedRegister>> DecodeReadValues(std::string_view di_hex, FrameBytes values);

enum class Version { k2007, k1997 };

// "001234567890" (12 digits, 'A' allowed as the wildcard/broadcast digit) → wire bytes.
Result<std::array<uint8_t, 6>> AddressBytes(std::string_view address);

// A frame from its parts; `data` without the 0x33 (added here); `wakeup` FE bytes in front.
std::vector<uint8_t> EncodeFrame(const std::array<uint8_t, 6>& address_wire, uint8_t control, FrameBytes data,
                                 int wakeup = 4);

// Read request for a data identifier: 2007 control 0x11 with "00010000" (8 hex digits), 1997
// control 0x01 with "9010" (4 hex digits).
Result<std::vector<uint8_t>> EncodeReadRequest(std::string_view address, std::string_view di_hex,
                                               Version version = Version::k2007, int wakeup = 4);
// Follow-up read request after an answer with the follow-up bit: 2007 control 0x12 with the
// identifier and the frame sequence number `seq` (1 for the first follow-up); 1997 control 0x02.
Result<std::vector<uint8_t>> EncodeFollowUpReadRequest(std::string_view address, std::string_view di_hex, uint8_t seq,
                                                       Version version = Version::k2007, int wakeup = 4);

}  // namespace dlt645
}  // namespace mh::codec
