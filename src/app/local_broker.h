// A Mosquitto broker of our own on a free 127.0.0.1 port, for `meterhub demo` and the tests:
// a real broker process (Debian's /usr/sbin/mosquitto), started with a generated config and
// stopped (SIGTERM, then SIGKILL) when this object goes away.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "base/loopback.h"
#include "base/status.h"

namespace mh::app {

using mh::FreeLoopbackPort;

class LocalBroker {
 public:
  LocalBroker() = default;
  ~LocalBroker();
  LocalBroker(const LocalBroker&) = delete;
  LocalBroker& operator=(const LocalBroker&) = delete;

  // Before Start: authenticate clients against a Mosquitto password file (no anonymous clients)
  // and authorise topics with an ACL file (see broker_auth.h). Empty = anonymous, no ACL.
  void SetAuthFiles(std::string password_file, std::string acl_file) {
    password_file_ = std::move(password_file);
    acl_file_ = std::move(acl_file);
  }
  // Before Start: authenticate and authorise with Mosquitto's dynamic-security plugin instead (see
  // dynsec.h), its config <dir>/dynsec.json created on the first Start with this admin user. False
  // from DynamicSecurityAvailable(): the plugin or mosquitto_ctrl is not installed.
  void SetDynamicSecurity(std::string admin_user, std::string admin_password) {
    dynsec_admin_ = std::move(admin_user);
    dynsec_password_ = std::move(admin_password);
  }
  // Before Start: the listener speaks TLS only, with this certificate and key (PEM files), signed
  // by the CA in `ca_file`. With `require_client_certificate`, clients must show one the CA signed.
  void SetTlsFiles(std::string ca_file, std::string cert_file, std::string key_file, bool require_client_certificate = false) {
    tls_ca_ = std::move(ca_file);
    tls_cert_ = std::move(cert_file);
    tls_key_ = std::move(key_file);
    require_client_cert_ = require_client_certificate;
  }
  // Starts mosquitto in `dir` (config, log, persistence there) and waits until it accepts.
  Status Start(const std::string& dir, int port = 0);
  // How long Start waits for the listener (default 5 s; a plugin config of 10^5 devices loads longer).
  void SetStartTimeout(int ms) { start_timeout_ms_ = ms; }
  void Stop();
  // Kills the broker at once (SIGKILL): tests of what survives.
  void Kill();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // the broker process (its RSS in benchmarks)
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int start_timeout_ms_ = 5000;
  std::string log_path_;
  std::string password_file_, acl_file_;
  std::string tls_ca_, tls_cert_, tls_key_;
  bool require_client_cert_ = false;
  std::string dynsec_admin_, dynsec_password_;
};

// Debian's path of the dynamic-security plugin (package mosquitto).
inline constexpr char kDynsecPlugin[] = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
bool DynamicSecurityAvailable();

// Finds the mosquitto binary (/usr/sbin/mosquitto or on PATH); empty when not installed.
std::string FindMosquitto();

}  // namespace mh::app
