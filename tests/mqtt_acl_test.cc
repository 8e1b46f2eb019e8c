// Per-device MQTT credentials and ACL (SPEC 5), end to end: `meterhub mqtt passwd|acl` write the
// files, a real Mosquitto enforces them, the real `meterhub serve` connects as the service user.
// A device may publish readings on its own topic only and receives only its own commands; a
// wrong password or an unknown device is refused at CONNECT.
#include <mosquitto.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/dynsec.h"
#include "app/local_broker.h"
#include "core/meter_id.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ServeProcess;
using testing::TempDir;
using testing::WaitFor;

// One device's MQTT session with its own credentials.
class Device {
 public:
  Device(const std::string& id, const std::string& password, int port, const std::string& session = "")
      : id_(id) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(("dev-" + id + session).c_str(), true, this);
    mosquitto_username_pw_set(mosq_, id.c_str(), password.c_str());
    mosquitto_connect_callback_set(mosq_, [](struct mosquitto*, void* self, int rc) {
      static_cast<Device*>(self)->connack_ = rc;
    });
    mosquitto_message_callback_set(mosq_, [](struct mosquitto*, void* self, const struct mosquitto_message* m) {
      auto* d = static_cast<Device*>(self);
      std::lock_guard<std::mutex> lock(d->mu_);
      d->received_.push_back(m->topic);
    });
    mosquitto_connect(mosq_, "127.0.0.1", port, 30);
    mosquitto_loop_start(mosq_);
  }
  ~Device() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  // The CONNACK code: 0 accepted, 4/5 bad credentials / not authorised; -1 while waiting.
  int connack() const { return connack_.load(); }
  void Publish(const std::string& meter, const std::string& suffix, const std::string& payload) {
    const std::string topic = "meters/" + std::to_string(ShardOf(meter)) + "/" + meter + "/" + suffix;
    mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  }
  void Subscribe(const std::string& pattern) { mosquitto_subscribe(mosq_, nullptr, pattern.c_str(), 1); }
  std::vector<std::string> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  std::string id_;
  struct mosquitto* mosq_;
  std::atomic<int> connack_{-1};
  std::mutex mu_;
  std::vector<std::string> received_;
};

