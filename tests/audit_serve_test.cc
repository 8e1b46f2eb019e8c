// The tamper-audit server end to end: a real Mosquitto, the real `meterhub serve`, a webhook
// receiver. Simulated meters (the real plugin and firmware model, in this process) are registered
// and commissioned over REST, publish their first monitoring times on meters/<shard>/<id>/audit/signal
// and their segments on .../audit/segments, answer the daemon's requests for their segments and
// apply the cycle lengths it sends on .../commands. Covered: a clean meter passes and an altered
// fixed segment is a code alarm with its inspection order, then `meterhub audit export` + `verify`
// give the same verdicts offline (issue 5); issue 11's reproducer (altered code sent with a table
// listing only line 1) is a code alarm, re-commissioning, unknown meters refused (issue 10 item 15);
// cycle lengths from the meters' readings, an enterprise meter daily cycle after cycle; segments
// fetched on request, a silent meter, the cap on waiting runs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "audit/messages.h"
#include "crypto/crypto.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/firmware.h"
#include "meter/audit/fixed_segment.h"
#include "sim/audit_link.h"
#include "support/sqlite_shell.h"
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

std::string Altered() {
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  return altered;
}

// The meters' side of the broker: one MQTT link (the demo's) for every meter of a test. Each meter
// answers the daemon's send_segments with the segments of its last cycle end unless it is silent,
// and its audit_cycle commands are kept (and handed to its plugin, when it has one running).
class Meters {
 public:
  explicit Meters(int broker_port) {
    link.SetCommandHandler([this](const std::string& meter, const std::string& payload) { OnCommand(meter, payload); });
    EXPECT_TRUE(link.Connect(broker_port, "audit-serve-test-meters").ok());
  }
  void Subscribe(const std::string& meter) {
    ASSERT_TRUE(link.SubscribeCommands(meter).ok());
    ASSERT_TRUE(link.WaitSubscribed(10));
  }
  void SetAnswer(const std::string& meter, audit::SegmentsMessage m) {
    std::lock_guard lock(mu_);
    answers_[meter] = std::move(m);
  }
  void SetSilent(const std::string& meter, bool silent) {
    std::lock_guard lock(mu_);
    if (silent) silent_.insert(meter); else silent_.erase(meter);
  }
  void SetPlugin(const std::string& meter, ma::AuditPlugin* plugin) {
    std::lock_guard lock(mu_);
    plugins_[meter] = plugin;
  }
  std::vector<audit::AuditCycleCommand> Cycles(const std::string& meter) {
    std::lock_guard lock(mu_);
    return cycles_[meter];
  }
  int requests(const std::string& meter) {
    std::lock_guard lock(mu_);
    return requests_[meter];
  }

