// Scale-out end to end (SPEC 7, docs/scale.md): three real `meterhub serve` workers on one
// PostgreSQL (support/postgres_server.h) and one Mosquitto, lease period 2 s. A publisher sends
// readings of 2,000 meters at QoS 1; one worker is SIGKILLed mid-stream and a second one a bit
// later. Then every reading the broker acknowledged is stored exactly once, the survivor owns all
// 64 shards, each meter's verdicts equal a single-worker SQLite run on the same data, and every
// alert reached a real webhook receiver exactly once (counted per X-MeterHub-Alert-Id).
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "app/local_broker.h"
#include "app/webhook_receiver.h"
#include "core/meter_id.h"
#include "store/postgres/pg_db.h"
#include "support/mqtt_publisher.h"
#include "support/postgres_server.h"
#include "support/serve_worker.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::ChildProcess;
using testing::MeterhubBinary;
using testing::Publisher;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

constexpr char kLedgerKeyHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr int kMeters = 2000, kSteps = 9;
using Verdicts = std::set<std::tuple<std::string, int64_t, std::string>>;  // quarantined (meter, ts, verdict)

// Step i of meter m: a rising register, a step back for every 7th meter at step 4 and a jump for
// every 11th at step 6 — so the verdicts depend on each meter's order being kept.
double ValueOf(int m, int i) {
  double v = 1000.0 + m + i * 0.25;
  if (m % 7 == 0 && i == 4) v -= 50;
  if (m % 11 == 0 && i == 6) v += 5000;
  return v;
}

void PublishStep(Publisher& pub, int i) {
  for (int m = 0; m < kMeters; ++m) {
    const std::string meter = "SC" + std::to_string(m);
    pub.Publish(meter, json{{"meter", meter}, {"ts", 1603980000 + i * 900}, {"value", ValueOf(m, i)}}.dump());
  }
}

// The first kAlertMeters meters are registered with a webhook terminal and a threshold of 1.0, in
// +10:00 so that step 0 (14:00Z) opens their day: their register rises 0.25 a step, so they
// raise alerts (step 5) while the workers are being killed.
constexpr int kAlertMeters = 40;
void ArmAlerts(httplib::Client& c, const httplib::Headers& auth, const std::string& hook) {
  for (int m = 0; m < kAlertMeters; ++m) {
    const std::string id = "SC" + std::to_string(m);
    auto reg = c.Post("/api/v1/meters", auth, json{{"meter_id", id}, {"customer_id", "C1"}, {"interval_s", 900}, {"timezone", "+10:00"}}.dump(),
                      "application/json");
    ASSERT_TRUE(reg && reg->status == 201) << id << ": " << (reg ? reg->body : "no answer");
    auto bind = c.Post("/api/v1/meters/" + id + "/terminals", auth,
                       json{{"terminal_id", "t-" + id}, {"channel", "webhook"}, {"address", hook}}.dump(), "application/json");
    ASSERT_TRUE(bind && bind->status == 201) << id << ": " << (bind ? bind->body : "no answer");
    auto thr = c.Put("/api/v1/meters/" + id + "/threshold", auth, json{{"threshold", 1.0}}.dump(), "application/json");
    ASSERT_TRUE(thr && thr->status == 200) << id << ": " << (thr ? thr->body : "no answer");
  }
}

// A worker: `serve --worker-id --listen` on the shared config.
using Worker = testing::ServeWorker;

class PostgresWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresDatabase("workers");
    if (url_.empty()) return;
    testing::WriteFile(dir_ / "ledger.key", std::string(kLedgerKeyHex) + "\n");
    ::chmod((dir_ / "ledger.key").c_str(), 0600);
  }
  // The shared worker config without a broker (HTTP only), and an admin token made with it.
  std::string HttpOnlyConfig() {
    const std::string config = dir_ / "http.toml";
    testing::WriteFile(config, "[store]\nbackend = \"postgres\"\nurl = \"" + url_ + "\"\n[audit]\nkey_file = \"" +
                                   (dir_ / "ledger.key") + "\"\n[cluster]\nlease_period = \"2s\"\n[ingest]\nauto_register = true\n");
    return config;
  }
  httplib::Headers AdminToken(const std::string& config) {
    auto run = RunCommand(MeterhubBinary() + " token create --role admin --config " + config);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return {{"Authorization", "Bearer " + run.output.substr(0, run.output.find('\n'))}};
  }
  TempDir dir_{"pg-workers"};
  std::string url_;
};

Verdicts PostgresVerdicts(const std::string& url) {
  Verdicts out;
  auto db = store::pg::Connection::Open(url, "test");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return out;
  auto r = (*db)->Query("SELECT meter_id, ts, verdict FROM quarantine", store::pg::Params(), "verdicts");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  for (int i = 0; i < r->size(); ++i) out.insert({r->Text(i, 0), r->Int(i, 1), r->Text(i, 2)});
  return out;
}

std::set<std::string> PostgresColumn(const std::string& url, const std::string& sql) {
  std::set<std::string> out;
  auto db = store::pg::Connection::Open(url, "test");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return out;
  auto r = (*db)->Query(sql, store::pg::Params(), "test query");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  for (int i = 0; i < r->size(); ++i) out.insert(r->Text(i, 0));
  return out;
}

