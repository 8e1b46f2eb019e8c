// MQTT ingestion end to end: a real Mosquitto on a free 127.0.0.1 port, the real `meterhub serve`
// process, readings published at QoS 1. The daemon is SIGKILLed mid-stream and restarted: every
// reading published must end up stored exactly once (nothing the broker saw acknowledged is lost,
// nothing is stored twice).
#include <mosquitto.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "core/meter_id.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

using testing::ServeProcess;

class Publisher {
 public:
  explicit Publisher(int port) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new("test-publisher", true, this);
    mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) {
      static_cast<Publisher*>(self)->acked++;
    });
    EXPECT_EQ(mosquitto_connect(mosq_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    mosquitto_loop_start(mosq_);
  }
  ~Publisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  void Publish(const std::string& meter, const std::string& payload) {
    std::string topic = "meters/" + std::to_string(ShardOf(meter)) + "/" + meter + "/readings";
    PublishRaw(topic, payload);
  }
  void PublishRaw(const std::string& topic, const std::string& payload) {
    ASSERT_EQ(mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false),
              MOSQ_ERR_SUCCESS);
    ++sent;
  }
  std::atomic<int> sent{0}, acked{0};

 private:
  struct mosquitto* mosq_;
};

class MqttIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
    ASSERT_TRUE(broker_.Start(dir_ / "broker").ok()) << "broker did not start";
    http_port_ = app::FreeLoopbackPort();
    config_ = dir_ / "meterhub.toml";
    testing::WriteFile(config_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                    std::to_string(http_port_) + "\"\n[mqtt]\nbroker = \"" + broker_.address() +
                                    "\"\n[ingest]\nauto_register = true\n[log]\nlevel = \"info\"\n");
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role admin --config " + config_);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
  }

  json Status() {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/api/v1/status", {{"Authorization", "Bearer " + token_}});
    if (!r || r->status != 200) return json();
    return json::parse(r->body);
  }
  bool Up() {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/healthz");
    return r && r->status == 200 && Status().value("mqtt", "") == "connected";
  }
  int64_t Stored() {
    json s = Status();
    return s.is_null() ? -1 : s["readings"].get<int64_t>() + s["quarantined"].get<int64_t>();
  }

  TempDir dir_{"mqtt"};
  app::LocalBroker broker_;
  int http_port_ = 0;
  std::string config_, token_;
};

TEST_F(MqttIngestTest, ReadingsArriveValidated) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Publisher pub(broker_.port());
  pub.Publish("V1", R"([{"meter":"V1","ts":"2020-10-29T15:00:00Z","value":200},
                        {"meter":"V1","ts":"2020-10-29T15:30:00Z","value":203},
                        {"meter":"V1","ts":"2020-10-29T16:00:00Z","value":199},
                        {"meter":"V1","ts":"2020-10-29T16:30:00Z","value":"ERR"}])");
  pub.Publish("V1", "{not json");                                   // recorded, never a crash
  pub.PublishRaw("meters/1/V1/readings", R"({"meter":"V1","ts":"2020-10-29T17:00:00Z","value":210})");  // wrong shard
  ASSERT_TRUE(WaitFor([&] { return Stored() == 4; }, 20)) << Status().dump();
  json s = Status();
  EXPECT_EQ(s["readings"], 2);
  EXPECT_EQ(s["quarantined"], 2);
  httplib::Client c("127.0.0.1", http_port_);
  auto q = json::parse(c.Get("/api/v1/quarantine?meter=V1", {{"Authorization", "Bearer " + token_}})->body);
  ASSERT_EQ(q["quarantine"].size(), 2u);
  EXPECT_EQ(q["quarantine"][0]["verdict"], "error");
  EXPECT_EQ(q["quarantine"][1]["verdict"], "null");
  EXPECT_EQ(q["quarantine"][1]["raw_value"], "ERR");
  // The two bad messages travel on other connections than V1's readings: wait for them too.
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = c.Get("/metrics")->body;
    return metrics.find("meterhub_mqtt_bad_messages_total 2") != std::string::npos;
  }, 10)) << metrics;
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

