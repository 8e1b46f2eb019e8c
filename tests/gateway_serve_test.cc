// The TCP gateway end to end (issue 16): a real Mosquitto, the real `meterhub serve` with
// [gateway] listen and dlms_listen, and the simulated devices of src/sim/protocol_devices.h — a
// DTU whose DL/T 645 and CJ/T 188 meters answer (one never does, one answers with a bad
// checksum), a DTU that drops the connection mid-poll, a DLMS meter pushing over TCP (in clear and
// ciphered), a wM-Bus receiver publishing its meters' telegrams over MQTT. Readings reach the
// store through the broker exactly once, corrupt frames are kept as rejected messages, and the
// DTU's connection stays up across polls.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "core/meter_id.h"
#include "sim/protocol_devices.h"
#include "support/mqtt_publisher.h"
#include "support/sqlite_shell.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ServeProcess;
using testing::TempDir;
using testing::WaitFor;

class GatewayServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
    ASSERT_TRUE(broker_.Start(dir_ / "broker").ok()) << "broker did not start";
    http_port_ = app::FreeLoopbackPort();
    dtu_port_ = app::FreeLoopbackPort();
    dlms_port_ = app::FreeLoopbackPort();
    config_ = dir_ / "meterhub.toml";
    testing::WriteFile(config_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                    std::to_string(http_port_) + "\"\n[mqtt]\nbroker = \"" + broker_.address() +
                                    "\"\n[gateway]\nlisten = \"127.0.0.1:" + std::to_string(dtu_port_) +
                                    "\"\ndlms_listen = \"127.0.0.1:" + std::to_string(dlms_port_) +
                                    "\"\npoll_timeout = \"1s\"\npoll_retries = 1\npoll_interval = \"2s\"\n"
                                    "[log]\nlevel = \"info\"\n");
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role admin --config " + config_);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
  }

  httplib::Headers Auth() const { return {{"Authorization", "Bearer " + token_}}; }
  bool Up() {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/api/v1/status", Auth());
    return r && r->status == 200 && json::parse(r->body).value("mqtt", "") == "connected";
  }
  void Register(const std::string& id, const std::string& kind, const std::string& protocol, const std::string& address,
                const std::string& gateway) {
    httplib::Client c("127.0.0.1", http_port_);
    json body{{"meter_id", id}, {"kind", kind}, {"protocol", protocol}, {"address", address}};
    if (!gateway.empty()) body["gateway"] = gateway;
    auto r = c.Post("/api/v1/meters", Auth(), body.dump(), "application/json");
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
  }
  json Readings(const std::string& meter, const std::string& channel = "") {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/api/v1/meters/" + meter + "/readings" + (channel.empty() ? "" : "?channel=" + channel), Auth());
    return r && r->status == 200 ? json::parse(r->body)["readings"] : json::array();
  }
  double Metric(const std::string& name) {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/metrics");
    if (!r) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
  }
  // [ingest] frame_keys_file = path (a file the test wrote with mode 0600).
  void UseKeysFile(const std::string& path) {
    testing::WriteFile(config_, testing::ReadFile(config_) + "[ingest]\nframe_keys_file = \"" + path + "\"\n");
  }
  std::string Rejected(const std::string& meter) {
    return testing::SqliteQueryText(dir_ / "meterhub.db",
                                    "SELECT group_concat(json_extract(detail, '$.reason'), ' | ') FROM reading_events"
                                    " WHERE meter_id = '" + meter + "' AND kind = 'rejected_message'");
  }

  TempDir dir_{"gateway"};
  app::LocalBroker broker_;
  int http_port_ = 0, dtu_port_ = 0, dlms_port_ = 0;
  std::string config_, token_;
};

