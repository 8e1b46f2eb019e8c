// Ed25519 (RFC 8032) key generation, signing and verification over OpenSSL EVP: the signature
// of the ledger's tree heads. Keys are the raw 32-byte forms (private = the RFC's seed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/status.h"
#include "crypto/crypto.h"

namespace mh::crypto {

inline constexpr size_t kEd25519PrivateKeySize = 32;
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

struct Ed25519KeyPair {
  Bytes private_key;  // 32-byte seed
  Bytes public_key;   // 32 bytes
};

// A fresh key pair from the OpenSSL CSPRNG.
Result<Ed25519KeyPair> Ed25519Generate();

// The public key of a 32-byte private key (InvalidArgument for any other length).
Result<Bytes> Ed25519PublicKey(std::span<const uint8_t> private_key);

// The 64-byte signature of `message` (pure Ed25519: no pre-hash, no context).
Result<Bytes> Ed25519Sign(std::span<const uint8_t> private_key, std::span<const uint8_t> message);

// Ok when `signature` is a valid signature of `message` under `public_key`; kUnauthenticated when
// it is not, InvalidArgument for a key or signature of the wrong length.
Status Ed25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature);

}  // namespace mh::crypto
