// TLS end to end (issue 18 item 1): the daemon's HTTP API over HTTPS and its MQTT sessions over
// TLS to a real Mosquitto with a TLS listener, both from a throw-away CA; a client holding another
// CA is refused by each; and plain HTTP on a non-loopback address is refused unless allowed.
#include <mosquitto.h>

#include <atomic>

#include <gtest/gtest.h>
#include <httplib.h>

#include "app/daemon.h"
#include "app/local_broker.h"
#include "app/tls_setup.h"
#include "core/meter_id.h"
#include "support/test_env.h"

namespace mh {
namespace {

using testing::TempDir;
using testing::WaitFor;

// A libmosquitto client that trusts `ca_file`.
class TlsClient {
 public:
  explicit TlsClient(const std::string& ca_file) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(nullptr, true, this);
    ingest::MqttTls tls{ca_file, "", ""};
    EXPECT_TRUE(ingest::ApplyMqttTls(mosq_, tls).ok());
    mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) { ++static_cast<TlsClient*>(self)->acked; });
    mosquitto_connect_callback_set(mosq_, [](struct mosquitto*, void* self, int rc) {
      if (rc == 0) static_cast<TlsClient*>(self)->connacked = true;
    });
  }
  ~TlsClient() {
    if (started_) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop_stop(mosq_, false);
    }
    mosquitto_destroy(mosq_);
  }
  // True once the broker's CONNACK arrived: the TLS handshake (which libmosquitto finishes in its
  // loop, not in mosquitto_connect) and the MQTT connect both succeeded.
  bool Connect(int port) {
    if (mosquitto_connect(mosq_, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) return false;
    started_ = mosquitto_loop_start(mosq_) == MOSQ_ERR_SUCCESS;
    return WaitFor([this] { return connacked.load(); }, 5);
  }
  int Publish(const std::string& topic, const std::string& payload) {
    return mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  }
  std::atomic<int> acked{0};
  std::atomic<bool> connacked{false};

 private:
  struct mosquitto* mosq_ = nullptr;
  bool started_ = false;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tls = app::MakeThrowAwayTls(dir_ / "tls");
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    tls_ = *tls;
    auto other = app::MakeThrowAwayTls(dir_ / "other");
    ASSERT_TRUE(other.ok());
    other_ca_ = other->ca_file;
  }
  app::Config DaemonConfig(const std::string& name) {
    app::Config c;
    c.store.path = dir_ / (name + ".db");
    c.store.synchronous = "normal";
    c.http.listen = "127.0.0.1:0";
    c.mqtt.broker = "";
    c.relay.enabled = c.audit.enabled = c.water.enabled = false;
    c.ingest.auto_register = true;
    return c;
  }
  TempDir dir_{"tls"};
  app::TlsFiles tls_;
  std::string other_ca_;
};

TEST_F(TlsTest, HttpsWithTheRightCaOnly) {
  app::Config c = DaemonConfig("https");
  c.http.tls_cert = tls_.cert_file;
  c.http.tls_key = tls_.key_file;
  app::Daemon daemon(c);
  ASSERT_TRUE(daemon.Start().ok());

  httplib::SSLClient good("127.0.0.1", daemon.http_port());
  good.set_ca_cert_path(tls_.ca_file.c_str());
  good.enable_server_certificate_verification(true);
  auto r = good.Get("/api/v1/openapi.json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  // The session cookie of a TLS connection is Secure (req.tls reaches the handlers).
  auto login = good.Post("/api/v1/session", R"({"user":"nobody","password":"x"})", "application/json");
  ASSERT_TRUE(login);

  httplib::SSLClient wrong("127.0.0.1", daemon.http_port());
  wrong.set_ca_cert_path(other_ca_.c_str());
  wrong.enable_server_certificate_verification(true);
  auto refused = wrong.Get("/api/v1/openapi.json");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), httplib::Error::SSLServerVerification);

  // HTTPS only: a plain HTTP request on the port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", daemon.http_port());
  plain.set_read_timeout(3, 0);
  auto p = plain.Get("/api/v1/openapi.json");
  EXPECT_TRUE(!p || p->status != 200);
}

TEST_F(TlsTest, HttpTlsConfigErrorsNameTheKey) {
  app::Config c = DaemonConfig("badtls");
  c.http.tls_cert = tls_.cert_file;  // no key
  app::Daemon half(c);
  Status s = half.Start();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("http.tls_key"), std::string::npos) << s.message();
  c.http.tls_key = dir_ / "missing.key";
  app::Daemon missing(c);
  s = missing.Start();
  EXPECT_NE(s.message().find("missing.key"), std::string::npos) << s.message();
}

