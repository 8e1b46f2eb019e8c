#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <limits>
#include <memory>

namespace mh::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// EVP takes int lengths.
bool FitsInt(size_t n) { return n <= static_cast<size_t>(std::numeric_limits<int>::max()); }

Status CheckGcmArgs(std::span<const uint8_t> key, std::span<const uint8_t> nonce) {
  if (key.size() != kAes256KeySize) {
    return InvalidArgument("AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
  }
  if (nonce.size() != kGcmNonceSize) {
    return InvalidArgument("AES-256-GCM nonce must be 12 bytes, got " +
                           std::to_string(nonce.size()));
  }
  return Status::Ok();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Digest Sha256(std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  // EVP_Digest cannot fail for SHA-256 short of memory exhaustion.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string HexEncode(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(data.size() * 2);
  for (uint8_t b : data) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0x0f]);
  }
  return s;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgument("hex text has an odd length " + std::to_string(hex.size()));
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument("not a hex digit at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  Digest out{};
  unsigned int len = 0;
  static const uint8_t kEmpty = 0;
  HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
       data.data(), data.size(), out.data(), &len);
  return out;
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<Bytes> RandomBytes(size_t n) {
  Bytes out(n);
  if (n == 0) return out;
  if (!FitsInt(n)) return InvalidArgument("RandomBytes: too many bytes requested");
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) return Internal("RAND_bytes failed");
  return out;
}

Result<Bytes> Seal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                   std::span<const uint8_t> plaintext, std::span<const uint8_t> aad) {
  MH_RETURN_IF_ERROR(CheckGcmArgs(key, nonce));
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) return InvalidArgument("AES-GCM input too large");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Internal("EVP_CIPHER_CTX_new failed");
  Bytes out(plaintext.size() + kGcmTagSize);
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(),
                         static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          out.data() + plaintext.size()) != 1) {
    return Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<Bytes> Open(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                   std::span<const uint8_t> sealed, std::span<const uint8_t> aad) {
  MH_RETURN_IF_ERROR(CheckGcmArgs(key, nonce));
  if (sealed.size() < kGcmTagSize) {
    return InvalidArgument("AES-256-GCM input shorter than the 16-byte tag");
  }
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) return InvalidArgument("AES-GCM input too large");
  const size_t ct_len = sealed.size() - kGcmTagSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Internal("EVP_CIPHER_CTX_new failed");
  Bytes out(ct_len);
  Digest tag_copy{};  // EVP wants a mutable tag buffer
  std::copy(sealed.begin() + ct_len, sealed.end(), tag_copy.begin());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (ct_len > 0 &&
       EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), static_cast<int>(ct_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag_copy.data()) != 1) {
    return Internal("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + ct_len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Unauthenticated("AES-256-GCM tag mismatch (wrong key or tampered data)");
  }
  return out;
}

std::string Base64Encode(std::span<const uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<Bytes> Pbkdf2Sha512(std::string_view password, std::span<const uint8_t> salt, int iterations, size_t length) {
  if (iterations < 1) return InvalidArgument("pbkdf2: iterations must be at least 1");
  Bytes out(length);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        iterations, EVP_sha512(), static_cast<int>(length), out.data()) != 1) {
    return Internal("pbkdf2: PKCS5_PBKDF2_HMAC failed");
  }
  return out;
}

}  // namespace mh::crypto
