// MQTT ingestion end to end: a real Mosquitto on a free 127.0.0.1 port, the real `meterhub serve`
// process, readings published at QoS 1. The daemon is SIGKILLed mid-stream and restarted: every
// reading published must end up stored exactly once (nothing the broker saw acknowledged is lost,
// nothing is stored twice).
#include <mosquitto.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "app/webhook_receiver.h"
#include "core/meter_id.h"
#include "relay/messages.h"
#include "support/mqtt_publisher.h"
#include "support/relay_batches.h"
#include "support/sqlite_shell.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

using testing::Publisher;
using testing::ServeProcess;

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

// `meterhub serve` re-executes itself once with a huge-page heap (src/app/huge_pages.h) and keeps
// its name and pid; an operator's own GLIBC_TUNABLES is left as it is.
TEST_F(MqttIngestTest, ServeRunsWithAHugePageHeapUnderItsOwnName) {
  const std::string thp = testing::ReadFile("/sys/kernel/mm/transparent_hugepage/enabled");
  if (thp.empty() || thp.find("[never]") != std::string::npos)
    GTEST_SKIP() << "this kernel offers no transparent huge pages";
  if (std::getenv("GLIBC_TUNABLES") != nullptr)
    GTEST_SKIP() << "GLIBC_TUNABLES is set in this environment: serve keeps it as it is";
  auto environ_of = [](pid_t pid) {
    std::string env = testing::ReadFile("/proc/" + std::to_string(pid) + "/environ");
    std::replace(env.begin(), env.end(), '\0', '\n');
    return env;
  };
  {
    ServeProcess serve(config_, dir_ / "serve.log");
    serve.Start();
    ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
    EXPECT_EQ(testing::ReadFile("/proc/" + std::to_string(serve.pid()) + "/comm"), "meterhub\n");
    EXPECT_NE(environ_of(serve.pid()).find("GLIBC_TUNABLES=glibc.malloc.hugetlb=1\n"), std::string::npos);
    EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
  }
  ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ::unsetenv("GLIBC_TUNABLES");
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  EXPECT_NE(environ_of(serve.pid()).find("GLIBC_TUNABLES=glibc.malloc.hugetlb=0\n"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

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

// Estimation through the running daemon: a gap closed by a published reading is estimated in the
// same commit (quality E, estimated), read back over REST; a later actual reading at an estimated
// instant supersedes the estimate, and the versions route shows both.
TEST_F(MqttIngestTest, AGapClosedOverMqttIsEstimatedAndAnActualReadingSupersedesIt) {
  testing::WriteFile(config_, testing::ReadFile(config_) + "[vee]\nestimation = true\n");  // opt-in
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Publisher pub(broker_.port());
  pub.Publish("G1", R"([{"meter":"G1","ts":"2020-10-29T15:00:00Z","value":100},
                        {"meter":"G1","ts":"2020-10-29T16:00:00Z","value":104}])");
  httplib::Client c("127.0.0.1", http_port_);
  const httplib::Headers auth{{"Authorization", "Bearer " + token_}};
  json rows;
  ASSERT_TRUE(WaitFor([&] {
    auto r = c.Get("/api/v1/meters/G1/readings", auth);
    if (!r || r->status != 200) return false;
    rows = json::parse(r->body)["readings"];
    return rows.size() == 5;
  }, 20)) << rows.dump();
  for (int k = 1; k <= 3; ++k) {
    EXPECT_EQ(rows[k]["quality"], "E") << rows.dump();
    EXPECT_EQ(rows[k]["estimated"], true);
    EXPECT_DOUBLE_EQ(rows[k]["value"].get<double>(), 100 + k);
  }
  EXPECT_EQ(rows[4]["estimated"], false);
  EXPECT_DOUBLE_EQ(rows[4]["consumption"].get<double>(), 1);  // from the last estimate

  pub.Publish("G1", R"({"meter":"G1","ts":"2020-10-29T15:30:00Z","value":102.5})");
  json versions;
  ASSERT_TRUE(WaitFor([&] {
    auto r = c.Get("/api/v1/meters/G1/readings/2020-10-29T15:30:00Z/versions", auth);
    if (!r || r->status != 200) return false;
    versions = json::parse(r->body);
    // Until the actual reading's commit lands, the estimate is the current version.
    return versions["versions"].size() == 1 && versions["current"].value("estimated", true) == false;
  }, 20)) << versions.dump();
  EXPECT_EQ(versions["current"]["estimated"], false);
  EXPECT_DOUBLE_EQ(versions["current"]["value"].get<double>(), 102.5);
  EXPECT_EQ(versions["versions"][0]["quality"], "E");
  EXPECT_DOUBLE_EQ(versions["versions"][0]["value"].get<double>(), 102);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Issue 16: a DTU publishes raw DL/T 645 frames for the meter registered behind it. The frame's
// registers are stored once however often it arrives — import energy on the billing channel, the
// tariff registers as channels —; a corrupt frame and a frame of an unknown address are kept as
// rejected messages with the decoder's error; the connection stays up and serves what follows.
TEST_F(MqttIngestTest, RawFramesOfAGatewaysMetersAreStoredOnceAndBadOnesKept) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  httplib::Client c("127.0.0.1", http_port_);
  const httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
  auto reg = c.Post("/api/v1/meters", auth,
                    json{{"meter_id", "E1"}, {"protocol", "dlt645"}, {"address", "123456789012"}, {"gateway", "DTU1"}}.dump(),
                    "application/json");
  ASSERT_EQ(reg->status, 201) << reg->body;
  EXPECT_EQ(json::parse(reg->body)["billing_channel"], "import_kwh");
  // The same address for another meter is refused.
  EXPECT_EQ(c.Post("/api/v1/meters", auth, json{{"meter_id", "E2"}, {"protocol", "dlt645"}, {"address", "123456789012"}}.dump(),
                   "application/json")->status, 409);

  // A block read of total and tariff 1-4 import energy (codec/dlt645/vectors.cc energy_tariff_block).
  const std::string frame =
      "68 12 90 78 56 34 12 68 91 18 33 32 34 33 33 33 43 33 33 33 34 33 33 33 35 33 33 33 36 33 33 33 37 33 11 16";
  std::string corrupt = frame;
  corrupt.replace(corrupt.size() - 5, 2, "12");  // the checksum
  const std::string stranger = "68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16";  // address 020247020276
  const std::string topic = "meters/" + std::to_string(ShardOf("DTU1")) + "/DTU1/raw/dlt645";
  Publisher pub(broker_.port());
  pub.PublishRaw(topic, frame);
  pub.PublishRaw(topic, corrupt);
  pub.PublishRaw(topic, frame);  // again (a redelivery, a DTU's retry): stored once
  pub.PublishRaw(topic, stranger);
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < frame.size(); i += 3) bytes.push_back(static_cast<uint8_t>(std::stoi(frame.substr(i, 2), nullptr, 16)));
  pub.PublishRaw(topic, std::string(bytes.begin(), bytes.end()));  // the same frame as bytes
  pub.Publish("V9", R"({"meter":"V9","ts":"2020-10-29T15:00:00Z","value":1})");  // after them, on the same broker
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 20));

  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = c.Get("/metrics")->body;
    return metrics.find("meterhub_mqtt_bad_messages_total 2") != std::string::npos;
  }, 20)) << metrics;
  ASSERT_TRUE(WaitFor([&] { return Stored() == 6; }, 20)) << Status().dump();  // 5 registers of E1 + V9's
  auto billing = json::parse(c.Get("/api/v1/meters/E1/readings", auth)->body);
  ASSERT_EQ(billing["readings"].size(), 1u) << billing.dump();
  EXPECT_EQ(billing["readings"][0]["value"], 1000.0);
  EXPECT_EQ(billing["readings"][0]["source"], "mqtt");
  auto t3 = json::parse(c.Get("/api/v1/meters/E1/readings?channel=import_kwh_t3", auth)->body);
  ASSERT_EQ(t3["readings"].size(), 1u) << t3.dump();
  EXPECT_EQ(t3["readings"][0]["value"], 300.0);
  EXPECT_EQ(t3["readings"][0]["channel"], "import_kwh_t3");
  // The billing channel by its name is the same series.
  EXPECT_EQ(json::parse(c.Get("/api/v1/meters/E1/readings?channel=import_kwh", auth)->body)["readings"].size(), 1u);

  // Kept as rejected messages on the publishing device (as a bad JSON reading is on its meter).
  const std::string reasons = testing::SqliteQueryText(
      dir_ / "meterhub.db",
      "SELECT group_concat(json_extract(detail, '$.reason'), ' | ') FROM reading_events"
      " WHERE meter_id = 'DTU1' AND kind = 'rejected_message'");
  EXPECT_NE(reasons.find("dlt645 frame: byte 34 (checksum)"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("no meter is registered with dlt645 address 020247020276"), std::string::npos) << reasons;
  EXPECT_TRUE(Up());
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Encrypted frames (here a real wM-Bus mode-5 telegram, src/codec/wmbus/vectors.cc
// wmbusmeters_waterstarm_mode5) decode with the key of `[ingest] frame_keys_file`; without a key
// they are rejected messages naming what is missing; the key never reaches the log.
TEST_F(MqttIngestTest, EncryptedFramesDecodeWithTheConfiguredKeys) {
  const std::string key = "BEDB81B52C29B5C143388CBB0D15A051";
  const std::string keys_file = dir_ / "frame-keys.csv";
  testing::WriteFile(keys_file, "address,key\nDWZ20096221," + key + "\n");
  ::chmod(keys_file.c_str(), 0644);
  std::string text = testing::ReadFile(config_);
  text.replace(text.find("[ingest]\n"), 9, "[ingest]\nframe_keys_file = \"" + keys_file + "\"\n");
  testing::WriteFile(config_, text);
  {  // A key file others may read is refused at start.
    auto refused = RunCommand(testing::MeterhubBinary() + " serve --config " + config_ + " 2>&1");
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.output.find("readable by others"), std::string::npos) << refused.output;
  }
  ::chmod(keys_file.c_str(), 0600);
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  httplib::Client c("127.0.0.1", http_port_);
  const httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
  for (const auto& [id, address] : {std::pair{"W1", "DWZ20096221"}, std::pair{"W2", "DWZ20096222"}}) {
    auto reg = c.Post("/api/v1/meters", auth,
                      json{{"meter_id", id}, {"kind", "water"}, {"protocol", "wmbus"}, {"address", address}}.dump(),
                      "application/json");
    ASSERT_EQ(reg->status, 201) << reg->body;
  }
  const std::string telegram =
      "3944FA122162092002067A3600202567C94D48D00DC47B11213E23383DB51968A705AAFA60C60E263D50CD259D7C9A03FD0C08000002FD0B0011";
  std::string unkeyed = telegram;  // the same telegram from a meter whose key MeterHub lacks
  unkeyed.replace(8, 8, "22620920");
  Publisher pub(broker_.port());
  pub.PublishRaw("meters/" + std::to_string(ShardOf("W1")) + "/W1/raw/wmbus", telegram);
  pub.PublishRaw("meters/" + std::to_string(ShardOf("W2")) + "/W2/raw/wmbus", unkeyed);
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 20));
  ASSERT_TRUE(WaitFor([&] {
    auto r = c.Get("/api/v1/meters/W1/readings?channel=volume_m3", auth);
    return r && r->status == 200 && json::parse(r->body)["readings"].size() == 1;
  }, 20)) << testing::ReadFile(dir_ / "serve.log");
  auto volume = json::parse(c.Get("/api/v1/meters/W1/readings?channel=volume_m3", auth)->body);
  EXPECT_DOUBLE_EQ(volume["readings"][0]["value"].get<double>(), 0.106);
  std::string reasons;
  EXPECT_TRUE(WaitFor([&] {
    reasons = testing::SqliteQueryText(dir_ / "meterhub.db",
                                       "SELECT group_concat(json_extract(detail, '$.reason'), ' | ') FROM reading_events"
                                       " WHERE meter_id = 'W2' AND kind = 'rejected_message'");
    // group_concat over no rows is NULL ("<null>"): wait for the rejection itself, which W2's shard
    // session may store after W1's reading.
    return reasons.find("encrypted") != std::string::npos;
  }, 20)) << reasons;
  EXPECT_NE(reasons.find("encrypted and no key was given"), std::string::npos) << reasons;
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
  const std::string log = testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(log.find(key), std::string::npos) << "the key was logged";
  EXPECT_NE(log.find("1 decryption key(s) loaded"), std::string::npos) << log;
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
  // The simulation checks the server holds exactly the readings the fleet delivered: its hourly
  // meters, auto-registered as 15-minute ones, would otherwise have their quarters estimated.
  testing::WriteFile(config_, testing::ReadFile(config_) + "[vee]\nestimation = false\n");
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
  // The meters followed the head-end's fanout (relay_target) and sent their nightly outcomes.
  EXPECT_NE(r.output.find("fanout from the head-end: all"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("MISMATCH"), std::string::npos) << r.output;
  httplib::Client c("127.0.0.1", http_port_);
  auto stats = json::parse(c.Get("/api/v1/relay/stats", {{"Authorization", "Bearer " + token_}})->body);
  EXPECT_GT(stats["batches"]["accepted"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(stats["batches"]["rejected"], 0) << stats.dump();
  auto outcomes = json::parse(c.Get("/api/v1/relay/regions/100000000/outcomes", {{"Authorization", "Bearer " + token_}})->body);
  EXPECT_GT(outcomes["totals"]["reports"].get<int>(), 0) << outcomes.dump();
  EXPECT_GT(outcomes["totals"]["relay_attempts"].get<int>(), 0) << outcomes.dump();
  auto regions = json::parse(c.Get("/api/v1/relay/regions", {{"Authorization", "Bearer " + token_}})->body);
  ASSERT_EQ(regions["regions"].size(), 2u) << regions.dump();
  EXPECT_FALSE(regions["regions"][0]["target_sub_period"].is_null());
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Seed 000 step 108 over the real broker and daemon (issue 11, item 6): a relayed batch keeps the
// origin's failure code, shown per origin meter; the meters' nightly outcomes arrive on
// meters/<shard>/<id>/relay/outcome and are kept per meter and region; the third consecutive night
// whose own uplink failed opens one maintenance work order, POSTed to relay.work_order_url — once
// per streak, not on the fourth night, not again after a restart.
TEST_F(MqttIngestTest, RelayOutcomesReachTheHeadEndAndOneWorkOrderPerStreak) {
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  testing::WriteFile(config_, testing::ReadFile(config_) + "[relay]\nwork_order_url = \"" + receiver.url("/relay-orders") +
                                  "\"\nuplink_failure_nights = 3\n");
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  httplib::Client c("127.0.0.1", http_port_);
  const httplib::Headers auth = {{"Authorization", "Bearer " + token_}};
  std::string m1_key;
  for (const auto& [id, position] : std::vector<std::pair<std::string, std::string>>{{"M1", "000001"}, {"R1", "000002"}}) {
    ASSERT_EQ(c.Post("/api/v1/meters", auth, json{{"meter_id", id}}.dump(), "application/json")->status, 201);
    auto r = c.Post("/api/v1/relay/meters", auth,
                    json{{"meter_id", id}, {"region_code", "440305001"}, {"position_code", position}}.dump(), "application/json");
    ASSERT_EQ(r->status, 201) << r->body;
    if (id == "M1") m1_key = json::parse(r->body)["device_key"];
  }
  auto meter_view = [&](const std::string& id) {
    auto r = c.Get("/api/v1/relay/meters/" + id, auth);
    return r && r->status == 200 ? json::parse(r->body) : json::object();
  };
  Publisher pub(broker_.port());

  // R1 forwards M1's batch, whose own upload failed with code 42.
  pub.PublishRaw("meters/" + std::to_string(ShardOf("R1")) + "/R1/relay/forward",
                 relay::EncodeForwardMessage(testing::SignedForward("R1", "M1", 42, 1700000000, 5.0, m1_key)));
  ASSERT_TRUE(WaitFor([&] { return meter_view("M1").value("batches", json::array()).size() == 1; }, 20))
      << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(meter_view("M1")["batches"][0]["failure_code"], 42);
  EXPECT_EQ(meter_view("M1")["batches"][0]["relay"], "R1");

  // M1's nights: every own-uplink upload failed (code 42), R1 carried the readings.
  const int64_t night0 = 1700010000;
  auto night = [&](int n) {
    meter::RelayOutcome o;
    o.night_s = night0 + n * 86400;
    o.uplink_attempts = 96;
    o.uplink_failures = 96;
    o.uplink_failure_codes = {42};
    o.relays = {{"elecmeter_AP440305001000002", 42, 96, true}};
    pub.PublishRaw("meters/" + std::to_string(ShardOf("M1")) + "/M1/relay/outcome", relay::EncodeOutcomeMessage({"M1", o}));
  };
  auto outcomes_stored = [&] { return meter_view("M1").value("outcomes", json::array()).size(); };
  night(1);
  night(2);
  ASSERT_TRUE(WaitFor([&] { return outcomes_stored() == 2; }, 20)) << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(receiver.received("/relay-orders"), 0);
  night(3);
  ASSERT_TRUE(WaitFor([&] { return receiver.received("/relay-orders") == 1; }, 20)) << testing::ReadFile(dir_ / "serve.log");
  const json order = json::parse(receiver.samples("/relay-orders").at(0));
  EXPECT_EQ(order["type"], "relay_uplink_work_order");
  EXPECT_EQ(order["meter"], "M1");
  EXPECT_EQ(order["nights"], 3);
  EXPECT_EQ(order["uplink_failure_codes"], json::array({42}));
  night(4);
  ASSERT_TRUE(WaitFor([&] { return outcomes_stored() == 4; }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(receiver.received("/relay-orders"), 1);  // the same streak: no second order
  json m1 = meter_view("M1");
  EXPECT_EQ(m1["uplink_failed_nights"], 4);
  ASSERT_EQ(m1["work_orders"].size(), 1u) << m1.dump();
  EXPECT_EQ(m1["work_orders"][0]["state"], "sent");
  EXPECT_EQ(m1["outcomes"][0]["uplink"]["failure_codes"], json::array({42}));
  EXPECT_EQ(m1["outcomes"][0]["relays"][0]["ok"], true);
  auto region = json::parse(c.Get("/api/v1/relay/regions/440305001/outcomes", auth)->body);
  EXPECT_EQ(region["totals"]["reports"], 4);
  EXPECT_EQ(region["totals"]["uplink_failed_nights"], 4);
  EXPECT_EQ(region["failing_uplinks"], json::array({{{"meter", "M1"}, {"uplink_failed_nights", 4}}}));
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = c.Get("/metrics")->body;
    return metrics.find("meterhub_relay_work_orders_total{event=\"sent\"} 1") != std::string::npos &&
           metrics.find("meterhub_relay_outcome_reports_total 4") != std::string::npos &&
           metrics.find("meterhub_relay_tries_total{result=\"success\"} 4") != std::string::npos &&
           metrics.find("meterhub_relay_uplink_failed_nights_total 4") != std::string::npos;
  }, 10)) << metrics;

  // A restart: night 4 again (a redelivery) and night 5 of the same streak open and send nothing.
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
  ServeProcess again(config_, dir_ / "serve.log");
  again.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  night(4);
  night(5);
  ASSERT_TRUE(WaitFor([&] { return outcomes_stored() == 5; }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(receiver.received("/relay-orders"), 1);
  auto orders = json::parse(c.Get("/api/v1/relay/work-orders?meter=M1", auth)->body);
  EXPECT_EQ(orders["work_orders"].size(), 1u) << orders.dump();
  EXPECT_EQ(WEXITSTATUS(again.Kill(SIGTERM)), 0);
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
