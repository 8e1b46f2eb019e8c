#include "crypto/x509.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace mh::crypto {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

Result<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return Internal("x509: cannot write the certificate");
  return BioText(bio.get());
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return Internal("x509: cannot write the key");
  return BioText(bio.get());
}

// One extension from its OpenSSL config text ("critical,CA:TRUE"), issued by `issuer`.
Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return InvalidArgument("x509: bad extension " + std::string(OBJ_nid2sn(nid)) + " = " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : Internal("x509: cannot add an extension");
}

// A certificate for `key` named `common_name`, valid from an hour ago (clock skew) for `days`.
Result<Cert> NewCertificate(EVP_PKEY* key, const std::string& common_name, int days) {
  if (days <= 0) return InvalidArgument("x509: validity must be at least one day");
  Cert cert(X509_new());
  if (!cert) return Internal("X509_new failed");
  uint8_t serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return Internal("x509: no random serial");
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr;
  BN_free(bn);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!serial_ok || X509_set_version(cert.get(), 2) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("MeterHub"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1)
    return Internal("x509: cannot fill in the certificate of " + common_name);
  return cert;
}

Result<Key> ParseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return InvalidArgument("x509: not a PEM private key");
  return key;
}

Result<Cert> ParseCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return InvalidArgument("x509: not a PEM certificate");
  return cert;
}

Result<PemCertificate> Pem(X509* cert, EVP_PKEY* key) {
  PemCertificate out;
  MH_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert));
  MH_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key));
  return out;
}

}  // namespace

Result<PemCertificate> MakeCertificateAuthority(const std::string& common_name, int days) {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Internal("x509: cannot generate a P-256 key");
  MH_ASSIGN_OR_RETURN(Cert cert, NewCertificate(key.get(), common_name, days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1) return Internal("x509: issuer");
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return Internal("x509: cannot sign the CA");
  return Pem(cert.get(), key.get());
}

Result<PemCertificate> IssueCertificate(const PemCertificate& ca, const std::string& common_name,
                                        const std::vector<std::string>& hosts, int days) {
  MH_ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.cert_pem));
  MH_ASSIGN_OR_RETURN(Key ca_key, ParseKey(ca.key_pem));
  Key key(EVP_EC_gen("P-256"));
  if (!key) return Internal("x509: cannot generate a P-256 key");
  MH_ASSIGN_OR_RETURN(Cert cert, NewCertificate(key.get(), common_name, days));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) != 1) return Internal("x509: issuer");
  std::string san;
  for (const auto& host : hosts) {
    in6_addr probe;
    const bool ip = inet_pton(AF_INET, host.c_str(), &probe) == 1 || inet_pton(AF_INET6, host.c_str(), &probe) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + host;
  }
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement"));
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth"));
  MH_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (!san.empty()) MH_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, san));
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) return Internal("x509: cannot sign " + common_name);
  return Pem(cert.get(), key.get());
}

}  // namespace mh::crypto
