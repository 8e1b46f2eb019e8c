// The TCP gateway end to end (issue 16): a real Mosquitto, the real `meterhub serve` with
// [gateway] listen and dlms_listen, and the simulated devices of src/sim/protocol_devices.h — a
// DTU whose DL/T 645 and CJ/T 188 meters answer (one never does, one answers with a bad
// checksum), a DTU that drops the connection mid-poll, a DLMS meter pushing over TCP. Readings
// reach the store through the broker exactly once, corrupt frames are kept as rejected
// messages, and the DTU's connection stays up across polls.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "sim/protocol_devices.h"
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

}  // namespace
}  // namespace mh