TEST_F(GatewayServeTest, DtuMetersArePolledStoredOnceAndFailuresKept) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Register("E1", "electricity", "dlt645", "000000000001", "DTU1");
  Register("E2", "electricity", "dlt645", "000000000002", "DTU1");  // never answers
  Register("E3", "electricity", "dlt645", "000000000003", "DTU1");  // bad checksum
  Register("W1", "water", "cjt188", "00000000000004", "DTU1");
  Register("E5", "electricity", "dlt645", "000000000005", "DTU2");  // its DTU drops the line once

  using sim::MeterBehaviour;
  // step 0: every poll of a quarter hour reads the same value — a re-poll is the same reading.
  sim::SimDtu dtu1("DTU1\n", {{"dlt645", "000000000001", 1500.25, 0, MeterBehaviour::kAnswer},
                              {"dlt645", "000000000002", 10, 0, MeterBehaviour::kSilent},
                              {"dlt645", "000000000003", 10, 0, MeterBehaviour::kCorrupt},
                              {"cjt188", "00000000000004", 321.5, 0, MeterBehaviour::kAnswer}});
  sim::SimDtu dtu2("DTU2\r\n", {{"dlt645", "000000000005", 77, 0, MeterBehaviour::kDisconnect}});
  ASSERT_TRUE(dtu1.Start("127.0.0.1", dtu_port_).ok());
  ASSERT_TRUE(dtu2.Start("127.0.0.1", dtu_port_).ok());

  ASSERT_TRUE(WaitFor([&] { return Readings("E1").size() == 1 && Readings("W1").size() == 1 && Readings("E5").size() == 1; }, 30))
      << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(Readings("E1")[0]["value"], 1500.25);
  EXPECT_EQ(Readings("E1")[0]["source"], "mqtt") << "through the broker, judged by the shard's owner";
  EXPECT_EQ(Readings("W1")[0]["value"], 321.5);
  EXPECT_EQ(Readings("W1", "settlement_volume_m3").size(), 1u);
  EXPECT_EQ(Readings("E5")[0]["value"], 77.0);
  // Several poll rounds later: still one reading each (exactly once), one connection of DTU1.
  ASSERT_TRUE(WaitFor([&] { return dtu1.answers() >= 6; }, 30));
  ASSERT_TRUE(WaitFor([&] { return Metric("meterhub_gateway_silent_total") >= 2; }, 30));
  EXPECT_EQ(Readings("E1").size(), 1u);
  EXPECT_EQ(Readings("W1").size(), 1u);
  EXPECT_TRUE(Readings("E2").empty());
  EXPECT_EQ(dtu1.connects(), 1) << "the DTU's connection is kept alive across polls";
  EXPECT_EQ(dtu2.connects(), 2) << "DTU2 came back after dropping the line mid-poll";
  EXPECT_GE(Metric("meterhub_gateway_cut_mid_poll_total"), 1);
  EXPECT_EQ(Metric("meterhub_gateway_dtus"), 2);
  // The corrupt answer: kept as a rejected message of the polled meter, with the decoder's error.
  ASSERT_TRUE(WaitFor([&] { return Rejected("E3").find("checksum") != std::string::npos; }, 20)) << Rejected("E3");
  EXPECT_NE(Rejected("E3").find("dlt645 frame: byte"), std::string::npos) << Rejected("E3");
  dtu1.Stop();
  dtu2.Stop();
  EXPECT_TRUE(WaitFor([&] { return Metric("meterhub_gateway_dtus") == 0; }, 10));
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

