// The tamper-audit server end to end: a real Mosquitto, the real `meterhub serve`, a webhook
// receiver. Two simulated meters (the real plugin and firmware model, in this process) publish
// their first monitoring times on meters/<shard>/<id>/audit/signal and their segments on
// .../audit/segments; both are commissioned over REST. The clean meter's audit passes; the meter
// running an altered fixed segment raises a code alarm and its inspection order reaches the
// webhook. Then, the daemon stopped, `meterhub audit export` + `meterhub audit verify` give the
// same verdicts offline, and an exported fixed image altered by hand is a code alarm.
#include <sqlite3.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/firmware.h"
#include "meter/audit/fixed_segment.h"
#include "sim/audit_link.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;
namespace ma = meter::audit;

constexpr int64_t kDay = 20700;  // 2026-09-04: a cycle long over
constexpr int64_t kT0 = kDay * 86400;
constexpr int64_t kH = 3600;

using testing::ServeProcess;

// A meter's MQTT link: the one the demo's audited meters use (QoS 1, counted when acknowledged).
using MeterLink = sim::AuditMqttLink;

// Runs a 3-day cycle (the seed's day-1 metering 2–3 h and 5–7 h, more on days 2 and 3) through the
// real firmware and plugin; signals go out as they happen, the segments at the end.
void RunMeter(MeterLink& link, const std::string& meter, const std::string& stored_image) {
  ma::AuditPlugin plugin(meter, ma::Cycle{kDay, 3, 0}, &link);
  std::string dynamic;
  plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) { dynamic = ma::FormatDynamicSegment(s); });
  auto fw = ma::MeterFirmware::Create(stored_image, &plugin);
  ASSERT_TRUE(fw.ok()) << fw.status().message();
  (*fw)->AdvanceTo(kT0 - kH);
  for (const auto& [t, w] : std::vector<std::pair<int64_t, double>>{{kT0 + 2 * kH, 1000},
                                                                    {kT0 + 3 * kH, 0},
                                                                    {kT0 + 5 * kH, 2000},
                                                                    {kT0 + 7 * kH, 0},
                                                                    {kT0 + 86400 + 6 * kH, 500},
                                                                    {kT0 + 86400 + 10 * kH, 0},
                                                                    {kT0 + 2 * 86400 + 18 * kH, 1500},
                                                                    {kT0 + 2 * 86400 + 19 * kH, 0}}) {
    (*fw)->SetPower(t, w);
  }
  (*fw)->AdvanceTo(kT0 + 3 * 86400);
  ASSERT_FALSE(dynamic.empty());
  ASSERT_TRUE(link.PublishSegments(meter, (*fw)->stored_image(), dynamic, ma::FormatComparisonTable(ma::DefaultComparisonLines()))
                  .ok());
}

class AuditServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
    ASSERT_TRUE(broker_.Start(dir_ / "broker").ok()) << "broker did not start";
    http_port_ = app::FreeLoopbackPort();
    hook_port_ = app::FreeLoopbackPort();
    hook_.Post("/orders", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      orders_.push_back(req.body);
      res.status = 200;
    });
    hook_thread_ = std::thread([this] { hook_.listen("127.0.0.1", hook_port_); });
    config_ = dir_ / "meterhub.toml";
    testing::WriteFile(config_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                    std::to_string(http_port_) + "\"\n[mqtt]\nbroker = \"" + broker_.address() +
                                    "\"\n[audit]\ninterval = \"0\"\ninspection_webhook = \"http://127.0.0.1:" +
                                    std::to_string(hook_port_) + "/orders\"\n");
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role auditor --config " + config_);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
  }
  void TearDown() override {
    hook_.stop();
    if (hook_thread_.joinable()) hook_thread_.join();
  }

  httplib::Result Get(const std::string& path) {
    httplib::Client c("127.0.0.1", http_port_);
    return c.Get(path, {{"Authorization", "Bearer " + token_}});
  }
  httplib::Result Post(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", http_port_);
    return c.Post(path, {{"Authorization", "Bearer " + token_}}, body.dump(), "application/json");
  }
  bool Up() {
    auto r = Get("/api/v1/status");
    return r && r->status == 200 && json::parse(r->body).value("mqtt", "") == "connected";
  }
  std::string Verify(const std::string& dir, const std::string& meter) {
    return RunCommand(testing::MeterhubBinary() + " audit verify --ledger " + dir + "/ledger --meter " + meter + " --code " +
                      dir + "/FIXED.bin --dynamic " + dir + "/DYNAMIC.txt --compare " + dir + "/TABLE.txt")
        .output;
  }

  TempDir dir_{"audit-serve"};
  app::LocalBroker broker_;
  int http_port_ = 0, hook_port_ = 0;
  std::string config_, token_;
  httplib::Server hook_;
  std::thread hook_thread_;
  std::mutex mu_;
  std::vector<std::string> orders_;
};

