// Throw-away X.509 certificates for `meterhub demo --tls` and the TLS tests: a self-signed CA and
// server or client certificates it signs (EC P-256 keys, SHA-256), as PEM, made with OpenSSL's C
// API. Not a certificate authority for production: no revocation, no key protection.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace mh::crypto {

struct PemCertificate {
  std::string cert_pem;
  std::string key_pem;  // unencrypted PKCS#8
};

// A CA certificate (basicConstraints CA:TRUE, keyCertSign) valid from now for `days`.
Result<PemCertificate> MakeCertificateAuthority(const std::string& common_name, int days);

// A leaf certificate signed by `ca`, valid for `days`, naming `hosts` in its subjectAltName (each an
// IP address such as 127.0.0.1 or a DNS name such as localhost) for server and client use.
Result<PemCertificate> IssueCertificate(const PemCertificate& ca, const std::string& common_name,
                                        const std::vector<std::string>& hosts, int days);

}  // namespace mh::crypto
