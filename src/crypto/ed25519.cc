#include "crypto/ed25519.h"

#include <memory>
#include <string>

#include <openssl/err.h>
#include <openssl/evp.h>

namespace mh::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

Status OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  return Internal("ed25519: " + what + ": " + text);
}

Status CheckLength(std::span<const uint8_t> bytes, size_t want, const char* what) {
  if (bytes.size() == want) return Status::Ok();
  return InvalidArgument(std::string("ed25519: ") + what + " must be " + std::to_string(want) + " bytes, not " +
                         std::to_string(bytes.size()));
}

Result<Pkey> PrivateKey(std::span<const uint8_t> private_key) {
  MH_RETURN_IF_ERROR(CheckLength(private_key, kEd25519PrivateKeySize, "private key"));
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, private_key.data(), private_key.size()));
  if (!key) return OpenSslError("load private key");
  return key;
}

Result<Bytes> RawPublic(EVP_PKEY* key) {
  Bytes out(kEd25519PublicKeySize);
  size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &length) != 1 || length != out.size()) {
    return OpenSslError("read public key");
  }
  return out;
}

}  // namespace

Result<Ed25519KeyPair> Ed25519Generate() {
  MH_ASSIGN_OR_RETURN(Bytes seed, RandomBytes(kEd25519PrivateKeySize));
  MH_ASSIGN_OR_RETURN(Bytes public_key, Ed25519PublicKey(seed));
  return Ed25519KeyPair{std::move(seed), std::move(public_key)};
}

Result<Bytes> Ed25519PublicKey(std::span<const uint8_t> private_key) {
  MH_ASSIGN_OR_RETURN(Pkey key, PrivateKey(private_key));
  return RawPublic(key.get());
}

Result<Bytes> Ed25519Sign(std::span<const uint8_t> private_key, std::span<const uint8_t> message) {
  MH_ASSIGN_OR_RETURN(Pkey key, PrivateKey(private_key));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("new digest context");
  // Ed25519 hashes internally: the digest must be NULL and the one-shot call used.
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return OpenSslError("sign init");
  Bytes signature(kEd25519SignatureSize);
  size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()) != 1 ||
      length != kEd25519SignatureSize) {
    return OpenSslError("sign");
  }
  return signature;
}

Status Ed25519Verify(std::span<const uint8_t> public_key, std::span<const uint8_t> message,
                     std::span<const uint8_t> signature) {
  MH_RETURN_IF_ERROR(CheckLength(public_key, kEd25519PublicKeySize, "public key"));
  MH_RETURN_IF_ERROR(CheckLength(signature, kEd25519SignatureSize, "signature"));
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  if (!key) {
    // Not every 32-byte string is a curve point; such a key verifies nothing.
    ERR_clear_error();
    return Unauthenticated("ed25519: public key is not a valid point");
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("new digest context");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return OpenSslError("verify init");
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
  ERR_clear_error();
  if (rc != 1) return Unauthenticated("ed25519: signature does not verify");
  return Status::Ok();
}

}  // namespace mh::crypto
