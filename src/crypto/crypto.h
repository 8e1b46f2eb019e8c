// Thin wrappers over OpenSSL EVP: SHA-256, HMAC-SHA256, constant-time compare, random bytes and
// AES-256-GCM. Every failure is a Status (a bad GCM tag included); nothing here throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::crypto {

using Bytes = std::vector<uint8_t>;
using Digest = std::array<uint8_t, 32>;

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Views of text as bytes (no copy); `s` must outlive the span.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Digest Sha256(std::span<const uint8_t> data);
inline Digest Sha256(std::string_view text) { return Sha256(AsBytes(text)); }

// Lowercase hex, two chars per byte.
std::string HexEncode(std::span<const uint8_t> data);
// Accepts upper- and lowercase; an odd length or a non-hex char is InvalidArgument.
Result<Bytes> HexDecode(std::string_view hex);

Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// True when equal; the time taken depends only on the lengths, never on the contents.
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Standard base64 with padding (RFC 4648 section 4), as OpenSSL's EVP_EncodeBlock writes it.
std::string Base64Encode(std::span<const uint8_t> data);

// PBKDF2-HMAC-SHA512 (RFC 8018): `length` bytes derived from `password` and `salt`.
Result<Bytes> Pbkdf2Sha512(std::string_view password, std::span<const uint8_t> salt, int iterations, size_t length);

// `n` bytes from the OpenSSL CSPRNG (RAND_bytes); kInternal if it is not seeded.
Result<Bytes> RandomBytes(size_t n);

// AES-256-GCM with a 96-bit nonce and a 128-bit tag. Returns ciphertext || tag.
// A key that is not 32 bytes or a nonce that is not 12 bytes is InvalidArgument.
Result<Bytes> Seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                   std::span<const uint8_t> plaintext, std::span<const uint8_t> aad = {});
// Inverse of Seal; `sealed` = ciphertext || tag. A wrong key, nonce, aad or a tampered byte is
// kUnauthenticated ("GCM tag mismatch"); no plaintext is released then.
Result<Bytes> Open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                   std::span<const uint8_t> sealed, std::span<const uint8_t> aad = {});

}  // namespace mh::crypto