Verdicts SqliteVerdicts(const std::string& path) {
  Verdicts out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT meter_id, ts, verdict FROM quarantine", -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW)
    out.insert({reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int64(st, 1),
                reinterpret_cast<const char*>(sqlite3_column_text(st, 2))});
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

TEST_F(PostgresWorkersTest, ThreeWorkersTwoSigkilledEveryAckedReadingStoredOnceWithSQLiteVerdicts) {
  if (url_.empty()) return;
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  app::LocalBroker broker;
  ASSERT_TRUE(broker.Start(dir_ / "broker").ok()) << "broker did not start";
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  const std::string common = "[mqtt]\nbroker = \"" + broker.address() +
                             "\"\n[ingest]\nauto_register = true\n[log]\nlevel = \"info\"\n[alerts.webhook]\nallow_private = true\n[vee]\nestimation = true\n";
  const std::string config = dir_ / "pg.toml";
  testing::WriteFile(config, "[store]\nbackend = \"postgres\"\nurl = \"" + url_ + "\"\n[audit]\nkey_file = \"" +
                                 (dir_ / "ledger.key") + "\"\n[cluster]\nlease_period = \"2s\"\n" + common);
  auto token_run = RunCommand(MeterhubBinary() + " token create --role admin --config " + config);
  ASSERT_EQ(token_run.exit_code, 0) << token_run.output;
  const httplib::Headers auth{{"Authorization", "Bearer " + token_run.output.substr(0, token_run.output.find('\n'))}};

  const std::string log = dir_ / "workers.log";
  std::vector<std::unique_ptr<Worker>> w;
  for (int k = 1; k <= 3; ++k) {
    w.push_back(std::make_unique<Worker>(config, "w" + std::to_string(k), log));
    w.back()->process.Start();
  }
  // The shards end up divided: 64 in all, none twice, every worker a part, every session up.
  auto divided = [&] {
    std::set<int> all;
    size_t sum = 0;
    for (auto& x : w) {
      json s = x->Status(auth);
      if (!s.is_object() || s["shards"].empty() || s.value("mqtt", "") != "connected") return false;
      for (int shard : s["shards"]) all.insert(shard), ++sum;
    }
    return all.size() == 64 && sum == 64;
  };
  ASSERT_TRUE(WaitFor(divided, 90)) << testing::ReadFile(log);
  json s1 = w[0]->Status(auth);
  EXPECT_EQ(s1["worker_id"], "w1");
  EXPECT_TRUE(s1["lease_expires"].is_string()) << s1.dump();

  ArmAlerts(w[0]->client, auth, receiver.url("/pg"));
  if (HasFatalFailure()) return;
  Publisher pub(broker.port(), "scale-publisher");
  int i = 0;
  for (; i < 3; ++i) PublishStep(pub, i);
  auto stored = [&](Worker& x) -> int64_t {
    json s = x.Status(auth);
    return s.is_object() ? s["readings"].get<int64_t>() + s["quarantined"].get<int64_t>() : -1;
  };
  ASSERT_TRUE(WaitFor([&] { return stored(*w[2]) > kMeters; }, 120)) << testing::ReadFile(log);
  EXPECT_TRUE(WIFSIGNALED(w[0]->process.Kill(SIGKILL)));  // mid-stream: its shards' messages queue
  for (; i < 6; ++i) PublishStep(pub, i);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(WIFSIGNALED(w[1]->process.Kill(SIGKILL)));  // a bit later, maybe mid-takeover
  for (; i < kSteps; ++i) PublishStep(pub, i);
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 120));
  const int64_t total = int64_t{kMeters} * kSteps;
  ASSERT_TRUE(WaitFor([&] { return stored(*w[2]) >= total; }, 300)) << "stored " << stored(*w[2]) << " of " << total;
  json s = w[2]->Status(auth);
  EXPECT_EQ(s["readings"].get<int64_t>() + s["quarantined"].get<int64_t>(), total) << s.dump();  // once each
  EXPECT_EQ(s["shards"].size(), 64u) << s.dump();
  auto metrics = w[2]->client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("meterhub_shards_owned 64"), std::string::npos);
  EXPECT_NE(metrics->body.find("meterhub_lease_renewals_total"), std::string::npos);
  const Verdicts pg = PostgresVerdicts(url_);

  // Every alert reached the receiver, none twice: dispatch claims a delivery (fenced by the
  // "alerts" lease) before sending it, so a takeover never re-sends what a live worker sent. A
  // worker killed after the receiver got a request and before recording its answer leaves that
  // delivery to be sent again, with the same Idempotency-Key — HTTP's limit (docs/scale.md) —
  // which the receiver, as a real one does, takes as a replay, not a second alert. Each SIGKILL
  // can leave at most the killed dispatcher's threads' sends (2) in that window.
  const std::set<std::string> alert_ids = PostgresColumn(url_, "SELECT id::text FROM alerts");
  ASSERT_FALSE(alert_ids.empty()) << "the data raised no alert";
  ASSERT_TRUE(WaitFor([&] {
    return PostgresColumn(url_, "SELECT id::text FROM deliveries WHERE status <> 'sent'").empty();
  }, 120)) << testing::ReadFile(log);
  std::set<std::string> received;
  for (const auto& [id, n] : receiver.by_alert("/pg")) {
    received.insert(id);
    EXPECT_EQ(n, 1) << "alert " << id << " delivered " << n << " times";
  }
  EXPECT_EQ(received, alert_ids);
  EXPECT_LE(receiver.replayed("/pg"), 2 * 2) << "more deliveries were sent again than two kills can leave in flight";
  std::printf("[ alerts ] %zu alerts, each received once; %lld sent again after a kill (same Idempotency-Key)\n",
              received.size(), static_cast<long long>(receiver.replayed("/pg")));
  EXPECT_EQ(WEXITSTATUS(w[2]->process.Kill(SIGTERM)), 0);

  // The same data through one worker on SQLite (its own broker): the same verdicts. Both runs
  // estimate gaps (a quarantined reading's interval is estimated), which must change no verdict
  // across the takeovers.
  app::LocalBroker broker2;
  ASSERT_TRUE(broker2.Start(dir_ / "broker2").ok());
  const std::string sqlite_config = dir_ / "sqlite.toml";
  const int port = app::FreeLoopbackPort();
  testing::WriteFile(sqlite_config, "[store]\npath = \"" + (dir_ / "one.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                        std::to_string(port) + "\"\n[mqtt]\nbroker = \"" + broker2.address() +
                                        "\"\n[ingest]\nauto_register = true\n[alerts.webhook]\nallow_private = true\n[vee]\nestimation = true\n");
  auto token2 = RunCommand(MeterhubBinary() + " token create --role admin --config " + sqlite_config);
  ASSERT_EQ(token2.exit_code, 0) << token2.output;
  const httplib::Headers auth2{{"Authorization", "Bearer " + token2.output.substr(0, token2.output.find('\n'))}};
  testing::ServeProcess one(sqlite_config, dir_ / "sqlite.log");
  one.Start();
  httplib::Client c("127.0.0.1", port);
  auto status2 = [&]() -> json {
    auto r = c.Get("/api/v1/status", auth2);
    return r && r->status == 200 ? json::parse(r->body) : json();
  };
  ASSERT_TRUE(WaitFor([&] {
    json t = status2();
    return t.is_object() && t.value("mqtt", "") == "connected";
  }, 60)) << testing::ReadFile(dir_ / "sqlite.log");
  ArmAlerts(c, auth2, receiver.url("/lite"));
  if (HasFatalFailure()) return;
  Publisher pub2(broker2.port(), "scale-publisher-2");
  for (int k = 0; k < kSteps; ++k) PublishStep(pub2, k);
  ASSERT_TRUE(WaitFor([&] {
    json t = status2();
    return t.is_object() && t["readings"].get<int64_t>() + t["quarantined"].get<int64_t>() >= total;
  }, 300));
  json t = status2();
  EXPECT_EQ(t["readings"], s["readings"]);
  EXPECT_EQ(t["quarantined"], s["quarantined"]);
  EXPECT_EQ(WEXITSTATUS(one.Kill(SIGTERM)), 0);
  const Verdicts lite = SqliteVerdicts(dir_ / "one.db");
  EXPECT_FALSE(lite.empty());  // the data does produce verdicts to compare
  EXPECT_EQ(pg, lite);
  ASSERT_TRUE(WaitFor([&] { return receiver.by_alert("/lite").size() >= alert_ids.size(); }, 60));
  EXPECT_EQ(receiver.by_alert("/lite").size(), alert_ids.size());  // the same alerts as one SQLite worker
}