// The real daemon on a free port, connected to the broker as its service user meterhub/s3rvice
// and registering unknown meters; `bearer` is an admin token for its API.
struct ServiceDaemon {
  // `mqtt_extra`: more [mqtt] lines.
  ServiceDaemon(const TempDir& dir, const std::string& broker_address, const std::string& mqtt_extra = "")
      : port(app::FreeLoopbackPort()), config(dir / "meterhub.toml"), log(dir / "serve.log"), http("127.0.0.1", port) {
    testing::WriteFile(config, "[store]\npath = \"" + (dir / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                   std::to_string(port) + "\"\n[mqtt]\nbroker = \"" + broker_address +
                                   "\"\nusername = \"meterhub\"\npassword = \"s3rvice\"\n" + mqtt_extra +
                                   "[ingest]\nauto_register = true\n");
  }
  // Creates the token, starts `meterhub serve` and waits until it is connected to the broker.
  void Start() {
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role admin --config " + config);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    bearer = "Bearer " + token.output.substr(0, token.output.find('\n'));
    serve = std::make_unique<ServeProcess>(config, log);
    serve->Start();
    ASSERT_TRUE(WaitFor([&] { return Status().value("mqtt", "") == "connected"; }, 20)) << testing::ReadFile(log);
  }
  json Status() {
    auto r = http.Get("/api/v1/status", {{"Authorization", bearer}});
    return r && r->status == 200 ? json::parse(r->body) : json::object();
  }

  int port;
  std::string config, log, bearer;
  httplib::Client http;
  std::unique_ptr<ServeProcess> serve;
};

std::string Reading(const std::string& meter, int64_t ts, double value) {
  return json{{"meter", meter}, {"ts", ts}, {"value", value}}.dump();
}

bool DynsecMissing() { return app::FindMosquitto().empty() || !app::DynamicSecurityAvailable(); }
constexpr char kDynsecSkip[] = "mosquitto or its dynamic-security plugin not installed (apt-get install mosquitto)";

// The plugin's admin client (admin/4dmin) of a broker started with SetDynamicSecurity.
Result<std::unique_ptr<app::DynsecClient>> Admin(const app::LocalBroker& broker, const std::string& password = "4dmin") {
  app::DynsecOptions options;
  options.port = broker.port();
  options.admin_user = "admin";
  options.admin_password = password;
  options.timeout_ms = 3000;
  return app::DynsecClient::Connect(options);
}

TEST(MqttAclTest, EachDeviceOnlyOnItsOwnTopics) {
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  TempDir dir("mqtt-acl");
  const std::string bin = testing::MeterhubBinary();
  const std::string passwd = dir / "broker.passwd", acl = dir / "broker.acl", ids = dir / "ids.txt";

  // Credentials: the daemon's service user with a chosen password, two devices generated.
  auto service = RunCommand(bin + " mqtt passwd --file " + passwd + " --user meterhub --password s3rvice --service");
  ASSERT_EQ(service.exit_code, 0) << service.output;
  testing::WriteFile(ids, "# devices\nA1\nB2\n");
  auto devices = RunCommand(bin + " mqtt passwd --file " + passwd + " --users " + ids);
  ASSERT_EQ(devices.exit_code, 0) << devices.output;
  std::map<std::string, std::string> password;
  std::istringstream lines(devices.output);
  for (std::string line; std::getline(lines, line);) {
    const auto comma = line.find(',');
    if (comma != std::string::npos) password[line.substr(0, comma)] = line.substr(comma + 1);
  }
  ASSERT_EQ(password.size(), 2u) << devices.output;
  ASSERT_EQ(RunCommand(bin + " mqtt acl --service-users meterhub --out " + acl).exit_code, 0);
  // A bad device id names the file and line; nothing is written for it.
  testing::WriteFile(dir / "bad.txt", "C3\nnot a meter\n");
  auto bad = RunCommand(bin + " mqtt passwd --file " + passwd + " --users " + (dir / "bad.txt"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("bad.txt:2"), std::string::npos) << bad.output;
  EXPECT_EQ(testing::ReadFile(passwd).find("C3:"), std::string::npos);

  app::LocalBroker broker;
  broker.SetAuthFiles(passwd, acl);
  ASSERT_TRUE(broker.Start(dir / "broker").ok());
  ServiceDaemon daemon(dir, broker.address());
  ASSERT_NO_FATAL_FAILURE(daemon.Start());
  httplib::Client& http = daemon.http;
  const std::string& bearer = daemon.bearer;
  auto status = [&] { return daemon.Status(); };
  ServeProcess& serve = *daemon.serve;

  Device a1("A1", password["A1"], broker.port());
  Device wrong("B2", "not-its-password", broker.port());
  Device stranger("Z9", "whatever", broker.port());
  ASSERT_TRUE(WaitFor([&] { return a1.connack() >= 0 && wrong.connack() >= 0 && stranger.connack() >= 0; }, 10));
  EXPECT_EQ(a1.connack(), 0);
  EXPECT_NE(wrong.connack(), 0);     // bad credentials
  EXPECT_NE(stranger.connack(), 0);  // unknown device

  // A1 asks for its own commands and B2's; the broker refuses the second subscription.
  a1.Subscribe("meters/+/A1/commands");
  a1.Subscribe("meters/+/B2/commands");
  // A1's own readings are stored.
  a1.Publish("A1", "readings", Reading("A1", 1700000000, 1.0));
  a1.Publish("A1", "readings", Reading("A1", 1700000900, 1.5));
  ASSERT_TRUE(WaitFor([&] { return status().value("readings", 0) == 2; }, 20)) << status().dump();
  // The daemon's commands: both join one relay region (B2 registered as a meter first: a relay
  // identity needs one); a key rotation sends each its sealed keys on its own command topic. A1
  // gets its own and never B2's.
  auto b2 = http.Post("/api/v1/meters", {{"Authorization", bearer}}, json{{"meter_id", "B2"}}.dump(), "application/json");
  ASSERT_TRUE(b2 && b2->status == 201) << (b2 ? b2->body : "no answer");
  for (const char* id : {"A1", "B2"}) {
    auto r = http.Post("/api/v1/relay/meters", {{"Authorization", bearer}},
                       json{{"meter_id", id}, {"region_code", "310101001"}, {"position_code", "000001"}}.dump(),
                       "application/json");
    ASSERT_TRUE(r && r->status < 300) << id << " " << (r ? r->body : "no answer");
  }
  auto rotated = http.Post("/api/v1/relay/regions/310101001/rotate-key", {{"Authorization", bearer}}, "", "application/json");
  ASSERT_TRUE(rotated && rotated->status < 300) << (rotated ? rotated->body : "no answer");
  ASSERT_TRUE(WaitFor([&] { return !a1.received().empty(); }, 10))
      << "A1 got no command\n" << testing::ReadFile(dir / "serve.log") << testing::ReadFile(broker.log_path());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (const std::string& topic : a1.received()) EXPECT_NE(topic.find("/A1/commands"), std::string::npos) << topic;
  // The nightly relay outcome is one of a device's uplink topics (issue 11, item 6): it gets through.
  a1.Publish("A1", "relay/outcome",
             R"({"meter":"A1","night":1700010000,"uplink":{"attempts":2,"failures":1,"failure_codes":[9]},"relays":[],"aged_out":0,"queued":1})");
  ASSERT_TRUE(WaitFor([&] {
    auto r = http.Get("/api/v1/relay/meters/A1", {{"Authorization", bearer}});
    return r && r->status == 200 && json::parse(r->body)["outcomes"].size() == 1;
  }, 10)) << testing::ReadFile(dir / "serve.log");
  // Readings A1 publishes as B2: Mosquitto drops them and closes A1's connection (MQTT-3.3.5-2).
  {
    Device imposter("A1", password["A1"], broker.port(), "-second-session");
    ASSERT_TRUE(WaitFor([&] { return imposter.connack() == 0; }, 10));
    imposter.Publish("B2", "readings", Reading("B2", 1700000000, 5.0));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  a1.Publish("A1", "readings", Reading("A1", 1700002700, 2.5));  // the honest session goes on
  ASSERT_TRUE(WaitFor([&] { return status().value("readings", 0) == 3; }, 20)) << status().dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json s = status();
  EXPECT_EQ(s["readings"], 3);
  auto b2_readings = http.Get("/api/v1/meters/B2/readings", {{"Authorization", bearer}});
  ASSERT_TRUE(b2_readings && b2_readings->status == 200) << (b2_readings ? b2_readings->body : "no answer");
  EXPECT_TRUE(json::parse(b2_readings->body)["readings"].empty()) << "a reading published by A1 as B2 was stored";
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// `[mqtt] provisioning = "dynsec"`: the broker runs Mosquitto's dynamic-security plugin; devices
// are added and revoked at run time over $CONTROL/dynamic-security/v1 (no password file, no
// signal). The same rights as the file-based ACL: own uplink topics only; a revoked device is
// disconnected and refused at CONNECT.
TEST(MqttAclTest, DynsecDevicesAddedAndRevokedAtRunTime) {
  if (DynsecMissing()) GTEST_SKIP() << kDynsecSkip;
  TempDir dir("mqtt-dynsec");
  app::LocalBroker broker;
  broker.SetDynamicSecurity("admin", "4dmin");
  ASSERT_TRUE(broker.Start(dir / "broker").ok());
  EXPECT_FALSE(Admin(broker, "wrong").ok());  // the admin's password is checked
  auto dynsec = Admin(broker);
  ASSERT_TRUE(dynsec.ok()) << dynsec.status().ToString() << testing::ReadFile(broker.log_path());
  ASSERT_TRUE((*dynsec)->AddServiceUser("meterhub", "s3rvice").ok());

  // The daemon, as the service user, with the broker already running.
  ServiceDaemon daemon(dir, broker.address());
  ASSERT_NO_FATAL_FAILURE(daemon.Start());
  httplib::Client& http = daemon.http;
  const std::string& bearer = daemon.bearer;
  auto status = [&] { return daemon.Status(); };
  ServeProcess& serve = *daemon.serve;

  // Unknown before it is added; added at run time, it publishes its readings.
  {
    Device early("A1", "pa55", broker.port(), "-early");
    ASSERT_TRUE(WaitFor([&] { return early.connack() >= 0; }, 10));
    EXPECT_NE(early.connack(), 0);
  }
  ASSERT_TRUE((*dynsec)->AddDevices({{"A1", "pa55"}, {"B2", "b2-pa55"}}).ok());
  Device a1("A1", "pa55", broker.port());
  Device wrong("B2", "not-its-password", broker.port());
  ASSERT_TRUE(WaitFor([&] { return a1.connack() >= 0 && wrong.connack() >= 0; }, 10));
  ASSERT_EQ(a1.connack(), 0);
  EXPECT_NE(wrong.connack(), 0);
  a1.Publish("A1", "readings", Reading("A1", 1700000000, 1.0));
  a1.Publish("A1", "readings", Reading("A1", 1700000900, 1.5));
  ASSERT_TRUE(WaitFor([&] { return status().value("readings", 0) == 2; }, 20)) << status().dump();
  // As B2: dropped (and the session closed), as with the ACL file.
  {
    Device imposter("A1", "pa55", broker.port(), "-imposter");
    ASSERT_TRUE(WaitFor([&] { return imposter.connack() == 0; }, 10));
    imposter.Publish("B2", "readings", Reading("B2", 1700000000, 5.0));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // Adding again replaces the password.
  ASSERT_TRUE((*dynsec)->AddDevices({{"B2", "new-pa55"}}).ok());
  {
    Device b2("B2", "new-pa55", broker.port());
    ASSERT_TRUE(WaitFor([&] { return b2.connack() >= 0; }, 10));
    EXPECT_EQ(b2.connack(), 0);
  }

  // Revoked: its connection is closed and it is refused from then on; revoking twice is fine.
  ASSERT_TRUE((*dynsec)->RevokeDevices({"A1"}).ok());
  ASSERT_TRUE((*dynsec)->RevokeDevices({"A1"}).ok());
  a1.Publish("A1", "readings", Reading("A1", 1700001800, 2.0));
  Device revoked("A1", "pa55", broker.port(), "-after");
  ASSERT_TRUE(WaitFor([&] { return revoked.connack() >= 0; }, 10));
  EXPECT_NE(revoked.connack(), 0);
  revoked.Publish("A1", "readings", Reading("A1", 1700002700, 2.5));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(status().value("readings", 0), 2) << status().dump();
  // Nothing published as B2 got through: with auto_register it would have registered meter B2.
  auto b2_readings = http.Get("/api/v1/meters/B2/readings", {{"Authorization", bearer}});
  ASSERT_TRUE(b2_readings);
  EXPECT_EQ(b2_readings->status, 404) << "a reading published by A1 as B2 was stored: " << b2_readings->body;
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Issue 18: with [mqtt] provisioning = "dynsec" a meter registered over REST becomes a broker
// device at once — with a generated password shown once in the answer, or the one the request
// gives; registering it again leaves its password alone.
TEST(MqttAclTest, RestRegisteredMetersBecomeDynsecDevices) {
  if (DynsecMissing()) GTEST_SKIP() << kDynsecSkip;
  TempDir dir("mqtt-dynsec-rest");
  app::LocalBroker broker;
  broker.SetDynamicSecurity("admin", "4dmin");
  ASSERT_TRUE(broker.Start(dir / "broker").ok());
  {
    auto dynsec = Admin(broker);
    ASSERT_TRUE(dynsec.ok()) << dynsec.status().ToString();
    ASSERT_TRUE((*dynsec)->AddServiceUser("meterhub", "s3rvice").ok());
  }
  testing::WriteFile(dir / "admin.pw", "4dmin\n");
  ServiceDaemon daemon(dir, broker.address(),
                       "provisioning = \"dynsec\"\ndynsec_admin_user = \"admin\"\ndynsec_admin_password_file = \"" +
                           (dir / "admin.pw") + "\"\n");
  ASSERT_NO_FATAL_FAILURE(daemon.Start());
  auto post = [&](const json& body) {
    auto r = daemon.http.Post("/api/v1/meters", {{"Authorization", daemon.bearer}}, body.dump(), "application/json");
    EXPECT_TRUE(r);
    return r ? std::make_pair(r->status, json::parse(r->body, nullptr, false)) : std::make_pair(0, json());
  };
  const json r1 = {{"meter_id", "R1"}, {"kind", "electricity"}, {"interval_s", 900}};
  auto [code, body] = post(r1);
  ASSERT_EQ(code, 201) << body.dump();
  const std::string password = body.value("mqtt_password", "");
  EXPECT_EQ(password.size(), 32u) << body.dump();
  Device device("R1", password, broker.port());
  ASSERT_TRUE(WaitFor([&] { return device.connack() >= 0; }, 10));
  ASSERT_EQ(device.connack(), 0);
  device.Publish("R1", "readings", Reading("R1", 1700000000, 1.0));
  ASSERT_TRUE(WaitFor([&] { return daemon.Status().value("readings", 0) == 1; }, 20)) << daemon.Status().dump();

  // Its own password; not echoed.
  std::tie(code, body) = post({{"meter_id", "R2"}, {"kind", "water"}, {"interval_s", 3600}, {"mqtt_password", "r2-own-pa55"}});
  ASSERT_EQ(code, 201) << body.dump();
  EXPECT_FALSE(body.contains("mqtt_password")) << body.dump();
  {
    Device r2("R2", "r2-own-pa55", broker.port());
    ASSERT_TRUE(WaitFor([&] { return r2.connack() >= 0; }, 10));
    EXPECT_EQ(r2.connack(), 0);
  }
  // Registered again: the device keeps its password.
  std::tie(code, body) = post(r1);
  ASSERT_EQ(code, 200) << body.dump();
  EXPECT_FALSE(body.contains("mqtt_password")) << body.dump();
  {
    Device again("R1", password, broker.port(), "-again");
    ASSERT_TRUE(WaitFor([&] { return again.connack() >= 0; }, 10));
    EXPECT_EQ(again.connack(), 0);
  }
  // A password too short is refused, and nothing is registered.
  std::tie(code, body) = post({{"meter_id", "R3"}, {"kind", "water"}, {"interval_s", 3600}, {"mqtt_password", "short"}});
  EXPECT_EQ(code, 400) << body.dump();
  auto r3 = daemon.http.Get("/api/v1/meters/R3", {{"Authorization", daemon.bearer}});
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 404);
  EXPECT_EQ(WEXITSTATUS(daemon.serve->Kill(SIGTERM)), 0);
}

// A large fleet's first load: devices written into the plugin's config while the broker is down
// (`meterhub mqtt passwd --dynsec-file`), then the broker started on it: they connect with their
// passwords, a device written again gets its new password, and run-time commands still work.
TEST(MqttAclTest, DynsecDevicesWrittenBeforeTheBrokerStarts) {
  if (DynsecMissing()) GTEST_SKIP() << kDynsecSkip;
  TempDir dir("mqtt-dynsec-file");
  app::LocalBroker broker;
  broker.SetDynamicSecurity("admin", "4dmin");
  ASSERT_TRUE(broker.Start(dir / "broker").ok());
  broker.Stop();
  const std::string config = dir / "broker/dynsec.json";
  testing::WriteFile(dir / "ids.txt", "F1\nF2\n");
  auto r = RunCommand(testing::MeterhubBinary() + " mqtt passwd --dynsec-file " + config + " --users " + (dir / "ids.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, std::string> passwords;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(',') != std::string::npos) passwords[line.substr(0, line.find(','))] = line.substr(line.find(',') + 1);
  }
  ASSERT_EQ(passwords.size(), 2u) << r.output;
  r = RunCommand(testing::MeterhubBinary() + " mqtt passwd --dynsec-file " + config + " --user F2 --password f2-new-pa55");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(testing::MeterhubBinary() + " mqtt passwd --dynsec-file " + config + " --user F3 --service");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = RunCommand(testing::MeterhubBinary() + " mqtt passwd --dynsec-file " + (dir / "missing.json") + " --user F3");
  EXPECT_NE(r.exit_code, 0) << r.output;

  ASSERT_TRUE(broker.Start(dir / "broker").ok());
  {
    Device f1("F1", passwords["F1"], broker.port());
    Device f2_old("F2", passwords["F2"], broker.port(), "-old");
    Device f2("F2", "f2-new-pa55", broker.port());
    ASSERT_TRUE(WaitFor([&] { return f1.connack() >= 0 && f2_old.connack() >= 0 && f2.connack() >= 0; }, 10));
    EXPECT_EQ(f1.connack(), 0);
    EXPECT_NE(f2_old.connack(), 0);
    EXPECT_EQ(f2.connack(), 0);
  }
  auto dynsec = Admin(broker);
  ASSERT_TRUE(dynsec.ok()) << dynsec.status().ToString();
  ASSERT_TRUE((*dynsec)->RevokeDevices({"F1"}).ok());
  Device revoked("F1", passwords["F1"], broker.port(), "-revoked");
  ASSERT_TRUE(WaitFor([&] { return revoked.connack() >= 0; }, 10));
  EXPECT_NE(revoked.connack(), 0);
}

}  // namespace
}  // namespace mh
