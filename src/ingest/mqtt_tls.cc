#include "ingest/mqtt_tls.h"

#include <mosquitto.h>
#include <unistd.h>

namespace mh::ingest {

Status CheckMqttTls(const MqttTls& tls, const std::string& what) {
  if (!tls.enabled()) {
    if (!tls.cert_file.empty() || !tls.key_file.empty())
      return InvalidArgument(what + ".tls_cert/tls_key need " + what + ".tls_ca (the CA the broker is checked against)");
    return Status::Ok();
  }
  if (tls.cert_file.empty() != tls.key_file.empty())
    return InvalidArgument(what + ".tls_cert and " + what + ".tls_key go together");
  for (const auto& [key, file] : {std::pair{"tls_ca", &tls.ca_file}, {"tls_cert", &tls.cert_file}, {"tls_key", &tls.key_file}})
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0)
      return InvalidArgument(what + "." + key + ": cannot read " + *file);
  return Status::Ok();
}

Status ApplyMqttTls(struct mosquitto* client, const MqttTls& tls) {
  if (!tls.enabled()) return Status::Ok();
  const int rc = mosquitto_tls_set(client, tls.ca_file.c_str(), nullptr, tls.cert_file.empty() ? nullptr : tls.cert_file.c_str(),
                                   tls.key_file.empty() ? nullptr : tls.key_file.c_str(), nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return InvalidArgument("mqtt TLS (CA " + tls.ca_file + "): " + mosquitto_strerror(rc));
  // Verify the peer (libmosquitto's default, said out loud); its default versions are TLS 1.2 and newer.
  if (int r = mosquitto_tls_opts_set(client, 1, nullptr, nullptr); r != MOSQ_ERR_SUCCESS)
    return InvalidArgument(std::string("mqtt TLS options: ") + mosquitto_strerror(r));
  return Status::Ok();
}

}  // namespace mh::ingest
