// The daemon's TLS settings from its configuration ([http] tls_*, allow_plaintext; [mqtt] tls_*),
// and the rule that plain HTTP stays on loopback unless the operator says otherwise.
#pragma once

#include <string>

#include "api/http_api.h"
#include "app/config.h"
#include "ingest/mqtt_tls.h"

namespace mh::app {

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

// Loads http.tls_cert/tls_key into `options` (HTTPS), or checks that plain HTTP is allowed on
// options->host: a non-loopback address needs TLS or http.allow_plaintext = true.
// InvalidArgument naming the key and the file.
Status ApplyHttpTls(const Config& config, api::HttpOptions* options);

// The [mqtt] tls_* files, checked (readable, cert and key together).
Result<ingest::MqttTls> MqttTlsOf(const Config& config);

// A throw-away CA and a certificate it signed for 127.0.0.1, ::1 and localhost, written to `dir`
// as ca.pem, server.pem and server.key (0600): `meterhub demo --tls` and the TLS tests.
struct TlsFiles {
  std::string ca_file, cert_file, key_file;
};
Result<TlsFiles> MakeThrowAwayTls(const std::string& dir, int days = 30);

}  // namespace mh::app
