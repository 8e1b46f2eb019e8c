#include "app/dynsec.h"

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <mutex>

#include "app/broker_auth.h"
#include "app/config.h"
#include "app/tls_setup.h"
#include "crypto/crypto.h"
#include "ingest/device_topics.h"
#include "ingest/mqtt_ingest.h"

namespace mh::app {
namespace {

using json = nlohmann::json;

constexpr char kControlTopic[] = "$CONTROL/dynamic-security/v1";
constexpr char kResponseTopic[] = "$CONTROL/dynamic-security/v1/response";
constexpr char kServiceRole[] = "meterhub-service";

json Acl(const char* type, const std::string& topic) {
  return {{"acltype", type}, {"topic", topic}, {"allow", true}, {"priority", 0}};
}

bool ErrorIs(const json& response, const char* text) {
  return response.contains("error") && response["error"].is_string() &&
         response["error"].get<std::string>().find(text) != std::string::npos;
}

}  // namespace

struct DynsecClient::State {
  std::mutex mu;
  std::condition_variable cv;
  bool subscribed = false;
  std::map<std::string, json> responses;  // by correlationData
  uint64_t next_id = 0;
};

Result<DynsecOptions> DynsecOptionsOf(const Config& config) {
  DynsecOptions o;
  if (config.mqtt.broker.empty()) return InvalidArgument("mqtt.broker is empty: no broker to provision devices on");
  MH_RETURN_IF_ERROR(ingest::ParseBrokerAddress(config.mqtt.broker, &o.host, &o.port));
  MH_ASSIGN_OR_RETURN(o.tls, MqttTlsOf(config));
  o.admin_user = config.mqtt.dynsec_admin_user;
  if (!config.mqtt.dynsec_admin_password_file.empty()) {
    std::ifstream f(config.mqtt.dynsec_admin_password_file);
    if (!f) return InvalidArgument("cannot read mqtt.dynsec_admin_password_file " + config.mqtt.dynsec_admin_password_file);
    std::getline(f, o.admin_password);
    if (!o.admin_password.empty() && o.admin_password.back() == '\r') o.admin_password.pop_back();
  }
  return o;
}

std::string DeviceRoleName(const std::string& device_id) { return "meterhub-device-" + device_id; }

std::vector<json> AddDeviceCommands(const std::string& device_id, const std::string& password) {
  json acls = json::array();
  for (std::string_view suffix : ingest::kUplinkSuffixes) {
    acls.push_back(Acl("publishClientSend", "meters/+/" + device_id + "/" + std::string(suffix)));
  }
  const std::string commands = "meters/+/" + device_id + "/" + std::string(ingest::kCommandSuffix);
  acls.push_back(Acl("subscribePattern", commands));
  acls.push_back(Acl("publishClientReceive", commands));
  return {
      {{"command", "createRole"}, {"rolename", DeviceRoleName(device_id)}, {"acls", acls}},
      {{"command", "createClient"}, {"username", device_id}, {"password", password},
       {"roles", json::array({{{"rolename", DeviceRoleName(device_id)}}})}},
  };
}

Result<std::unique_ptr<DynsecClient>> DynsecClient::Connect(const DynsecOptions& options) {
  if (options.admin_user.empty()) return InvalidArgument("dynsec: no admin user ([mqtt] dynsec_admin_user)");
  mosquitto_lib_init();
  std::unique_ptr<DynsecClient> c(new DynsecClient());
  c->options_ = options;
  c->state_ = std::make_unique<State>();
  c->mosq_ = mosquitto_new(nullptr, true, c->state_.get());
  if (c->mosq_ == nullptr) return Internal("dynsec: mosquitto_new failed");
  MH_RETURN_IF_ERROR(ingest::ApplyMqttTls(c->mosq_, options.tls));
  mosquitto_username_pw_set(c->mosq_, options.admin_user.c_str(), options.admin_password.c_str());
  mosquitto_subscribe_callback_set(c->mosq_, [](struct mosquitto*, void* p, int, int count, const int* qos) {
    auto* s = static_cast<State*>(p);
    std::lock_guard lock(s->mu);
    s->subscribed = count == 1 && qos[0] <= 2;  // 0x80 = refused
    s->cv.notify_all();
  });
  mosquitto_message_callback_set(c->mosq_, [](struct mosquitto*, void* p, const struct mosquitto_message* m) {
    auto* s = static_cast<State*>(p);
    json body = json::parse(static_cast<const char*>(m->payload), static_cast<const char*>(m->payload) + m->payloadlen,
                            nullptr, false);
    if (!body.is_object() || !body.contains("responses") || !body["responses"].is_array()) return;
    std::lock_guard lock(s->mu);
    for (json& r : body["responses"]) {
      if (r.contains("correlationData") && r["correlationData"].is_string()) {
        const std::string id = r["correlationData"].get<std::string>();  // before r is moved from
        s->responses[id] = std::move(r);
      }
    }
    s->cv.notify_all();
  });
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (int rc = mosquitto_connect(c->mosq_, options.host.c_str(), options.port, 60); rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("dynsec: cannot connect to " + where + ": " + mosquitto_strerror(rc));
  }
  if (int rc = mosquitto_loop_start(c->mosq_); rc != MOSQ_ERR_SUCCESS) {
    return Internal(std::string("dynsec: mosquitto_loop_start: ") + mosquitto_strerror(rc));
  }
  if (int rc = mosquitto_subscribe(c->mosq_, nullptr, kResponseTopic, 1); rc != MOSQ_ERR_SUCCESS) {
    return Unavailable(std::string("dynsec: subscribe: ") + mosquitto_strerror(rc));
  }
  std::unique_lock lock(c->state_->mu);
  if (!c->state_->cv.wait_for(lock, std::chrono::milliseconds(options.timeout_ms), [&] { return c->state_->subscribed; })) {
    return Unavailable("dynsec: " + where + " refused " + kResponseTopic + " to user '" + options.admin_user +
                       "' (wrong password, not the plugin's admin, or no dynamic-security plugin)");
  }
  return c;
}

DynsecClient::~DynsecClient() {
  if (mosq_ == nullptr) return;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

Result<std::vector<json>> DynsecClient::Send(std::vector<json> commands) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(state_->mu);
    for (json& c : commands) {
      ids.push_back("mh-" + std::to_string(state_->next_id++));
      c["correlationData"] = ids.back();
    }
  }
  const std::string payload = json{{"commands", commands}}.dump();
  if (int rc = mosquitto_publish(mosq_, nullptr, kControlTopic, static_cast<int>(payload.size()), payload.data(), 1, false);
      rc != MOSQ_ERR_SUCCESS) {
    return Unavailable(std::string("dynsec: publish: ") + mosquitto_strerror(rc));
  }
  std::unique_lock lock(state_->mu);
  const bool answered = state_->cv.wait_for(lock, std::chrono::milliseconds(options_.timeout_ms), [&] {
    return state_->responses.count(ids.back()) != 0;  // the plugin answers a message's commands at once
  });
  if (!answered) return Unavailable("dynsec: no answer to " + std::to_string(ids.size()) + " commands within " +
                                    std::to_string(options_.timeout_ms) + " ms");
  std::vector<json> out;
  for (const std::string& id : ids) {
    auto it = state_->responses.find(id);
    out.push_back(it == state_->responses.end() ? json{{"error", "no response"}} : std::move(it->second));
    if (it != state_->responses.end()) state_->responses.erase(it);
  }
  return out;
}