  // Runs a 3-day cycle from `day` (the seed's day-1 metering 2–3 h and 5–7 h, more on days 2 and 3)
  // through the real firmware and plugin; signals go out as they happen, the segments (with
  // `table`) at the end, and are what the meter answers requests with.
  void RunCycle(const std::string& meter, const std::string& stored_image,
                const std::string& table = ma::FormatComparisonTable(ma::DefaultComparisonLines()), int64_t day = kDay) {
    const int64_t t0 = day * 86400;
    ma::AuditPlugin plugin(meter, ma::Cycle{day, 3, 0}, &link);
    std::string dynamic;
    plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) { dynamic = ma::FormatDynamicSegment(s); });
    auto fw = ma::MeterFirmware::Create(stored_image, &plugin);
    ASSERT_TRUE(fw.ok()) << fw.status().message();
    (*fw)->AdvanceTo(t0 - kH);
    for (const auto& [t, w] : std::vector<std::pair<int64_t, double>>{{t0 + 2 * kH, 1000},
                                                                      {t0 + 3 * kH, 0},
                                                                      {t0 + 5 * kH, 2000},
                                                                      {t0 + 7 * kH, 0},
                                                                      {t0 + 86400 + 6 * kH, 500},
                                                                      {t0 + 86400 + 10 * kH, 0},
                                                                      {t0 + 2 * 86400 + 18 * kH, 1500},
                                                                      {t0 + 2 * 86400 + 19 * kH, 0}}) {
      (*fw)->SetPower(t, w);
    }
    (*fw)->AdvanceTo(t0 + 3 * 86400);
    ASSERT_FALSE(dynamic.empty());
    audit::SegmentsMessage m{(*fw)->stored_image(), dynamic, table, ""};
    SetAnswer(meter, m);
    ASSERT_TRUE(link.Publish(meter, "audit/segments", audit::FormatSegmentsMessage(m)).ok());
  }

  sim::AuditMqttLink link;

 private:
  void OnCommand(const std::string& meter, const std::string& payload) {
    auto command = audit::ParseAuditCommand(payload);
    if (!command.ok()) return;
    std::lock_guard lock(mu_);
    if (const auto* c = std::get_if<audit::AuditCycleCommand>(&*command)) {
      cycles_[meter].push_back(*c);
      if (auto p = plugins_.find(meter); p != plugins_.end() && p->second) p->second->SetServerCycleLength(c->d, c->from_day);
    } else if (const auto* s = std::get_if<audit::SendSegmentsCommand>(&*command)) {
      ++requests_[meter];
      auto it = answers_.find(meter);
      if (silent_.count(meter) || it == answers_.end()) return;
      audit::SegmentsMessage answer = it->second;
      answer.request_id = s->request_id;
      (void)link.Publish(meter, "audit/segments", audit::FormatSegmentsMessage(answer));
    }
  }

  std::mutex mu_;
  std::map<std::string, audit::SegmentsMessage> answers_;
  std::set<std::string> silent_;
  std::map<std::string, ma::AuditPlugin*> plugins_;
  std::map<std::string, std::vector<audit::AuditCycleCommand>> cycles_;
  std::map<std::string, int> requests_;
};

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
    // Meters that do not answer cost segments_timeout per audit; one run may wait at a time.
    testing::WriteFile(config_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                    std::to_string(http_port_) + "\"\n[mqtt]\nbroker = \"" + broker_.address() +
                                    "\"\n[audit]\ninterval = \"0\"\nsegments_timeout = \"2s\"\nmax_waiting_runs = 1\n"
                                    "inspection_webhook = \"http://127.0.0.1:" + std::to_string(hook_port_) + "/orders\"\n");
    token_ = Token("auditor");
    admin_ = Token("admin");
  }
  void TearDown() override {
    hook_.stop();
    if (hook_thread_.joinable()) hook_thread_.join();
  }

  std::string Token(const std::string& role) {
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role " + role + " --config " + config_);
    EXPECT_EQ(token.exit_code, 0) << token.output;
    return token.output.substr(0, token.output.find('\n'));
  }
  void Start() {
    serve_.Start();
    ASSERT_TRUE(WaitFor([&] { return Up(); }, 30)) << testing::ReadFile(dir_ / "serve.log");
  }
  httplib::Result Get(const std::string& path, const std::string& token = "") {
    httplib::Client c("127.0.0.1", http_port_);
    return c.Get(path, {{"Authorization", "Bearer " + (token.empty() ? token_ : token)}});
  }
  httplib::Result Post(const std::string& path, const json& body, const std::string& token = "") {
    httplib::Client c("127.0.0.1", http_port_);
    c.set_read_timeout(30, 0);
    return c.Post(path, {{"Authorization", "Bearer " + (token.empty() ? token_ : token)}}, body.dump(), "application/json");
  }
  json Run(const std::string& meter) {
    auto r = Post("/api/v1/audit/meters/" + meter + "/run", json::object());
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  bool Up() {
    auto r = Get("/api/v1/status");
    return r && r->status == 200 && json::parse(r->body).value("mqtt", "") == "connected";
  }
  int64_t LedgerSize() { return json::parse(Get("/api/v1/audit/ledger/head")->body)["size"].get<int64_t>(); }
  // Registered in the readings store first (issue 10 item 15), then commissioned.
  void Register(const std::string& meter) {
    auto r = Post("/api/v1/meters", {{"meter_id", meter}, {"timezone", "+00:00"}, {"interval_s", 86400}}, admin_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  void Commission(const std::string& meter, json body = json::object()) {
    if (!body.contains("fixed_image")) body["fixed_image"] = ma::DefaultFixedImage();
    if (!body.contains("registered_at")) body["registered_at"] = kT0 - 86400;
    auto r = Post("/api/v1/audit/meters/" + meter + "/commission", body);
    ASSERT_TRUE(r) << "no answer";
    ASSERT_EQ(r->status, 201) << r->body;
  }
  std::string Verify(const std::string& dir, const std::string& meter) {
    return RunCommand(testing::MeterhubBinary() + " audit verify --ledger " + dir + "/ledger --meter " + meter + " --code " +
                      dir + "/FIXED.bin --dynamic " + dir + "/DYNAMIC.txt --compare " + dir + "/TABLE.txt")
        .output;
  }
  size_t Orders() {
    std::lock_guard lock(mu_);
    return orders_.size();
  }

  TempDir dir_{"audit-serve"};
  app::LocalBroker broker_;
  int http_port_ = 0, hook_port_ = 0;
  std::string config_, token_, admin_;
  ServeProcess serve_{dir_ / "meterhub.toml", dir_ / "serve.log"};
  httplib::Server hook_;
  std::thread hook_thread_;
  std::mutex mu_;
  std::vector<std::string> orders_;
};

TEST_F(AuditServeTest, SignalsSegmentsAuditOrderAndExport) {
  Start();
  Meters meters(broker_.port());
  for (const std::string m : {"A1", "A2"}) {
    Register(m);
    Commission(m);
    meters.Subscribe(m);
  }
  meters.RunCycle("A1", ma::DefaultFixedImage());
  meters.RunCycle("A2", Altered());
  const int64_t expected = 4 + meters.link.signals();  // code and table of each, the signals
  ASSERT_TRUE(meters.link.WaitAcked(20));
  ASSERT_TRUE(WaitFor([&] { return LedgerSize() == expected; }, 30)) << LedgerSize() << " expected " << expected;

  // The clean meter passes, on the segments it sent when asked.
  json r1 = Run("A1");
  EXPECT_EQ(r1["result"], "pass") << r1.dump();
  EXPECT_EQ(r1["segments"], "fresh");
  EXPECT_EQ(r1["silent"], false);
  EXPECT_EQ(meters.requests("A1"), 1);

  // The attacked meter: a code alarm, an inspection order sent to the webhook.
  json r2 = Run("A2");
  EXPECT_EQ(r2["result"], "alarm");
  EXPECT_EQ(r2["alarms"], json::array({"code-alarm line 7"}));
  ASSERT_TRUE(WaitFor([&] { return Orders() > 0; }, 10));
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
  EXPECT_EQ(entries["entries"].size(), static_cast<size_t>(2 + meters.link.signals() / 2)) << entries.dump();
  EXPECT_EQ(entries["entries"][1]["kind"], "audit.compare.v1");
  json proof = json::parse(Get("/api/v1/audit/ledger/proofs/inclusion?index=0&size=" + std::to_string(expected))->body);
  EXPECT_EQ(proof["tree_size"], expected);
  EXPECT_FALSE(proof["path"].empty());
  json consistency = json::parse(Get("/api/v1/audit/ledger/proofs/consistency?from=2&to=" + std::to_string(expected))->body);
  EXPECT_EQ(consistency["new_size"], expected);
  EXPECT_EQ(Get("/api/v1/audit/ledger/proofs/inclusion?index=0")->status, 400);
  json doc = json::parse(Get("/api/v1/openapi.json")->body);
  for (const char* p : {"/api/v1/audit/ledger/head", "/api/v1/audit/ledger/heads", "/api/v1/audit/ledger/entries",
                        "/api/v1/audit/ledger/proofs/inclusion", "/api/v1/audit/ledger/proofs/consistency",
                        "/api/v1/audit/meters/{id}", "/api/v1/audit/meters/{id}/run", "/api/v1/audit/meters/{id}/commission",
                        "/api/v1/audit/meters/{id}/recommission", "/api/v1/audit/results", "/api/v1/audit/alarms"}) {
    EXPECT_TRUE(doc["paths"].contains(p)) << p;
  }
  auto metrics = httplib::Client("127.0.0.1", http_port_).Get("/metrics");
  EXPECT_NE(metrics->body.find("meterhub_audit_alarms_total 1"), std::string::npos);
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);

  // Offline: export from the stopped daemon's store (TABLE.txt is the ledger's), verify.
  const std::string e1 = dir_ / "export-A1", e2 = dir_ / "export-A2";
  auto x1 = RunCommand(testing::MeterhubBinary() + " audit export --meter A1 --out " + e1 + " --config " + config_);
  ASSERT_EQ(x1.exit_code, 0) << x1.output;
  EXPECT_NE(x1.output.find("the ledger's comparison table"), std::string::npos) << x1.output;
  ASSERT_EQ(RunCommand(testing::MeterhubBinary() + " audit export --meter A2 --out " + e2 + " --config " + config_).exit_code, 0);
  EXPECT_EQ(testing::ReadFile(e2 + "/TABLE.txt"), "mh-compare 1\n3-11\n");
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
                      " --code " + dir + "/FIXED.bin --dynamic " + dir + "/DYNAMIC.txt");
  };
  EXPECT_EQ(db_verify("A2", e2).output, "code-alarm line 7\n");
  const std::string e1b = dir_ / "export-A1-again";
  ASSERT_EQ(RunCommand(testing::MeterhubBinary() + " audit export --meter A1 --out " + e1b + " --config " + config_).exit_code, 0);
  EXPECT_EQ(db_verify("A1", e1b).output, "pass\n");
  testing::SqliteExec(dir_ / "meterhub.db",
                      "UPDATE ledger_leaves SET payload = CAST(replace(CAST(payload AS TEXT), 'edge=stop', 'edge=start') AS BLOB) "
                      "WHERE idx = (SELECT min(idx) FROM ledger_leaves WHERE meter_id = 'A1' AND CAST(payload AS TEXT) LIKE '%edge=stop%')");
  auto altered_row = db_verify("A1", e1b);
  EXPECT_EQ(altered_row.exit_code, 1);
  EXPECT_EQ(altered_row.output, "ledger-alarm\n");
  // The daemon sees it too: its audit of A1 is a ledger alarm, its entries endpoint refuses.
  Start();
  json again = Run("A1");
  EXPECT_EQ(again["alarms"], json::array({"ledger-alarm"})) << again.dump();
  EXPECT_EQ(Get("/api/v1/audit/ledger/entries?meter=A1")->status, 422);
  // Roles: a supervisor reads but may not run audits.
  const std::string sup = Token("supervisor");
  EXPECT_EQ(Get("/api/v1/audit/alarms", sup)->status, 200);
  EXPECT_EQ(Post("/api/v1/audit/meters/A1/run", json::object(), sup)->status, 403);
  EXPECT_EQ(httplib::Client("127.0.0.1", http_port_).Get("/api/v1/audit/alarms")->status, 401);
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);
}

