// The wireless M-Bus link layer (EN 13757-4): frame formats A and B with their CRC blocks, or a
// telegram whose CRCs the receiver already removed, turned into one contiguous telegram
// "L C M A CI ..." that remembers where each byte sat in the received frame, so that every later
// error can name the byte offset of the input.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::codec::wmbus {

// CRC-16/EN-13757: polynomial 0x3D65, initial value 0, not reflected, final xor 0xFFFF
// (check value of "123456789": 0xC2B7). Transmitted most significant byte first.
uint16_t Crc16En13757(std::span<const uint8_t> data);

// "byte 12 (CRC of block 2): expected 0x1234, got 0x4321".
Status ByteError(size_t offset, std::string_view field, std::string_view what);

// Two lowercase hex digits ("a2"), for messages and channel names.
std::string HexByte(uint8_t v);

enum class FrameFormat { kCrcRemoved, kA, kB };

// Bytes in the order the application reads them, each with its offset in the received frame.
struct Telegram {
  FrameFormat format = FrameFormat::kCrcRemoved;
  std::vector<uint8_t> bytes;      // L C M(2) A(6) CI ... without CRCs; the L field as received
  std::vector<uint16_t> origin;    // origin[i]: offset in the received frame of bytes[i]
  std::vector<std::string> status; // "trailing_crc": a last-block CRC the receiver left behind
  // The received-frame offset of telegram byte i; one past the end for i == bytes.size().
  size_t Offset(size_t i) const;
};

// Layout of the link-layer header every telegram starts with.
inline constexpr size_t kLinkHeaderSize = 10;  // L, C, M (2), A (ID 4, version, device type)
inline constexpr size_t kCiOffset = 10;

// Recognises the frame format by the L field and the frame's length, checks every CRC and
// removes them. A frame of exactly L+1 bytes is format B when its CRCs hold, else a telegram
// whose CRCs were removed by the receiver (as wmbusmeters and most dongles deliver them); some
// receivers leave the last format-A block's CRC at its end, which is then removed and flagged.
Result<Telegram> ReadLinkLayer(std::span<const uint8_t> frame);

// The 3-letter manufacturer code of an M field ("KAM" for 0x2C2D); letters outside A..Z as '?'.
std::string ManufacturerCode(uint16_t m_field);
// Manufacturer code + the 8-digit identification number, most significant digit first
// ("KAM12345678"). `m` points at the two M-field bytes, `id` at the four ID bytes (LSB first).
std::string MeterAddress(const uint8_t* m, const uint8_t* id);

}  // namespace mh::codec::wmbus
