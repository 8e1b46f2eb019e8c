// Cutting frames out of a TCP byte stream: a transparent DTU hands on whatever its serial line
// carried (wake-up bytes, line noise, then the meter's frame), a DLMS meter sends IEC 62056-47
// wrapper PDUs back to back. Each function looks at the start of `in` and says how many bytes to
// drop before the frame, and how long the frame is once enough bytes are there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mh::gateway {

struct FrameCut {
  size_t skip = 0;   // bytes before the frame (FE wake-up bytes, noise) to drop
  size_t length = 0; // the frame's length after `skip`; 0 = not complete yet
};

// DL/T 645 (68 A0..A5 68 C L DATA CS 16) or CJ/T 188 (68 T A0..A6 C L DATA CS 16): the frame's
// length follows from its L byte; its content is the decoder's to judge.
FrameCut CutMeterFrame(std::string_view protocol, std::span<const uint8_t> in);

// One IEC 62056-47 wrapper PDU: version 0x0001, source and destination wPort, length (all 16-bit
// big-endian) and the APDU. A PDU longer than kMaxWrapperPdu is not a DLMS push: length = SIZE_MAX.
inline constexpr size_t kMaxWrapperPdu = 64 * 1024;
FrameCut CutWrapperPdu(std::span<const uint8_t> in);

}  // namespace mh::gateway