// Issue 11's reproducer, tried as an auditor would: the worked example's first monitoring times,
// segments whose fixed image has line 7 changed and whose table lists only line 1. It passed; the
// table is the ledger's now.
TEST_F(AuditServeTest, AlteredCodeWithAShrunkenTableIsACodeAlarm) {
  Start();
  // Issue 10 item 15: a meter the readings store does not know is not commissioned (the ledger
  // would keep it forever), and its signals are refused.
  const int64_t before = LedgerSize();
  auto unknown = Post("/api/v1/audit/meters/GHOST/commission", {{"fixed_image", ma::DefaultFixedImage()}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  EXPECT_NE(unknown->body.find("POST /api/v1/meters"), std::string::npos) << unknown->body;
  EXPECT_EQ(LedgerSize(), before);

  Register("M1");
  Commission("M1", {{"registered_at", 1795053600}});
  const std::string ex = dir_ / "example";
  ASSERT_EQ(RunCommand(testing::MeterhubBinary() + " audit example --out " + ex).exit_code, 0);
  Meters meters(broker_.port());
  int signals = 0;
  std::istringstream entries(testing::ReadFile(ex + "/ledger/entries.jsonl"));
  for (std::string line; std::getline(entries, line);) {
    json e = json::parse(line);
    if (e["kind"] != "audit.signal.v1") continue;
    auto payload = crypto::HexDecode(e["payload"].get<std::string>());
    ASSERT_TRUE(payload.ok());
    const json message{{"seq", e["seq"]}, {"day", e["window"]}, {"signal", std::string(payload->begin(), payload->end())}};
    ASSERT_TRUE(meters.link.Publish("M1", "audit/signal", message.dump()).ok());
    ASSERT_TRUE(meters.link.Publish("GHOST", "audit/signal", message.dump()).ok());
    ++signals;
  }
  ASSERT_TRUE(meters.link.Publish("M1", "audit/segments",
                                  audit::FormatSegmentsMessage({Altered(), testing::ReadFile(ex + "/DYNAMIC.txt"),
                                                                "mh-compare 1\n1\n", ""}))
                  .ok());
  ASSERT_TRUE(meters.link.WaitAcked(20));
  ASSERT_TRUE(WaitFor([&] { return LedgerSize() == before + 2 + signals; }, 30)) << LedgerSize();
  json r = Run("M1");  // M1 does not answer: its stored segments
  EXPECT_EQ(r["result"], "alarm") << r.dump();
  EXPECT_EQ(r["alarms"], json::array({"code-alarm line 7"}));
  EXPECT_EQ(r["segments"], "stored");
  EXPECT_EQ(r["silent"], true);
  EXPECT_NE(r["notes"].dump().find("the meter's comparison table (lines 1) differs from the registered one (lines 3-11): ignored"),
            std::string::npos)
      << r.dump();
  EXPECT_EQ(LedgerSize(), before + 2 + signals);  // none of GHOST's signals went in

  // A firmware update is a re-commissioning with a reason: new entries, audits use the latest.
  auto no_reason = Post("/api/v1/audit/meters/M1/recommission", {{"fixed_image", Altered()}});
  EXPECT_EQ(no_reason->status, 400);
  auto re = Post("/api/v1/audit/meters/M1/recommission",
                 {{"fixed_image", Altered()}, {"compare", "mh-compare 1\n3-11\n"}, {"reason", "firmware 2.0: new divisor"}});
  ASSERT_EQ(re->status, 201) << re->body;
  EXPECT_EQ(json::parse(re->body)["commissioning"], 1);
  EXPECT_EQ(LedgerSize(), before + 4 + signals);
  EXPECT_EQ(Run("M1")["result"], "pass");
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);
}

// Issue 11 item 3: each meter's cycle length from its readings over the 30 days before its cycle
// against its region's, sent at the cycle's start; an enterprise meter is watched daily.
TEST_F(AuditServeTest, CycleLengthsFromReadingsAndAnEnterpriseMeterDaily) {
  Start();
  Meters meters(broker_.port());
  // Region A: three meters using 300 kWh each (one of them enterprise); region B: one of its three
  // uses five times the others.
  const std::vector<std::tuple<std::string, std::string, std::string, double>> fleet = {
      {"E1", "enterprise", "110101001", 300}, {"R1", "residential", "110101001", 300}, {"R2", "residential", "110101001", 300},
      {"H1", "residential", "220202002", 1500}, {"B1", "residential", "220202002", 300}, {"B2", "residential", "220202002", 300}};
  for (const auto& [id, attribute, region, kwh] : fleet) {
    Register(id);
    Commission(id, {{"user_attribute", attribute}, {"region", region}});
    meters.Subscribe(id);
    ASSERT_TRUE(meters.link.PublishReadings(id, {{kT0 - 30 * 86400 + kH, 1000.0}, {kT0 - kH, 1000.0 + kwh}}).ok());
  }
  ASSERT_TRUE(meters.link.WaitAcked(20));
  for (const auto& [id, attribute, region, kwh] : fleet) {
    ASSERT_TRUE(WaitFor([&, id = id] {
      auto r = Get("/api/v1/meters/" + id + "/readings");
      return r && r->status == 200 && json::parse(r->body)["readings"].size() == 2;
    }, 20)) << id << ": " << Get("/api/v1/meters/" + id + "/readings")->body;
  }
  // The first window of each meter's cycle opens: the daemon answers with the next cycle's length.
  for (const auto& [id, attribute, region, kwh] : fleet) {
    if (id == "E1") continue;  // E1 runs its plugin below
    ma::SignalEvent open{id, kDay, 1, 3, 0, 0, kT0, ma::SignalEvent::kOpen, false};
    ASSERT_TRUE(meters.link.Publish(id, "audit/signal", audit::SignalMessage(open)).ok());
  }
  const std::map<std::string, int> want = {{"R1", 3}, {"R2", 3}, {"H1", 1}, {"B1", 2}, {"B2", 2}};
  for (const auto& [id, d] : want) {
    ASSERT_TRUE(WaitFor([&, id = id] { return !meters.Cycles(id).empty(); }, 20)) << id;
    EXPECT_EQ(meters.Cycles(id).front().d, d) << id;
    EXPECT_EQ(meters.Cycles(id).front().from_day, kDay + 3) << id;
  }
  json r1 = json::parse(Get("/api/v1/audit/meters/R1")->body);
  EXPECT_EQ(r1["user_attribute"], "residential");
  EXPECT_EQ(r1["region"], "110101001");
  EXPECT_EQ(r1["cycle"]["d"], 3);
  EXPECT_EQ(r1["cycle"]["from"], "2026-09-07");

  // E1's plugin applies what it is sent: after its first 3-day cycle, daily cycles, cycle after cycle.
  ma::AuditPlugin plugin("E1", ma::Cycle{kDay, 3, 0}, &meters.link);
  meters.SetPlugin("E1", &plugin);
  std::vector<int> lengths;
  plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) { lengths.push_back(s.cycle.d); });
  auto fw = ma::MeterFirmware::Create(ma::DefaultFixedImage(), &plugin);
  ASSERT_TRUE(fw.ok());
  (*fw)->SetPower(kT0 - kH, 300);
  for (int64_t day = kDay; day < kDay + 6; ++day) {
    (*fw)->AdvanceTo(day * 86400 + kH);  // past the day's first window opening
    if (plugin.cycle().first_day != day) continue;
    // A cycle started today: wait for the daemon's length of the next one before going on.
    ASSERT_TRUE(WaitFor([&] {
      auto sent = meters.Cycles("E1");
      return !sent.empty() && sent.back().from_day == plugin.cycle().EndDay();
    }, 20)) << ma::FormatDay(day);
  }
  meters.SetPlugin("E1", nullptr);
  EXPECT_EQ(lengths, (std::vector<int>{3, 1, 1}));
  EXPECT_EQ(plugin.cycle().d, 1);
  for (const auto& c : meters.Cycles("E1")) EXPECT_EQ(c.d, 1);
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);
}

