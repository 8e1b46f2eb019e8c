#include "codec/wmbus/link_layer.h"

#include <array>
#include <cstdio>

namespace mh::codec::wmbus {
namespace {

constexpr std::array<uint16_t, 256> MakeCrcTable() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t r = static_cast<uint16_t>(i << 8);
    for (int j = 0; j < 8; ++j) r = (r & 0x8000) ? static_cast<uint16_t>((r << 1) ^ 0x3D65) : static_cast<uint16_t>(r << 1);
    t[static_cast<size_t>(i)] = r;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kCrcTable = MakeCrcTable();

std::string Hex16(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

// Frame format A: the 10-byte first block and then blocks of up to 16 bytes, each followed by
// its CRC; the L field counts the bytes after it without the CRCs.
size_t FormatALength(uint8_t l) {
  const size_t data = l > 9 ? l - 9u : 0u;
  return 1u + l + 2u + 2u * ((data + 15) / 16);
}

bool CrcAt(std::span<const uint8_t> frame, size_t from, size_t to) {
  const uint16_t want = static_cast<uint16_t>(frame[to] << 8 | frame[to + 1]);
  return Crc16En13757(frame.subspan(from, to - from)) == want;
}

Status CrcError(std::span<const uint8_t> frame, size_t from, size_t to, const std::string& block) {
  const uint16_t want = static_cast<uint16_t>(frame[to] << 8 | frame[to + 1]);
  return ByteError(to, "CRC of " + block,
                   "expected " + Hex16(Crc16En13757(frame.subspan(from, to - from))) + ", got " + Hex16(want));
}

void Append(Telegram& t, std::span<const uint8_t> frame, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    t.bytes.push_back(frame[i]);
    t.origin.push_back(static_cast<uint16_t>(i));
  }
}

Result<Telegram> ReadFormatA(std::span<const uint8_t> frame, size_t length) {
  Telegram t;
  t.format = FrameFormat::kA;
  t.bytes.reserve(length);
  t.origin.reserve(length);
  if (!CrcAt(frame, 0, 10)) return CrcError(frame, 0, 10, "block 1");
  Append(t, frame, 0, 10);
  int block = 2;
  for (size_t pos = 12; pos < length; ++block) {
    const size_t end = std::min(pos + 16, length - 2);
    if (!CrcAt(frame, pos, end)) return CrcError(frame, pos, end, "block " + std::to_string(block));
    Append(t, frame, pos, end);
    pos = end + 2;
  }
  return t;
}

// Frame format B: no CRC after the first block; one CRC over the first 126 bytes (or the whole
// frame when shorter) and, for longer frames, one over the rest. L counts the CRCs.
bool FormatBHolds(std::span<const uint8_t> frame) {
  const size_t n = frame.size();
  if (n < 12) return false;
  if (n <= 128) return CrcAt(frame, 0, n - 2);
  return n >= 130 && CrcAt(frame, 0, 126) && CrcAt(frame, 128, n - 2);
}

Telegram StripFormatB(std::span<const uint8_t> frame) {
  Telegram t;
  t.format = FrameFormat::kB;
  const size_t n = frame.size();
  if (n <= 128) {
    Append(t, frame, 0, n - 2);
  } else {
    Append(t, frame, 0, 126);
    Append(t, frame, 128, n - 2);
  }
  return t;
}

}  // namespace

uint16_t Crc16En13757(std::span<const uint8_t> data) {
  uint16_t crc = 0;
  for (uint8_t b : data) crc = static_cast<uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ b) & 0xFF]);
  return static_cast<uint16_t>(crc ^ 0xFFFF);
}

std::string HexByte(uint8_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {kDigits[v >> 4], kDigits[v & 0x0F]};
}

Status ByteError(size_t offset, std::string_view field, std::string_view what) {
  std::string m = "byte " + std::to_string(offset) + " (";
  m.append(field);
  m += "): ";
  m.append(what);
  return InvalidArgument(std::move(m));
}

size_t Telegram::Offset(size_t i) const {
  if (i < origin.size()) return origin[i];
  return origin.empty() ? 0 : origin.back() + 1u;
}

Result<Telegram> ReadLinkLayer(std::span<const uint8_t> frame) {
  if (frame.size() < kLinkHeaderSize + 1) {
    return ByteError(frame.size(), "link layer", "truncated: a telegram has at least 11 bytes (L C M A CI), got " +
                                                      std::to_string(frame.size()));
  }
  const uint8_t l = frame[0];
  if (l < kLinkHeaderSize) return ByteError(0, "L field", std::to_string(l) + " is shorter than the link-layer header");
  const size_t n = frame.size();
  const size_t a_length = FormatALength(l);
  if (n == a_length) return ReadFormatA(frame, n);
  if (n == l + 1u) {
    if (FormatBHolds(frame)) return StripFormatB(frame);
    Telegram t;
    const size_t last_block = n > 14 ? kLinkHeaderSize + 16 * ((n - 3 - kLinkHeaderSize) / 16) : n;
    if (last_block < n - 2 && CrcAt(frame, last_block, n - 2)) {
      Append(t, frame, 0, n - 2);
      t.status.push_back("trailing_crc");
    } else {
      Append(t, frame, 0, n);
    }
    return t;
  }
  return ByteError(0, "L field",
                   "L = " + std::to_string(l) + " announces " + std::to_string(l + 1u) + " bytes (CRCs removed or format B) or " +
                       std::to_string(a_length) + " (format A), the frame has " + std::to_string(n));
}

std::string ManufacturerCode(uint16_t m) {
  std::string s(3, '?');
  const int shifts[3] = {10, 5, 0};
  for (int i = 0; i < 3; ++i) {
    const int c = (m >> shifts[i]) & 0x1F;
    if (c >= 1 && c <= 26) s[static_cast<size_t>(i)] = static_cast<char>('A' + c - 1);
  }
  return s;
}

std::string MeterAddress(const uint8_t* m, const uint8_t* id) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s = ManufacturerCode(static_cast<uint16_t>(m[1] << 8 | m[0]));
  for (int i = 3; i >= 0; --i) {
    s.push_back(kDigits[id[i] >> 4]);
    s.push_back(kDigits[id[i] & 0x0F]);
  }
  return s;
}

}  // namespace mh::codec::wmbus
