// Device provisioning at run time through Mosquitto's dynamic-security plugin (`[mqtt]
// provisioning = "dynsec"`): devices are added and revoked by JSON commands on
// $CONTROL/dynamic-security/v1 (what mosquitto_ctrl sends), so the broker is neither restarted
// nor signalled and no password file is rewritten. A device is a dynsec client whose user name is
// its id, with a role of its own granting the topics MosquittoAcl grants it in the file-based mode
// (write on meters/+/<id>/<uplink>, read on meters/+/<id>/commands) — Mosquitto 2.0's plugin has
// no %u patterns, so the role names the id.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "ingest/mqtt_tls.h"

struct mosquitto;

namespace mh::app {

struct DynsecOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string admin_user;      // a dynsec client with the plugin's admin role
  std::string admin_password;
  ingest::MqttTls tls;
  int timeout_ms = 30000;      // for one batch of commands to be answered
  int batch = 200;             // devices per control message
};

struct Config;
// From `[mqtt]`: broker, TLS, dynsec_admin_user and the first line of dynsec_admin_password_file.
Result<DynsecOptions> DynsecOptionsOf(const Config& config);

// The dynsec role of a device: "meterhub-device-<id>".
std::string DeviceRoleName(const std::string& device_id);
// createRole (with the device's ACLs) and createClient commands for one device.
std::vector<nlohmann::json> AddDeviceCommands(const std::string& device_id, const std::string& password);

class DynsecClient {
 public:
  // Connects as the admin user and subscribes to the plugin's responses.
  static Result<std::unique_ptr<DynsecClient>> Connect(const DynsecOptions& options);
  ~DynsecClient();
  DynsecClient(const DynsecClient&) = delete;
  DynsecClient& operator=(const DynsecClient&) = delete;

  // Adds devices (id, password); a device that exists is created anew with the new password (its
  // open sessions are closed).
  Status AddDevices(const std::vector<std::pair<std::string, std::string>>& devices);
  // Removes the devices' clients and roles; a connected device is disconnected by the broker. An
  // unknown id is not an error (revoking is idempotent).
  Status RevokeDevices(const std::vector<std::string>& device_ids);
  // A service user (the daemon) with readwrite on meters/#.
  Status AddServiceUser(const std::string& user, const std::string& password);

  // Sends commands in one control message; the responses in command order (each has "error"
  // when that command failed). Unavailable when the plugin does not answer in time.
  Result<std::vector<nlohmann::json>> Send(std::vector<nlohmann::json> commands);

 private:
  DynsecClient() = default;
  struct State;
  struct mosquitto* mosq_ = nullptr;
  std::unique_ptr<State> state_;
  DynsecOptions options_;
};

// Writes devices (id, password) straight into the plugin's JSON config at `path` (what
// `mosquitto_ctrl dynsec init` made), while the broker is stopped: the same client and role per
// device as AddDevices, a device already there replaced. For a large fleet's first load — the
// plugin of Mosquitto 2.0.11 rewrites its whole config after each command it is sent, so adding
// devices at run time costs in proportion to the devices it holds (docs/mqtt.md has figures).
Status WriteDynsecDevices(const std::string& path, const std::vector<std::pair<std::string, std::string>>& devices);

// The daemon's side of `[mqtt] provisioning = "dynsec"`: meters registered over REST become
// devices in the plugin. Connects as the admin on first use and again after a failure; one call
// at a time.
class DynsecProvisioner {
 public:
  explicit DynsecProvisioner(DynsecOptions options) : options_(std::move(options)) {}
  // Adds (or re-creates) the device with `password`.
  Status Add(const std::string& device_id, const std::string& password);
  Status Revoke(const std::string& device_id);

 private:
  Status WithClient(const std::function<Status(DynsecClient&)>& fn);

  DynsecOptions options_;
  std::mutex mu_;
  std::unique_ptr<DynsecClient> client_;
};

}  // namespace mh::app