// Issue 11 item 4: a requested audit fetches the meter's segments; a silent meter is audited on its
// stored ones and, after audit.max_silent misses in a row, ordered inspected. Runs waiting for a
// meter are capped (here at 1): one more is answered 503 with Retry-After.
TEST_F(AuditServeTest, SegmentsFetchedOnRequestSilenceAndTheCap) {
  Start();
  Meters meters(broker_.port());
  Register("F1");
  Commission("F1");
  meters.Subscribe("F1");
  meters.RunCycle("F1", ma::DefaultFixedImage());
  ASSERT_TRUE(meters.link.WaitAcked(20));
  ASSERT_TRUE(WaitFor([&] { return LedgerSize() == 2 + meters.link.signals(); }, 30));
  json fresh = Run("F1");
  EXPECT_EQ(fresh["result"], "pass");
  EXPECT_EQ(fresh["segments"], "fresh");

  meters.SetSilent("F1", true);
  json first = Run("F1");
  EXPECT_EQ(first["result"], "pass");
  EXPECT_EQ(first["segments"], "stored");
  EXPECT_EQ(first["silent"], true);
  EXPECT_EQ(Run("F1")["result"], "pass");
  json third = Run("F1");
  EXPECT_EQ(third["result"], "alarm");
  EXPECT_EQ(third["alarms"], json::array({"silence-alarm misses 3"}));
  ASSERT_TRUE(WaitFor([&] { return Orders() > 0; }, 10));
  EXPECT_EQ(json::parse(Get("/api/v1/audit/meters/F1")->body)["silent_misses"], 3);

  // One run waits for the silent meter; a second one meanwhile is turned away.
  std::thread waiting([&] { EXPECT_EQ(Run("F1")["silent"], true); });
  ASSERT_TRUE(WaitFor([&] { return meters.requests("F1") == 5; }, 10));
  auto busy = Post("/api/v1/audit/meters/F1/run", json::object());
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(busy->get_header_value("Retry-After"), "2");
  waiting.join();
  // Answering again resets the count.
  meters.SetSilent("F1", false);
  EXPECT_EQ(Run("F1")["segments"], "fresh");
  EXPECT_EQ(json::parse(Get("/api/v1/audit/meters/F1")->body)["silent_misses"], 0);
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