TEST_F(MqttIngestTest, SigkillMidStreamLosesNothing) {
  constexpr int kMeters = 20;
  constexpr int kPerMeter = 150;
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Publisher pub(broker_.port());
  auto publish_step = [&](int i) {
    for (int m = 0; m < kMeters; ++m) {
      std::string meter = "K" + std::to_string(m);
      int64_t ts = 1603980000 + i * 900;
      pub.Publish(meter, json{{"meter", meter}, {"ts", ts}, {"value", 1000.0 + i * 0.25}}.dump());
    }
  };
  int i = 0;
  for (; i < kPerMeter / 3; ++i) publish_step(i);
  // Kill while the daemon is busy storing.
  ASSERT_TRUE(WaitFor([&] { return Stored() > 0; }, 20));
  int status = serve.Kill(SIGKILL);
  EXPECT_TRUE(WIFSIGNALED(status));
  int64_t before = -1;
  // Publishing goes on while the daemon is down: the broker queues for its persistent session.
  for (; i < 2 * kPerMeter / 3; ++i) publish_step(i);
  ServeProcess again(config_, dir_ / "serve.log");
  again.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  before = Stored();
  for (; i < kPerMeter; ++i) publish_step(i);
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 30));
  const int64_t total = int64_t{kMeters} * kPerMeter;
  ASSERT_TRUE(WaitFor([&] { return Stored() >= total; }, 120)) << "stored " << Stored() << " of " << total;
  json s = Status();
  EXPECT_EQ(s["readings"], total) << "after restart the store held " << before;
  EXPECT_EQ(s["quarantined"], 0) << s.dump();
  EXPECT_EQ(WEXITSTATUS(again.Kill(SIGTERM)), 0);
}

// Seed 000 end to end: `meterhub sim relay --serve` drives a small fleet of real MeterNodes against
// the real `meterhub serve` over the real broker — registration, sealed region keys and target
// sub-periods as MQTT commands, level reports, readings, and relayed HMAC-signed batches. The server
// must hold exactly the readings the fleet delivered, none quarantined, and have accepted the
// relays' batches.
TEST_F(MqttIngestTest, RelaySimulationAgainstTheRunningServer) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  // Two streets of 40 (two regions), a harsh radio so that relays are needed, three nights.
  auto r = RunCommand(testing::MeterhubBinary() + " sim relay --meters 80 --street-length 40 --nights 3 --seed 7" +
                      " --poor-share 0.3 --readings-per-day 24 --serve http://127.0.0.1:" + std::to_string(http_port_) +
                      " --broker " + broker_.address() + " --token " + token_ + " --timeout 60");
  ASSERT_EQ(r.exit_code, 0) << r.output << testing::ReadFile(dir_ / "serve.log");
  std::cout << r.output;  // the simulation's report, for the CI log
  EXPECT_NE(r.output.find(": match"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("target sub-periods from the head-end: 100000000="), std::string::npos) << r.output;
  httplib::Client c("127.0.0.1", http_port_);
  auto stats = json::parse(c.Get("/api/v1/relay/stats", {{"Authorization", "Bearer " + token_}})->body);
  EXPECT_GT(stats["batches"]["accepted"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(stats["batches"]["rejected"], 0) << stats.dump();
  auto regions = json::parse(c.Get("/api/v1/relay/regions", {{"Authorization", "Bearer " + token_}})->body);
  ASSERT_EQ(regions["regions"].size(), 2u) << regions.dump();
  EXPECT_FALSE(regions["regions"][0]["target_sub_period"].is_null());
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh

namespace mh {
namespace {

// Issue 10 item 7: a broker restarted without its persistence forgets the daemon's sessions (and
// the messages it had acknowledged to the meters). The daemon notices on the reconnect — a CONNACK
// without "session present" for a session it had — logs it and counts it in /metrics; readings
// published afterwards are stored as usual.
TEST_F(MqttIngestTest, ALostBrokerSessionIsNoticedAndCounted) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  const int port = broker_.port();
  broker_.Kill();
  std::filesystem::remove_all(dir_ / "broker");  // its persistence is gone
  ASSERT_TRUE(broker_.Start(dir_ / "broker", port).ok());
  httplib::Client c("127.0.0.1", http_port_);
  std::string metrics;
  ASSERT_TRUE(WaitFor([&] {
    auto r = c.Get("/metrics");
    metrics = r ? r->body : "";
    return metrics.find("meterhub_mqtt_sessions_lost_total 64") != std::string::npos;
  }, 60)) << metrics;
  EXPECT_NE(testing::ReadFile(dir_ / "serve.log").find("lost session"), std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 30));
  Publisher pub(port);
  pub.Publish("L1", R"({"meter":"L1","ts":"2020-10-29T15:00:00Z","value":1})");
  EXPECT_TRUE(WaitFor([&] { return Stored() == 1; }, 20)) << Status().dump();
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
