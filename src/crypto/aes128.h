// AES-128 in the modes meter protocols use, as thin wrappers over OpenSSL EVP: GCM with a short
// tag (DLMS/COSEM security suite 0), CBC without padding (wireless M-Bus security modes 5 and 7),
// CTR (the wM-Bus extended link layer) and CMAC (OMS key derivation and MACs). Every failure is
// a Status; nothing here throws.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"
#include "crypto/crypto.h"

namespace mh::crypto {

inline constexpr size_t kAes128KeySize = 16;
inline constexpr size_t kAesBlockSize = 16;
using AesBlock = std::array<uint8_t, kAesBlockSize>;

// AES-128-GCM with a 96-bit IV and a tag of `tag_size` bytes (4, 8, 12..16; DLMS uses 12).
// Returns ciphertext || tag. A key that is not 16 bytes or an IV that is not 12 is InvalidArgument.
Result<Bytes> Aes128GcmSeal(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                            std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
                            size_t tag_size);
// Inverse of Aes128GcmSeal: `sealed` = ciphertext || tag of `tag_size` bytes. A wrong key, IV,
// AAD or a changed byte is kUnauthenticated ("authentication tag mismatch"); no plaintext is
// released then.
Result<Bytes> Aes128GcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                            std::span<const uint8_t> sealed, std::span<const uint8_t> aad,
                            size_t tag_size);

// AES-128-CBC without padding: `data` must be a whole number of 16-byte blocks, `iv` 16 bytes.
Result<Bytes> Aes128CbcEncrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> data);
Result<Bytes> Aes128CbcDecrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> data);

// AES-128-CTR (NIST SP 800-38A): `iv` is the 16-byte initial counter block, incremented as one
// 128-bit big-endian number per block. Encryption and decryption are the same operation.
Result<Bytes> Aes128Ctr(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                        std::span<const uint8_t> data);

// AES-CMAC (RFC 4493, NIST SP 800-38B) with a 16-byte key: the full 16-byte MAC.
Result<AesBlock> Aes128Cmac(std::span<const uint8_t> key, std::span<const uint8_t> data);

}  // namespace mh::crypto
