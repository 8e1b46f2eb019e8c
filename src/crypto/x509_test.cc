#include "crypto/x509.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace mh::crypto {
namespace {

X509* Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

// OpenSSL's own chain verification of `leaf` against `ca` alone, host name included.
bool Verifies(const std::string& leaf_pem, const std::string& ca_pem, const char* ip) {
  X509* leaf = Parse(leaf_pem);
  X509* ca = Parse(ca_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM_set1_ip_asc(X509_STORE_CTX_get0_param(ctx), ip);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
  return ok;
}

TEST(X509, IssuedCertificateChainsToItsCaOnly) {
  auto ca = MakeCertificateAuthority("test CA", 1);
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  auto other = MakeCertificateAuthority("other CA", 1);
  ASSERT_TRUE(other.ok());
  auto server = IssueCertificate(*ca, "server", {"127.0.0.1", "localhost"}, 1);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_NE(server->cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(server->key_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(Verifies(server->cert_pem, ca->cert_pem, "127.0.0.1"));
  EXPECT_FALSE(Verifies(server->cert_pem, other->cert_pem, "127.0.0.1"));
  EXPECT_FALSE(Verifies(server->cert_pem, ca->cert_pem, "10.1.2.3"));  // not a name of the certificate
}

TEST(X509, RejectsBadInput) {
  EXPECT_FALSE(MakeCertificateAuthority("CA", 0).ok());
  EXPECT_FALSE(IssueCertificate({"not pem", "not pem"}, "x", {}, 1).ok());
}

}  // namespace
}  // namespace mh::crypto
