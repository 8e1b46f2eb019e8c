#include "crypto/aes128.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <limits>
#include <memory>
#include <string>

namespace mh::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

bool FitsInt(size_t n) { return n <= static_cast<size_t>(std::numeric_limits<int>::max()); }

// Ciphers fetched once (OpenSSL 3 would otherwise fetch implicitly on every init) and one cipher
// context per thread, reset between uses: a meter decoder calls these once per frame.
const EVP_CIPHER* Cipher(const char* name) { return EVP_CIPHER_fetch(nullptr, name, nullptr); }
const EVP_CIPHER* Gcm() {
  static const EVP_CIPHER* const c = Cipher("AES-128-GCM");
  return c;
}
const EVP_CIPHER* Cbc() {
  static const EVP_CIPHER* const c = Cipher("AES-128-CBC");
  return c;
}
const EVP_CIPHER* Ctr() {
  static const EVP_CIPHER* const c = Cipher("AES-128-CTR");
  return c;
}
EVP_CIPHER_CTX* ThreadContext() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx) EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

Status CheckKey(std::span<const uint8_t> key, const char* what) {
  if (key.size() != kAes128KeySize) {
    return InvalidArgument(std::string(what) + " key must be 16 bytes, got " + std::to_string(key.size()));
  }
  return Status::Ok();
}

Status CheckGcm(std::span<const uint8_t> key, std::span<const uint8_t> iv, size_t tag_size) {
  MH_RETURN_IF_ERROR(CheckKey(key, "AES-128-GCM"));
  if (iv.size() != kGcmNonceSize) {
    return InvalidArgument("AES-128-GCM IV must be 12 bytes, got " + std::to_string(iv.size()));
  }
  if (tag_size != 4 && tag_size != 8 && (tag_size < 12 || tag_size > 16)) {
    return InvalidArgument("AES-128-GCM tag size " + std::to_string(tag_size) + " is not 4, 8 or 12..16");
  }
  return Status::Ok();
}

// One pass of an unpadded block or stream cipher over `data`.
Result<Bytes> RunCipher(const EVP_CIPHER* cipher, bool encrypt, std::span<const uint8_t> key,
                        std::span<const uint8_t> iv, std::span<const uint8_t> data, const char* what) {
  if (!FitsInt(data.size())) return InvalidArgument(std::string(what) + ": input too large");
  EVP_CIPHER_CTX* ctx = ThreadContext();
  if (ctx == nullptr || cipher == nullptr) return Internal(std::string(what) + ": OpenSSL cipher unavailable");
  Bytes out(data.size() + kAesBlockSize);
  int len = 0, tail = 0;
  if (EVP_CipherInit_ex(ctx, cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
      (!data.empty() &&
       EVP_CipherUpdate(ctx, out.data(), &len, data.data(), static_cast<int>(data.size())) != 1) ||
      EVP_CipherFinal_ex(ctx, out.data() + len, &tail) != 1) {
    return Internal(std::string(what) + " failed");
  }
  out.resize(static_cast<size_t>(len + tail));
  return out;
}

Status CheckCbc(std::span<const uint8_t> key, std::span<const uint8_t> iv, std::span<const uint8_t> data) {
  MH_RETURN_IF_ERROR(CheckKey(key, "AES-128-CBC"));
  if (iv.size() != kAesBlockSize) return InvalidArgument("AES-128-CBC IV must be 16 bytes, got " + std::to_string(iv.size()));
  if (data.size() % kAesBlockSize != 0) {
    return InvalidArgument("AES-128-CBC input of " + std::to_string(data.size()) + " bytes is not a whole number of 16-byte blocks");
  }
  return Status::Ok();
}

}  // namespace

Result<Bytes> Aes128GcmSeal(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                            std::span<const uint8_t> plaintext, std::span<const uint8_t> aad,
                            size_t tag_size) {
  MH_RETURN_IF_ERROR(CheckGcm(key, iv, tag_size));
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) return InvalidArgument("AES-128-GCM input too large");
  EVP_CIPHER_CTX* ctx = ThreadContext();
  if (ctx == nullptr || Gcm() == nullptr) return Internal("AES-128-GCM: OpenSSL cipher unavailable");
  Bytes out(plaintext.size() + kAesBlockSize);
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, Gcm(), nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() &&
       EVP_EncryptUpdate(ctx, out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx, out.data() + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                          out.data() + plaintext.size()) != 1) {
    return Internal("AES-128-GCM encryption failed");
  }
  out.resize(plaintext.size() + tag_size);
  return out;
}

Result<Bytes> Aes128GcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                            std::span<const uint8_t> sealed, std::span<const uint8_t> aad,
                            size_t tag_size) {
  MH_RETURN_IF_ERROR(CheckGcm(key, iv, tag_size));
  if (sealed.size() < tag_size) {
    return InvalidArgument("AES-128-GCM input shorter than its " + std::to_string(tag_size) + "-byte tag");
  }
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) return InvalidArgument("AES-128-GCM input too large");
  const size_t ct_len = sealed.size() - tag_size;
  EVP_CIPHER_CTX* ctx = ThreadContext();
  if (ctx == nullptr || Gcm() == nullptr) return Internal("AES-128-GCM: OpenSSL cipher unavailable");
  Bytes out(ct_len + kAesBlockSize);
  AesBlock tag{};  // EVP wants a mutable tag buffer
  std::copy(sealed.begin() + static_cast<std::ptrdiff_t>(ct_len), sealed.end(), tag.begin());
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, Gcm(), nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (ct_len > 0 &&
       EVP_DecryptUpdate(ctx, out.data(), &len, sealed.data(), static_cast<int>(ct_len)) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size), tag.data()) != 1) {
    return Internal("AES-128-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx, out.data() + ct_len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Unauthenticated("authentication tag mismatch (wrong key or altered data)");
  }
  out.resize(ct_len);
  return out;
}

Result<Bytes> Aes128CbcEncrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> data) {
  MH_RETURN_IF_ERROR(CheckCbc(key, iv, data));
  return RunCipher(Cbc(), true, key, iv, data, "AES-128-CBC encryption");
}

Result<Bytes> Aes128CbcDecrypt(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                               std::span<const uint8_t> data) {
  MH_RETURN_IF_ERROR(CheckCbc(key, iv, data));
  return RunCipher(Cbc(), false, key, iv, data, "AES-128-CBC decryption");
}

Result<Bytes> Aes128Ctr(std::span<const uint8_t> key, std::span<const uint8_t> iv,
                        std::span<const uint8_t> data) {
  MH_RETURN_IF_ERROR(CheckKey(key, "AES-128-CTR"));
  if (iv.size() != kAesBlockSize) return InvalidArgument("AES-128-CTR counter block must be 16 bytes, got " + std::to_string(iv.size()));
  return RunCipher(Ctr(), true, key, iv, data, "AES-128-CTR");
}

Result<AesBlock> Aes128Cmac(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  MH_RETURN_IF_ERROR(CheckKey(key, "AES-CMAC"));
  // Fetched once; an EVP_MAC may be shared by contexts on any thread.
  static EVP_MAC* const cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  if (cmac == nullptr) return Internal("OpenSSL has no CMAC implementation");
  MacCtx ctx(EVP_MAC_CTX_new(cmac));
  if (!ctx) return Internal("EVP_MAC_CTX_new failed");
  char cipher_name[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
      OSSL_PARAM_construct_end(),
  };
  AesBlock out{};
  size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != out.size()) {
    return Internal("AES-CMAC failed");
  }
  return out;
}

}  // namespace mh::crypto
