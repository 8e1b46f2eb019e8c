// CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) — the
// 802.11 FCS and the water frames' check value — computed by zlib's crc32(). Link ZLIB::ZLIB.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

namespace mh::codec {

inline uint32_t Crc32(std::span<const uint8_t> bytes) {
  // zlib takes the length as uInt: feed huge inputs in pieces.
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = crc32(crc, bytes.data(), static_cast<uInt>(n));
    bytes = bytes.subspan(n);
  }
  return static_cast<uint32_t>(crc);
}

inline uint32_t Crc32(std::string_view bytes) {
  return Crc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace mh::codec
