// Packed-BCD fields as the Chinese meter protocols (DL/T 645, CJ/T 188) carry them: least
// significant byte first on the wire, an optional sign in the top bit of the last byte, and dates
// in BCD. Every reader names the field and the byte offset (in the bytes given to the decoder) of
// what was wrong, as DecodedFrame's contract asks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codec/meter/meter_frame.h"
#include "core/time.h"

namespace mh::codec::bcd {

// "byte 14 (checksum): ..." — the shape of every decoder error.
inline Status ByteError(size_t offset, std::string_view field, std::string_view what) {
  return InvalidArgument("byte " + std::to_string(offset) + " (" + std::string(field) + "): " + std::string(what));
}

inline std::string Hex2(uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[b >> 4] + kDigits[b & 15];
}

inline bool IsBcd(uint8_t b) { return (b >> 4) < 10 && (b & 15) < 10; }

// The unsigned value of `bytes` (least significant byte first). `offset` is where bytes[0] sits
// in the decoder's input. With `sign_bit`, bit 7 of the last byte is the sign and not a digit.
// At most 9 bytes (18 digits: exact in int64).
inline Result<int64_t> ReadLe(FrameBytes bytes, size_t offset, std::string_view field, bool sign_bit = false) {
  int64_t v = 0;
  bool negative = false;
  for (size_t i = bytes.size(); i-- > 0;) {
    uint8_t b = bytes[i];
    if (sign_bit && i + 1 == bytes.size()) {
      negative = (b & 0x80) != 0;
      b &= 0x7f;
    }
    if (!IsBcd(b)) return ByteError(offset + i, field, Hex2(bytes[i]) + " is not BCD");
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  return negative ? -v : v;
}

// True when every byte is 0xFF: how meters mark a value they do not have.
inline bool AllFf(FrameBytes bytes) {
  for (uint8_t b : bytes) {
    if (b != 0xff) return false;
  }
  return !bytes.empty();
}

// A BCD civil time given as its parts (already decoded from BCD): epoch seconds (the meter's clock
// read as UTC: the protocols carry no zone), or nullopt when the parts are not a real time.
inline std::optional<int64_t> CivilEpoch(int y, int mo, int d, int hh, int mm, int ss) {
  if (!IsValidCivilTime(y, mo, d, hh, mm, ss)) return std::nullopt;
  return DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + hh * 3600 + mm * 60 + ss;
}

// One BCD byte's value, or -1 when it is not BCD.
inline int Byte(uint8_t b) { return IsBcd(b) ? (b >> 4) * 10 + (b & 15) : -1; }

}  // namespace mh::codec::bcd