// Posted readings (SPEC 7, docs/scale.md): a worker commits only its own shards' readings (fenced
// by their leases); a batch of the other worker's shards is forwarded to it and its answer relayed;
// a batch spanning both is split, each part stored by its owner (a forwarded one is refused with
// 421 naming the owners, never split again); a relay's forwarded batch goes to its relay meter's
// shard's holder; one whose owner was just killed
// answers 503 + Retry-After until the takeover, then is stored — once.
TEST_F(PostgresWorkersTest, PostedReadingsAreCommittedByTheirShardsOwnerOnly) {
  if (url_.empty()) return;
  const std::string config = HttpOnlyConfig();
  const httplib::Headers auth = AdminToken(config);
  const std::string log = dir_ / "http-workers.log";
  Worker a(config, "wa", log), b(config, "wb", log);
  a.process.Start();
  b.process.Start();
  std::set<int> of_b;
  ASSERT_TRUE(WaitFor([&] {
    json sa = a.Status(auth), sb = b.Status(auth);
    if (!sa.is_object() || !sb.is_object() || sa["shards"].size() != 32 || sb["shards"].size() != 32) return false;
    for (int shard : sb["shards"]) of_b.insert(shard);
    return true;
  }, 60)) << testing::ReadFile(log);
  // a's view of the other worker's leases is as old as a's last lease round: wait for two more
  // rounds, so that it was read after b claimed its shards.
  const double rounds = a.Metric("meterhub_lease_renewals_total");
  ASSERT_TRUE(WaitFor([&] { return a.Metric("meterhub_lease_renewals_total") >= rounds + 2; }, 30));
  std::string mine, theirs;  // a meter of a's shards, one of b's
  for (int m = 0; m < 10000 && (mine.empty() || theirs.empty()); ++m) {
    const std::string id = "HT" + std::to_string(m);
    std::string& slot = of_b.count(ShardOf(id)) != 0 ? theirs : mine;
    if (slot.empty()) slot = id;
  }
  ASSERT_FALSE(mine.empty() || theirs.empty());
  auto reading = [](const std::string& meter, int step) {
    return json{{"meter", meter}, {"ts", 1603980000 + step * 900}, {"value", 10.0 + step}};
  };
  auto post = [&](Worker& w, const json& batch) {
    return w.client.Post("/api/v1/readings", auth, batch.dump(), "application/json");
  };
  auto stored = [&](const std::string& meter) {
    return PostgresColumn(url_, "SELECT ts::text FROM readings WHERE meter_id = '" + meter + "'").size();
  };

  auto r = post(a, json::array({reading(theirs, 0), reading(theirs, 1)}));  // b's: forwarded
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-MeterHub-Worker"), "wb");
  EXPECT_EQ(json::parse(r->body)["accepted"], 2) << r->body;
  EXPECT_EQ(stored(theirs), 2u);
  r = post(a, json::array({reading(mine, 0)}));  // a's own: committed here
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("X-MeterHub-Worker"), "");
  r = post(a, json::array({reading(mine, 1), reading(theirs, 2), reading("bad meter", 1)}));  // both: split
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const json split = json::parse(r->body);
  EXPECT_EQ(split["received"], 3) << r->body;
  EXPECT_EQ(split["accepted"], 2) << r->body;
  EXPECT_EQ(stored(mine), 2u);
  EXPECT_EQ(stored(theirs), 3u);
  // Sent again (a client's retry): each owner recognises its part.
  r = post(a, json::array({reading(mine, 1), reading(theirs, 2)}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["duplicates"], 2) << r->body;
  // A request forwarded once is never split again: refused, naming the owners.
  httplib::Headers forwarded = auth;
  forwarded.emplace("X-MeterHub-Forwarded-By", "wc");
  r = b.client.Post("/api/v1/readings", forwarded, json::array({reading(mine, 2), reading(theirs, 4)}).dump(),
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421) << r->body;
  const json refused = json::parse(r->body);
  EXPECT_EQ(refused["error"]["code"], "misdirected");
  EXPECT_EQ(refused["owners"][std::to_string(ShardOf(mine))]["worker_id"], "wa") << r->body;
  EXPECT_EQ(stored(mine), 2u);
  EXPECT_EQ(stored(theirs), 3u);
  // A relay's forwarded batch goes to the holder of the relay meter's shard (here: an origin no
  // relay registered, which that holder answers for).
  auto relayed = [&](const std::string& relay) {
    const std::string body = json{{"relay", relay}, {"origin", "NOBODY1"}, {"failure_code", 1},
                                  {"readings", json::array({{{"ts", 1603980000}, {"value", 1.0}}})},
                                  {"tag", std::string(64, '0')}}.dump();
    return a.client.Post("/api/v1/relay/forward", auth, body, "application/json");
  };
  r = relayed(theirs);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-MeterHub-Worker"), "wb") << r->status << " " << r->body;
  EXPECT_NE(r->status, 200) << r->body;
  r = relayed(mine);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-MeterHub-Worker"), "") << r->status << " " << r->body;
  EXPECT_NE(r->status, 200) << r->body;

  EXPECT_TRUE(WIFSIGNALED(b.process.Kill(SIGKILL)));
  r = post(a, json::array({reading(theirs, 3)}));  // b's lease has not lapsed: nobody may store it yet
  ASSERT_TRUE(r);
  if (r->status == 503) EXPECT_FALSE(r->get_header_value("Retry-After").empty()) << r->body;
  else EXPECT_EQ(r->status, 200) << r->body;  // (a slow machine: a took over already)
  ASSERT_TRUE(WaitFor([&] {
    auto again = post(a, json::array({reading(theirs, 3)}));
    return again && again->status == 200;
  }, 60)) << testing::ReadFile(log);
  EXPECT_EQ(stored(theirs), 4u);  // once
  EXPECT_EQ(WEXITSTATUS(a.process.Kill(SIGTERM)), 0);
}