TEST_F(TlsTest, PlaintextRefusedOnANonLoopbackAddressUnlessAllowed) {
  app::Config c = DaemonConfig("plain");
  c.http.listen = "0.0.0.0:0";
  {
    app::Daemon daemon(c);
    Status s = daemon.Start();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("http.allow_plaintext"), std::string::npos) << s.message();
    EXPECT_EQ(daemon.http_port(), 0);
  }
  c.http.allow_plaintext = true;
  {
    app::Daemon daemon(c);
    EXPECT_TRUE(daemon.Start().ok());
    EXPECT_GT(daemon.http_port(), 0);
  }
  c.http.allow_plaintext = false;
  c.http.tls_cert = tls_.cert_file;
  c.http.tls_key = tls_.key_file;
  {
    app::Daemon daemon(c);
    EXPECT_TRUE(daemon.Start().ok());
  }
  EXPECT_TRUE(app::IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(app::IsLoopbackHost("127.8.0.1"));
  EXPECT_TRUE(app::IsLoopbackHost("::1"));
  EXPECT_TRUE(app::IsLoopbackHost("localhost"));
  EXPECT_FALSE(app::IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(app::IsLoopbackHost("::"));
  EXPECT_FALSE(app::IsLoopbackHost("192.168.1.10"));
}

TEST_F(TlsTest, MqttOverTlsWithTheRightCaOnly) {
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  app::LocalBroker broker;
  broker.SetTlsFiles(tls_.ca_file, tls_.cert_file, tls_.key_file);
  ASSERT_TRUE(broker.Start(dir_ / "broker").ok()) << testing::ReadFile(broker.log_path());

  // A device with another CA is refused in the handshake; one with the right CA publishes.
  TlsClient stranger(other_ca_);
  EXPECT_FALSE(stranger.Connect(broker.port()));

  app::Config c = DaemonConfig("mqtt");
  c.mqtt.broker = broker.address();
  c.mqtt.client_id = "tls-test";
  c.mqtt.connections = 2;
  c.mqtt.tls_ca = tls_.ca_file;
  app::Daemon daemon(c);
  ASSERT_TRUE(daemon.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return daemon.mqtt()->connected(); }, 30)) << "the 64 shard sessions did not come up over TLS";

  TlsClient device(tls_.ca_file);
  ASSERT_TRUE(device.Connect(broker.port()));
  const std::string meter = "TLS1";
  const std::string topic = "meters/" + std::to_string(ShardOf(meter)) + "/" + meter + "/readings";
  ASSERT_EQ(device.Publish(topic, R"([{"meter":"TLS1","ts":"2024-01-01T00:15:00Z","value":1.0},)"
                                  R"({"meter":"TLS1","ts":"2024-01-01T00:30:00Z","value":1.5}])"),
            MOSQ_ERR_SUCCESS);
  ASSERT_TRUE(WaitFor([&] { return device.acked.load() == 1; }, 10));
  ASSERT_TRUE(WaitFor([&] { return daemon.pipeline()->counters().received.load() == 2; }, 10));
  EXPECT_EQ(*daemon.store()->CountReadings(), 2);
  // Commands leave over the TLS command session too.
  EXPECT_TRUE(daemon.mqtt()->Publish("meters/0/X/commands", "{}").ok());

  // The daemon with another CA never gets a session up.
  app::Config w = DaemonConfig("wrongca");
  w.mqtt.broker = broker.address();
  w.mqtt.client_id = "tls-test-wrong";
  w.mqtt.tls_ca = other_ca_;
  app::Daemon wrong(w);
  ASSERT_TRUE(wrong.Start().ok());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_FALSE(wrong.mqtt()->connected());
  EXPECT_EQ(wrong.mqtt()->messages(), 0);
}

TEST_F(TlsTest, MqttClientCertificateRequiredByTheBroker) {
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  app::LocalBroker broker;
  broker.SetTlsFiles(tls_.ca_file, tls_.cert_file, tls_.key_file, /*require_client_certificate=*/true);
  ASSERT_TRUE(broker.Start(dir_ / "broker-mtls").ok()) << testing::ReadFile(broker.log_path());
  app::Config c = DaemonConfig("mtls");
  c.mqtt.broker = broker.address();
  c.mqtt.client_id = "tls-test-mtls";
  c.mqtt.tls_ca = tls_.ca_file;
  c.mqtt.tls_cert = tls_.cert_file;  // the throw-away certificate is for client use as well
  c.mqtt.tls_key = tls_.key_file;
  app::Daemon daemon(c);
  ASSERT_TRUE(daemon.Start().ok());
  EXPECT_TRUE(WaitFor([&] { return daemon.mqtt()->connected(); }, 30));
  // Without a certificate the broker refuses.
  TlsClient anonymous(tls_.ca_file);
  EXPECT_FALSE(anonymous.Connect(broker.port()));
}

// `meterhub demo --tls`: its own broker and API on TLS with a CA it made; its devices get through.
TEST_F(TlsTest, DemoRunsOnTls) {
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  auto r = testing::RunCommand(testing::MeterhubBinary() + " demo --tls --meters 10 --days 2 --peak-days 1 --exit-after-replay" +
                               " --audit-meters 2 --water-meters 2 --listen 127.0.0.1:0 --dir " + (dir_ / "demo"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("HTTP API:   https://127.0.0.1:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("over TLS"), std::string::npos);
  EXPECT_NE(r.output.find("still queued in the broker: 0\n"), std::string::npos) << r.output;
  EXPECT_TRUE(testing::Exists(dir_ / "demo/tls/ca.pem"));
  // Without --tls the demo keeps to loopback.
  auto plain = testing::RunCommand(testing::MeterhubBinary() + " demo --meters 1 --listen 0.0.0.0:0 --dir " + (dir_ / "demo2"));
  EXPECT_EQ(plain.exit_code, 2) << plain.output;
  EXPECT_NE(plain.output.find("add --tls"), std::string::npos) << plain.output;
  EXPECT_NE(testing::ReadFile(dir_ / "demo/broker/mosquitto.conf").find("certfile "), std::string::npos);
}

}  // namespace
}  // namespace mh
