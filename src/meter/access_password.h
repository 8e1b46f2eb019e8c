// SPEC 2.5: the relay's encrypted reference string carried in the beacon's vendor-specific
// element, and the WPA2 password both sides derive from it. Byte layout frozen in docs/relay.md.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace mh::meter {

// Vendor element payload (the element body after ID 221 and the length octet):
//   OUI 02:4D:48 | type 0x01 | key id (1) | nonce (12) | ciphertext (32) | tag (16)  = 65 bytes.
// AES-256-GCM AAD = the first 5 bytes (OUI | type | key id), so the key id cannot be swapped.
inline constexpr std::array<uint8_t, 3> kVendorOui = {0x02, 0x4D, 0x48};
inline constexpr uint8_t kReferencePayloadType = 0x01;
inline constexpr size_t kReferenceHexLength = 32;  // 16 random bytes, lowercase hex
inline constexpr size_t kReferencePayloadSize = 3 + 1 + 1 + 12 + 32 + 16;  // 65

// One region key as distributed by the server; ids let keys rotate.
struct RegionKey {
  uint8_t id = 0;
  std::array<uint8_t, 32> key{};
};

// True for 32 chars of [0-9a-f].
bool IsReferenceHex(std::string_view reference);
// A fresh reference: 16 bytes from `random16` in lowercase hex. InvalidArgument unless 16 bytes.
Result<std::string> ReferenceFromBytes(std::span<const uint8_t> random16);

// Encrypts `reference` (32 lowercase hex chars) under `key` with the given 12-byte nonce (handed
// in so callers control randomness; it must never repeat under one key).
Result<crypto::Bytes> BuildReferencePayload(const RegionKey& key, std::string_view reference,
                                            std::span<const uint8_t> nonce);

// Decrypts a payload with the matching key among `keys`. InvalidArgument for a wrong length,
// OUI or type; NotFound for an unknown key id; Unauthenticated for a bad tag (wrong key or a
// tampered byte); InvalidArgument if the plaintext is not a 32-char lowercase hex reference.
Result<std::string> ParseReferencePayload(std::span<const uint8_t> payload,
                                          std::span<const RegionKey> keys);

// password = chars [16,48) of lowercase hex SHA-256(region_code + position_code + reference).
// InvalidArgument when the region code is not 9 digits, the position not 6 digits or the
// reference not 32 lowercase hex chars.
Result<std::string> DeriveAccessPassword(std::string_view region_code, std::string_view position_code,
                                         std::string_view reference);

}  // namespace mh::meter
