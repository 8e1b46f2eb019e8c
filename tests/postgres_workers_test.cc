// Scale-out end to end (SPEC 7, docs/scale.md): three real `meterhub serve` workers on one
// PostgreSQL (support/postgres_server.h) and one Mosquitto, lease period 2 s. A publisher sends
// readings of 2,000 meters at QoS 1; one worker is SIGKILLed mid-stream and a second one a bit
// later. Then every reading the broker acknowledged is stored exactly once, the survivor owns all
// 64 shards, and each meter's verdicts equal a single-worker SQLite run on the same data.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "app/local_broker.h"
#include "store/postgres/pg_db.h"
#include "support/mqtt_publisher.h"
#include "support/postgres_server.h"
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

// A worker: `serve --worker-id --listen` on the shared config.
struct Worker {
  Worker(const std::string& config, const std::string& id, const std::string& log)
      : port(app::FreeLoopbackPort()),
        process({"serve", "--config", config, "--worker-id", id, "--listen", "127.0.0.1:" + std::to_string(port)}, log),
        client("127.0.0.1", port) {}
  json Status(const httplib::Headers& auth) {
    auto r = client.Get("/api/v1/status", auth);
    return r && r->status == 200 ? json::parse(r->body) : json();
  }
  int port;
  ChildProcess process;
  httplib::Client client;
};

class PostgresWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresDatabase("workers");
    if (url_.empty()) return;
    testing::WriteFile(dir_ / "ledger.key", std::string(kLedgerKeyHex) + "\n");
    ::chmod((dir_ / "ledger.key").c_str(), 0600);
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
  const std::string common = "[mqtt]\nbroker = \"" + broker.address() + "\"\n[ingest]\nauto_register = true\n[log]\nlevel = \"info\"\n";
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
  EXPECT_EQ(WEXITSTATUS(w[2]->process.Kill(SIGTERM)), 0);

  // The same data through one worker on SQLite (its own broker): the same verdicts.
  app::LocalBroker broker2;
  ASSERT_TRUE(broker2.Start(dir_ / "broker2").ok());
  const std::string sqlite_config = dir_ / "sqlite.toml";
  const int port = app::FreeLoopbackPort();
  testing::WriteFile(sqlite_config, "[store]\npath = \"" + (dir_ / "one.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                        std::to_string(port) + "\"\n[mqtt]\nbroker = \"" + broker2.address() +
                                        "\"\n[ingest]\nauto_register = true\n");
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
}

}  // namespace
}  // namespace mh