// `meterhub import` on PostgreSQL (docs/scale.md): refused while a live worker holds shards — the
// message names the worker and what to do — and it then imports once the worker stopped.
TEST_F(PostgresWorkersTest, ImportIsRefusedWhileAWorkerHoldsShards) {
  if (url_.empty()) return;
  const std::string config = HttpOnlyConfig();
  const httplib::Headers auth = AdminToken(config);
  const std::string log = dir_ / "import-worker.log";
  const std::string csv = dir_ / "history.csv";
  std::string rows = "meter_id,timestamp,value\n";
  for (int i = 0; i < 8; ++i) rows += "IM" + std::to_string(i) + ",2020-10-29T00:00:00+08:00," + std::to_string(100 + i) + "\n";
  testing::WriteFile(csv, rows);
  auto count = [&] { return PostgresColumn(url_, "SELECT meter_id || ts FROM readings WHERE meter_id LIKE 'IM%'").size(); };
  {
    Worker w(config, "wi", log);
    w.process.Start();
    ASSERT_TRUE(WaitFor([&] { json s = w.Status(auth); return s.is_object() && s["shards"].size() == 64; }, 60))
        << testing::ReadFile(log);
    auto run = RunCommand(MeterhubBinary() + " import " + csv + " --config " + config);
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_NE(run.output.find("wi (64 shard(s))"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("stop the workers"), std::string::npos) << run.output;
    EXPECT_EQ(count(), 0u);
    EXPECT_EQ(WEXITSTATUS(w.process.Kill(SIGTERM)), 0);  // gives its leases back
  }
  auto run = RunCommand(MeterhubBinary() + " import " + csv + " --config " + config);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(count(), 8u);
  Worker again(config, "wj", log);  // the import gave the shards back
  again.process.Start();
  EXPECT_TRUE(WaitFor([&] { json s = again.Status(auth); return s.is_object() && s["shards"].size() == 64; }, 60))
      << testing::ReadFile(log);
}

// A worker told to listen on any free port ("--listen 127.0.0.1:0") advertises the port it was
// bound to, so the others can forward to it — not ":0", which nobody can reach.
TEST_F(PostgresWorkersTest, AWorkerOnAnyFreePortAdvertisesTheBoundPort) {
  if (url_.empty()) return;
  const std::string config = HttpOnlyConfig();
  const httplib::Headers auth = AdminToken(config);
  const std::string log = dir_ / "any-port.log";
  testing::ChildProcess w({"serve", "--config", config, "--worker-id", "wz", "--listen", "127.0.0.1:0"}, log);
  w.Start();
  std::string listen;
  ASSERT_TRUE(WaitFor([&] {
    const std::set<std::string> got = PostgresColumn(url_, "SELECT listen FROM workers WHERE worker_id = 'wz'");
    listen = got.empty() ? "" : *got.begin();
    return !listen.empty();
  }, 30)) << testing::ReadFile(log);
  ASSERT_EQ(listen.rfind("127.0.0.1:", 0), 0u) << listen;
  const int port = std::stoi(listen.substr(listen.rfind(':') + 1));
  ASSERT_GT(port, 0) << listen;
  httplib::Client client("127.0.0.1", port);
  auto r = client.Get("/api/v1/status", auth);
  ASSERT_TRUE(r) << listen;
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["worker_id"], "wz") << r->body;
}

}  // namespace
}  // namespace mh