TEST_F(AuditServeTest, SignalsSegmentsAuditOrderAndExport) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 30)) << testing::ReadFile(dir_ / "serve.log");

  // Commissioning: the initial fixed code of both meters into the ledger.
  for (const std::string m : {"A1", "A2"}) {
    auto r = Post("/api/v1/audit/meters/" + m + "/commission", {{"fixed_image", ma::DefaultFixedImage()}, {"registered_at", kT0 - 86400}});
    ASSERT_TRUE(r) << "no answer";
    ASSERT_EQ(r->status, 201) << r->body;
  }
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  MeterLink link;
  ASSERT_TRUE(link.Connect(broker_.port(), "audit-serve-test-meters").ok());
  RunMeter(link, "A1", ma::DefaultFixedImage());
  RunMeter(link, "A2", altered);
  const int64_t expected = 2 + link.signals();
  ASSERT_TRUE(link.WaitAcked(20));
  ASSERT_TRUE(WaitFor([&] {
    auto r = Get("/api/v1/audit/ledger/head");
    return r && r->status == 200 && json::parse(r->body)["size"] == expected;
  }, 30)) << Get("/api/v1/audit/ledger/head")->body << " expected " << expected;

  // The clean meter passes (once its segments are stored).
  int a1_status = 0;
  std::string a1_body;
  ASSERT_TRUE(WaitFor([&] {
    auto r = Post("/api/v1/audit/meters/A1/run", json::object());
    a1_status = r ? r->status : 0;
    a1_body = r ? r->body : "no answer";
    return a1_status == 200;
  }, 20)) << a1_body;
  EXPECT_EQ(json::parse(a1_body)["result"], "pass") << a1_body;

  // The attacked meter: a code alarm, an inspection order sent to the webhook.
  int a2_status = 0;
  std::string a2_body;
  ASSERT_TRUE(WaitFor([&] {
    auto r = Post("/api/v1/audit/meters/A2/run", json::object());
    a2_status = r ? r->status : 0;
    a2_body = r ? r->body : "no answer";
    return a2_status == 200;
  }, 20)) << a2_body;
  json r2 = json::parse(a2_body);
  EXPECT_EQ(r2["result"], "alarm");
  EXPECT_EQ(r2["alarms"], json::array({"code-alarm line 7"}));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu_);
    return !orders_.empty();
  }, 10));
  {
    std::lock_guard lock(mu_);
    json order = json::parse(orders_[0]);
    EXPECT_EQ(order["type"], "inspection_order");
    EXPECT_EQ(order["meter"], "A2");
    EXPECT_EQ(order["priority"], "high");
    EXPECT_EQ(order["order_id"], r2["order_id"]);
  }
  json alarms = json::parse(Get("/api/v1/audit/alarms")->body)["alarms"];
  ASSERT_EQ(alarms.size(), 1u) << alarms.dump();
  EXPECT_EQ(alarms[0]["meter_id"], "A2");
  EXPECT_EQ(alarms[0]["inspection_order"]["state"], "sent");
  EXPECT_EQ(json::parse(Get("/api/v1/audit/results?meter=A1")->body)["results"].size(), 1u);
  json entries = json::parse(Get("/api/v1/audit/ledger/entries?meter=A1")->body);
  EXPECT_EQ(entries["verified"], true);
  EXPECT_EQ(entries["entries"].size(), static_cast<size_t>(1 + link.signals() / 2)) << entries.dump();
  json proof = json::parse(Get("/api/v1/audit/ledger/proofs/inclusion?index=0&size=" + std::to_string(expected))->body);
  EXPECT_EQ(proof["tree_size"], expected);
  EXPECT_FALSE(proof["path"].empty());
  json consistency = json::parse(Get("/api/v1/audit/ledger/proofs/consistency?from=2&to=" + std::to_string(expected))->body);
  EXPECT_EQ(consistency["new_size"], expected);
  EXPECT_EQ(Get("/api/v1/audit/ledger/proofs/inclusion?index=0")->status, 400);
  json doc = json::parse(Get("/api/v1/openapi.json")->body);
  for (const char* p : {"/api/v1/audit/ledger/head", "/api/v1/audit/ledger/entries", "/api/v1/audit/ledger/proofs/inclusion",
                        "/api/v1/audit/ledger/proofs/consistency", "/api/v1/audit/meters/{id}/run",
                        "/api/v1/audit/meters/{id}/commission", "/api/v1/audit/results", "/api/v1/audit/alarms"}) {
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  }
  auto metrics = httplib::Client("127.0.0.1", http_port_).Get("/metrics");
  EXPECT_NE(metrics->body.find("meterhub_audit_alarms_total 1"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);

  // Offline: export from the stopped daemon's store, verify.
  const std::string e1 = dir_ / "export-A1", e2 = dir_ / "export-A2";
  auto x1 = RunCommand(testing::MeterhubBinary() + " audit export --meter A1 --out " + e1 + " --config " + config_);
  ASSERT_EQ(x1.exit_code, 0) << x1.output;
  ASSERT_EQ(RunCommand(testing::MeterhubBinary() + " audit export --meter A2 --out " + e2 + " --config " + config_).exit_code, 0);
  EXPECT_EQ(Verify(e1, "A1"), "pass\n");
  EXPECT_EQ(Verify(e2, "A2"), "code-alarm line 7\n");
  auto whole = RunCommand(testing::MeterhubBinary() + " ledger verify --ledger " + e1 + "/ledger");
  EXPECT_EQ(whole.exit_code, 0) << whole.output;
  std::string fixed = testing::ReadFile(e1 + "/FIXED.bin");
  fixed.replace(fixed.find("MUL R2 R0 R1"), 12, "MUL R2 R0 0.30");
  testing::WriteFile(e1 + "/FIXED.bin", fixed);
  EXPECT_EQ(Verify(e1, "A1").rfind("code-alarm line ", 0), 0u) << Verify(e1, "A1");
  EXPECT_EQ(RunCommand(testing::MeterhubBinary() + " audit export --meter A9 --out " + (dir_ / "x") + " --config " + config_).exit_code, 2);

  // The database itself as the ledger: clean, then one of A1's rows altered in storage.
  auto db_verify = [&](const std::string& meter, const std::string& dir) {
    return RunCommand(testing::MeterhubBinary() + " audit verify --ledger " + (dir_ / "meterhub.db") + " --meter " + meter +
                      " --code " + dir + "/FIXED.bin --dynamic " + dir + "/DYNAMIC.txt --compare " + dir + "/TABLE.txt");
  };
  EXPECT_EQ(db_verify("A2", e2).output, "code-alarm line 7\n");
  const std::string e1b = dir_ / "export-A1-again";
  ASSERT_EQ(RunCommand(testing::MeterhubBinary() + " audit export --meter A1 --out " + e1b + " --config " + config_).exit_code, 0);
  EXPECT_EQ(db_verify("A1", e1b).output, "pass\n");
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "meterhub.db").c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h,
                         "UPDATE ledger_leaves SET payload = CAST(replace(CAST(payload AS TEXT), 'edge=stop', 'edge=start') AS BLOB) "
                         "WHERE idx = (SELECT min(idx) FROM ledger_leaves WHERE meter_id = 'A1' AND CAST(payload AS TEXT) LIKE '%edge=stop%')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  auto altered_row = db_verify("A1", e1b);
  EXPECT_EQ(altered_row.exit_code, 1);
  EXPECT_EQ(altered_row.output, "ledger-alarm\n");
  // The daemon sees it too: its audit of A1 is a ledger alarm, its entries endpoint refuses.
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 30)) << testing::ReadFile(dir_ / "serve.log");
  auto again = Post("/api/v1/audit/meters/A1/run", json::object());
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["alarms"], json::array({"ledger-alarm"})) << again->body;
  EXPECT_EQ(Get("/api/v1/audit/ledger/entries?meter=A1")->status, 422);
  // Roles: a supervisor reads but may not run audits.
  auto sup = RunCommand(testing::MeterhubBinary() + " token create --role supervisor --config " + config_);
  ASSERT_EQ(sup.exit_code, 0);
  httplib::Client c("127.0.0.1", http_port_);
  const httplib::Headers as_sup = {{"Authorization", "Bearer " + sup.output.substr(0, sup.output.find('\n'))}};
  EXPECT_EQ(c.Get("/api/v1/audit/alarms", as_sup)->status, 200);
  EXPECT_EQ(c.Post("/api/v1/audit/meters/A1/run", as_sup, "{}", "application/json")->status, 403);
  EXPECT_EQ(c.Get("/api/v1/audit/alarms")->status, 401);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