Status DynsecClient::AddDevices(const std::vector<std::pair<std::string, std::string>>& devices) {
  const size_t batch = static_cast<size_t>(std::max(1, options_.batch));
  for (size_t begin = 0; begin < devices.size(); begin += batch) {
    const size_t end = std::min(devices.size(), begin + batch);
    std::vector<json> commands;
    for (size_t i = begin; i < end; ++i) {
      for (json& c : AddDeviceCommands(devices[i].first, devices[i].second)) commands.push_back(std::move(c));
    }
    MH_ASSIGN_OR_RETURN(std::vector<json> responses, Send(commands));
    // A device that exists already is created anew: the new password, its role (the plugin's
    // addClientRole answers "Internal error" for a role the client has), and its old sessions
    // closed. Anything else is an error.
    std::vector<json> again;
    for (size_t i = begin; i < end; ++i) {
      const json& role = responses[2 * (i - begin)];
      const json& client = responses[2 * (i - begin) + 1];
      const std::string& id = devices[i].first;
      if (role.contains("error") && !ErrorIs(role, "already exists")) {
        return Internal("dynsec: createRole " + DeviceRoleName(id) + ": " + role["error"].dump());
      }
      if (!client.contains("error")) continue;
      if (!ErrorIs(client, "already exists")) return Internal("dynsec: createClient " + id + ": " + client["error"].dump());
      again.push_back({{"command", "deleteClient"}, {"username", id}});
      again.push_back(AddDeviceCommands(id, devices[i].second)[1]);
    }
    if (again.empty()) continue;
    MH_ASSIGN_OR_RETURN(std::vector<json> redone, Send(again));
    for (size_t k = 0; k < redone.size(); ++k) {
      if (redone[k].contains("error")) {
        return Internal("dynsec: " + again[k]["command"].get<std::string>() + " " + again[k]["username"].get<std::string>() +
                        ": " + redone[k]["error"].dump());
      }
    }
  }
  return Status::Ok();
}

