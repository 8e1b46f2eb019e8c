// CJ/T 188-2004 frames of Chinese water, gas and heat meters:
//   [FE…] 68 T A0..A6 C L DATA CS 16
// T the meter type, the address as 14 BCD digits (least significant byte first on the wire),
// DATA = DI0 DI1 SER and the values, CS the sum mod 256 from the 68. Decoding gives the address
// and the registers of a read-data answer (DI 901F: cumulative flows with their unit codes, heat
// meters' heat, power, flow and temperatures, the real time) with the status bytes as flags;
// encoding builds the read request the head-end polls meters with. docs/formats/meter-protocols.md.
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

// The "cjt188" driver: cjt188::Decode and its test vectors.
const ProtocolDriver& Cjt188Driver();

namespace cjt188 {

// Meter types (T).
inline constexpr uint8_t kColdWater = 0x10, kHotWater = 0x11, kDrinkingWater = 0x12, kReclaimedWater = 0x13,
                         kHeat = 0x20, kCooling = 0x21, kGas = 0x30, kElectricity = 0x40, kAnyType = 0xaa;

// Data identifiers (DI1 DI0 as the standard writes them; DI0 goes first on the wire).
inline constexpr uint16_t kReadData = 0x901f, kReadAddress = 0x810a;

// One frame's link layer, checked (markers, lengths, checksum, BCD address).
struct Frame {
  uint8_t meter_type = 0;
  std::array<uint8_t, 7> address_wire{};  // as on the wire, least significant byte first
  std::string address;                     // 14 digits, most significant first ('A' = broadcast)
  uint8_t control = 0;
  std::vector<uint8_t> data;
  size_t data_offset = 0;                  // where data[0] sits in the input
};
Result<Frame> ParseFrame(FrameBytes bytes);

// The whole decoder (ProtocolDriver::decode). Keys are not used.
Result<DecodedFrame> Decode(FrameBytes bytes, const DecodeKeys& keys);

// "cold_water", "heat", ... ; "type_0x55" for a type the standard does not list.
std::string MeterTypeName(uint8_t meter_type);

// "00000000001234" (14 digits, 'A' allowed for broadcast) → wire bytes.
Result<std::array<uint8_t, 7>> AddressBytes(std::string_view address);

std::vector<uint8_t> EncodeFrame(uint8_t meter_type, const std::array<uint8_t, 7>& address_wire, uint8_t control,
                                 FrameBytes data, int wakeup = 2);

struct ReadRequest {
  uint8_t meter_type = kColdWater;
  std::string address;          // 14 digits
  uint16_t di = kReadData;
  uint8_t ser = 0;              // the sequence number the meter echoes
  // The standard sends DI0 first ("1F 90"); some meters want "90 1F". The decoder takes both.
  bool di_high_byte_first = false;
  int wakeup = 2;               // FE bytes in front
};
// Control 0x01 (read data), or 0x03 for DI 810A (read address).
Result<std::vector<uint8_t>> EncodeReadRequest(const ReadRequest& request);

}  // namespace cjt188
}  // namespace mh::codec
