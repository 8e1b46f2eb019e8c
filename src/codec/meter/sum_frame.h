// The envelope DL/T 645 and CJ/T 188 share: optional FE wake-up bytes, 0x68, a fixed header
// with the data length L at a known offset, L data bytes, a checksum (sum mod 256 from the 0x68)
// and 0x16; and their BCD addresses, least significant byte first on the wire, printed most
// significant first with 'A' as the broadcast/wildcard digit.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/meter/bcd.h"

namespace mh::codec::sum_frame {

// Checks everything but the header's own fields; returns where the 0x68 sits. `header` is the
// number of bytes from the 0x68 to the first data byte, the length byte being the last of them;
// `second_start`, when not 0, the offset from the 0x68 of a second 0x68 (DL/T 645).
inline Result<size_t> CheckEnvelope(FrameBytes in, size_t header, size_t second_start = 0) {
  using bcd::ByteError;
  using bcd::Hex2;
  size_t p = 0;
  while (p < in.size() && in[p] == 0xfe) ++p;
  if (p == in.size()) return ByteError(p, "start", "frame truncated: no 0x68 after " + std::to_string(p) + " wake-up bytes");
  if (in[p] != 0x68) return ByteError(p, "start", "expected 0x68, got " + Hex2(in[p]));
  const size_t have = in.size() - p;
  if (have < header + 2) {
    return ByteError(in.size(), "length", "frame truncated: " + std::to_string(have) +
                                              " bytes from the first 0x68, a frame has at least " +
                                              std::to_string(header + 2));
  }
  if (second_start != 0 && in[p + second_start] != 0x68) {
    return ByteError(p + second_start, "second start", "expected 0x68, got " + Hex2(in[p + second_start]));
  }
  const size_t len = in[p + header - 1];
  const size_t total = header + len + 2;
  if (have < total) {
    return ByteError(p + header - 1, "length", "frame truncated: L=" + std::to_string(len) + " needs " +
                                                   std::to_string(total) + " bytes from the first 0x68, got " +
                                                   std::to_string(have));
  }
  if (have > total) {
    return ByteError(p + total, "end", std::to_string(have - total) + " bytes after the frame's end (L=" +
                                           std::to_string(len) + ")");
  }
  const size_t cs_at = p + header + len;
  uint8_t cs = 0;
  for (size_t i = p; i < cs_at; ++i) cs = static_cast<uint8_t>(cs + in[i]);
  if (in[cs_at] != cs) return ByteError(cs_at, "checksum", "expected " + Hex2(cs) + ", got " + Hex2(in[cs_at]));
  if (in[cs_at + 1] != 0x16) return ByteError(cs_at + 1, "end", "expected 0x16, got " + Hex2(in[cs_at + 1]));
  return p;
}

// `wake-up` FE bytes, then `body` (from the 0x68 to the last data byte), its checksum and 0x16.
inline std::vector<uint8_t> Seal(std::vector<uint8_t> body, int wakeup) {
  std::vector<uint8_t> out(static_cast<size_t>(wakeup > 0 ? wakeup : 0), 0xfe);
  uint8_t cs = 0;
  for (uint8_t b : body) cs = static_cast<uint8_t>(cs + b);
  out.insert(out.end(), body.begin(), body.end());
  out.push_back(cs);
  out.push_back(0x16);
  return out;
}

// Wire address bytes as digits, most significant first.
inline Result<std::string> AddressText(FrameBytes wire, size_t offset, std::string_view field) {
  static constexpr char kDigits[] = "0123456789A";
  std::string text;
  for (size_t i = wire.size(); i-- > 0;) {
    const uint8_t hi = wire[i] >> 4, lo = wire[i] & 15;
    if (hi > 10 || lo > 10) return bcd::ByteError(offset + i, field, bcd::Hex2(wire[i]) + " is not BCD");
    text += kDigits[hi];
    text += kDigits[lo];
  }
  return text;
}

// Digits (most significant first, 'A' allowed) to wire bytes.
inline Result<std::vector<uint8_t>> AddressWire(std::string_view address, size_t digits) {
  if (address.size() != digits) {
    return InvalidArgument("address '" + std::string(address) + "': " + std::to_string(digits) + " digits expected");
  }
  std::vector<uint8_t> wire(digits / 2);
  for (size_t i = 0; i < digits; ++i) {
    const char c = address[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : (c == 'A' || c == 'a') ? 10 : -1;
    if (d < 0) return InvalidArgument("address '" + std::string(address) + "': digits 0-9 (or A) expected");
    uint8_t& b = wire[wire.size() - 1 - i / 2];
    b = static_cast<uint8_t>(i % 2 == 0 ? d << 4 : b | d);
  }
  return wire;
}

}  // namespace mh::codec::sum_frame