TEST_F(GatewayServeTest, DlmsPushesOverTcpAreStoredOnceAndBadOnesKept) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Register("D1", "electricity", "dlms", "MHU0000000000042", "");
  // Three pushes of the same register in one quarter hour: one reading. Then a PDU whose APDU is
  // no data-notification, on the same connection.
  std::vector<uint8_t> push = sim::DlmsPush("MHU0000000000042", 4272440);
  std::vector<uint8_t> bad = push;
  bad[8] = 0x0e;  // the APDU tag
  auto sent = sim::SendPdus("127.0.0.1", dlms_port_, {push, push, push, bad}, 10);
  ASSERT_TRUE(sent.ok() && *sent == 4);
  ASSERT_TRUE(WaitFor([&] { return Readings("D1").size() == 1; }, 20)) << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(Readings("D1")[0]["value"], 4272.44);
  EXPECT_TRUE(WaitFor([&] { return Metric("meterhub_gateway_dlms_pushes_total") == 3; }, 10));
  EXPECT_EQ(Readings("D1").size(), 1u);
  // The bad push: a rejected raw frame of the meter the connection pushed for, with the decoder's error.
  ASSERT_TRUE(WaitFor([&] { return Rejected("D1").find("dlms frame:") != std::string::npos; }, 20)) << Rejected("D1");
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Ciphered DLMS pushes over TCP decipher with the keys of [ingest] frame_keys_file; a push whose
// key is missing or wrong is kept as a rejected message of its meter with the decoder's error.
TEST_F(GatewayServeTest, CipheredDlmsPushesDecipherWithTheFrameKeys) {
  constexpr char kKey[] = "000102030405060708090A0B0C0D0E0F", kAuth[] = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
  constexpr char kTitle[] = "4D48550000000042", kUnkeyed[] = "4D48550000000043";
  const std::string keys = dir_ / "frame-keys.csv";
  testing::WriteFile(keys, std::string("address,key,auth_key\n") + kTitle + "," + kKey + "," + kAuth + "\n");
  ::chmod(keys.c_str(), 0600);
  UseKeysFile(keys);
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  Register("C1", "electricity", "dlms", kTitle, "");
  Register("C2", "electricity", "dlms", kUnkeyed, "");
  auto good = sim::DlmsCipheredPush("MHU0000000000042", 1234560, kTitle, kKey, kAuth, 1);
  auto wrong = sim::DlmsCipheredPush("MHU0000000000042", 1234570, kTitle, "0F0E0D0C0B0A09080706050403020100", kAuth, 2);
  auto unkeyed = sim::DlmsCipheredPush("MHU0000000000043", 99000, kUnkeyed, kKey, kAuth, 1);
  ASSERT_TRUE(good.ok() && wrong.ok() && unkeyed.ok());
  auto sent = sim::SendPdus("127.0.0.1", dlms_port_, {*good, *wrong, *good}, 10);
  ASSERT_TRUE(sent.ok() && *sent == 3);
  ASSERT_TRUE(sim::SendPdus("127.0.0.1", dlms_port_, {*unkeyed}, 0).ok());
  ASSERT_TRUE(WaitFor([&] { return Readings("C1").size() == 1; }, 20)) << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(Readings("C1")[0]["value"], 1234.56);
  EXPECT_TRUE(WaitFor([&] { return Metric("meterhub_gateway_dlms_pushes_total") == 2; }, 10));
  EXPECT_EQ(Readings("C1").size(), 1u) << "the same push twice in one quarter hour: one reading";
  ASSERT_TRUE(WaitFor([&] { return Rejected("C1").find("authentication tag mismatch") != std::string::npos; }, 20))
      << Rejected("C1");
  ASSERT_TRUE(WaitFor([&] { return Rejected("C2").find("no encryption key") != std::string::npos; }, 20)) << Rejected("C2");
  EXPECT_TRUE(Readings("C2").empty());
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
  const std::string log = testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(log.find(kKey), std::string::npos) << "a key was logged";
}

// The wM-Bus receiver simulator (sim::SimWmbusReceiver) publishes its meters' telegrams on its
// raw/wmbus topic: plain and mode-5 telegrams (keys in the file it writes) stored once over two
// rounds, the corrupt meter's telegram kept as a rejected message of the receiver.
TEST_F(GatewayServeTest, WmbusReceiverTelegramsAreStoredOnceAndCorruptOnesKept) {
  sim::SimWmbusReceiver rx("RX1", {{"00000101", 12.5, 0, "", false},
                                   {"00000102", 7.25, 0, "000102030405060708090A0B0C0D0E0F", false},
                                   {"00000103", 3, 0, "", true}});
  ASSERT_TRUE(rx.WriteKeysFile(dir_ / "frame-keys.csv").ok());
  UseKeysFile(dir_ / "frame-keys.csv");
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  for (size_t i = 0; i < rx.meters().size(); ++i) {
    Register("WM" + std::to_string(i + 1), "water", "wmbus", sim::SimWmbusReceiver::AddressOf(rx.meters()[i]), "RX1");
  }
  testing::Publisher pub(broker_.port(), "wmbus-receiver");
  auto publish = [&pub](const std::string& topic, const std::string& payload) {
    pub.PublishRaw(topic, payload);
    return Status::Ok();
  };
  ASSERT_EQ(*rx.Round(publish), 3);
  ASSERT_EQ(*rx.Round(publish), 3);  // the same volumes again in the same quarter hour
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 20));
  ASSERT_TRUE(WaitFor([&] { return Readings("WM1").size() == 1 && Readings("WM2").size() == 1; }, 20))
      << testing::ReadFile(dir_ / "serve.log");
  EXPECT_EQ(Readings("WM1")[0]["value"], 12.5);
  EXPECT_EQ(Readings("WM2")[0]["value"], 7.25);
  ASSERT_TRUE(WaitFor([&] { return Rejected("RX1").find("L field") != std::string::npos; }, 20)) << Rejected("RX1");
  EXPECT_TRUE(Readings("WM3").empty());
  EXPECT_EQ(Readings("WM1").size(), 1u);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
