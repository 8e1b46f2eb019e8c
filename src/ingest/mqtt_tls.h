// TLS for MeterHub's MQTT clients (the daemon's shard sessions and command session, the
// simulator's devices): one place that turns CA / client certificate files into libmosquitto's
// mosquitto_tls_set, so every client verifies the broker the same way.
#pragma once

#include <string>

#include "base/status.h"

struct mosquitto;

namespace mh::ingest {

struct MqttTls {
  std::string ca_file;    // PEM CA the broker's certificate must chain to; empty = plain TCP
  std::string cert_file;  // client certificate (PEM), for brokers that require one; needs key_file
  std::string key_file;
  bool enabled() const { return !ca_file.empty(); }
};

// Checks the files exist and agree (cert and key together); InvalidArgument naming the file.
Status CheckMqttTls(const MqttTls& tls, const std::string& what = "mqtt");
// Before connecting: verify the broker's certificate and host name against `tls.ca_file` (and
// present the client certificate). No-op when TLS is off.
Status ApplyMqttTls(struct mosquitto* client, const MqttTls& tls);

}  // namespace mh::ingest