Status DynsecClient::RevokeDevices(const std::vector<std::string>& device_ids) {
  const size_t batch = static_cast<size_t>(std::max(1, options_.batch));
  for (size_t begin = 0; begin < device_ids.size(); begin += batch) {
    const size_t end = std::min(device_ids.size(), begin + batch);
    std::vector<json> commands;
    for (size_t i = begin; i < end; ++i) {
      commands.push_back({{"command", "deleteClient"}, {"username", device_ids[i]}});
      commands.push_back({{"command", "deleteRole"}, {"rolename", DeviceRoleName(device_ids[i])}});
    }
    MH_ASSIGN_OR_RETURN(std::vector<json> responses, Send(commands));
    for (size_t k = 0; k < responses.size(); ++k) {
      if (responses[k].contains("error") && !ErrorIs(responses[k], "not found")) {
        return Internal("dynsec: " + commands[k]["command"].get<std::string>() + ": " + responses[k]["error"].dump());
      }
    }
  }
  return Status::Ok();
}

Status DynsecClient::AddServiceUser(const std::string& user, const std::string& password) {
  json acls = json::array({Acl("publishClientSend", "meters/#"), Acl("publishClientReceive", "meters/#"),
                           Acl("subscribePattern", "meters/#")});
  const json create_client = {{"command", "createClient"}, {"username", user}, {"password", password},
                              {"roles", json::array({{{"rolename", kServiceRole}}})}};
  MH_ASSIGN_OR_RETURN(std::vector<json> r,
                      Send({{{"command", "createRole"}, {"rolename", kServiceRole}, {"acls", acls}}, create_client}));
  if (r[0].contains("error") && !ErrorIs(r[0], "already exists")) return Internal("dynsec: createRole: " + r[0]["error"].dump());
  if (!r[1].contains("error")) return Status::Ok();
  if (!ErrorIs(r[1], "already exists")) return Internal("dynsec: createClient " + user + ": " + r[1]["error"].dump());
  MH_ASSIGN_OR_RETURN(std::vector<json> again, Send({{{"command", "deleteClient"}, {"username", user}}, create_client}));
  if (again[1].contains("error")) return Internal("dynsec: createClient " + user + ": " + again[1]["error"].dump());
  return Status::Ok();
}

Status WriteDynsecDevices(const std::string& path, const std::vector<std::pair<std::string, std::string>>& devices) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read the dynsec config " + path + " (mosquitto_ctrl dynsec init writes it)");
  json config = json::parse(in, nullptr, false);
  if (!config.is_object()) return InvalidArgument(path + ": not a dynamic-security JSON config");
  in.close();
  json& clients = config["clients"];
  json& roles = config["roles"];
  if (clients.is_null()) clients = json::array();
  if (roles.is_null()) roles = json::array();
  if (!clients.is_array() || !roles.is_array()) return InvalidArgument(path + ": \"clients\" and \"roles\" must be arrays");
  // A device already there is replaced: drop its client and role first.
  std::set<std::string> ids;
  for (const auto& d : devices) ids.insert(d.first);
  auto named = [](const json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
  std::erase_if(clients.get_ref<json::array_t&>(), [&](const json& c) { return ids.count(named(c, "username")) != 0; });
  std::erase_if(roles.get_ref<json::array_t&>(), [&](const json& r) {
    const std::string name = named(r, "rolename");
    return name.rfind("meterhub-device-", 0) == 0 && ids.count(name.substr(16)) != 0;
  });
  for (const auto& [id, password] : devices) {
    // The plugin keeps PBKDF2-SHA512 with a 12-byte salt, 101 iterations: mosquitto_passwd's "$7$" form.
    MH_ASSIGN_OR_RETURN(crypto::Bytes salt, crypto::RandomBytes(12));
    MH_ASSIGN_OR_RETURN(std::string hash, MosquittoPasswordHash(password, salt));
    const size_t a = hash.find('$', 3), b = hash.find('$', a + 1);  // $7$<iterations>$<salt>$<hash>
    std::vector<json> commands = AddDeviceCommands(id, password);
    json role = std::move(commands[0]);
    role.erase("command");
    roles.push_back(std::move(role));
    clients.push_back({{"username", id},
                       {"salt", hash.substr(a + 1, b - a - 1)},
                       {"password", hash.substr(b + 1)},
                       {"iterations", kMosquittoPbkdf2Iterations},
                       {"roles", json::array({{{"rolename", DeviceRoleName(id)}}})}});
  }
  const std::string tmp = path + ".meterhub-new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << config.dump(1, '\t');
    if (!out.flush()) return Internal("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Internal("cannot replace " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Status DynsecProvisioner::WithClient(const std::function<Status(DynsecClient&)>& fn) {
  std::lock_guard lock(mu_);
  if (!client_) {
    MH_ASSIGN_OR_RETURN(client_, DynsecClient::Connect(options_));
  }
  Status s = fn(*client_);
  if (s.code() == StatusCode::kUnavailable) client_.reset();  // reconnect next time
  return s;
}

Status DynsecProvisioner::Add(const std::string& device_id, const std::string& password) {
  return WithClient([&](DynsecClient& c) { return c.AddDevices({{device_id, password}}); });
}

Status DynsecProvisioner::Revoke(const std::string& device_id) {
  return WithClient([&](DynsecClient& c) { return c.RevokeDevices({device_id}); });
}

}  // namespace mh::app
