// MeterHub on PostgreSQL end to end: a PostgreSQL the test starts (support/postgres_server.h), a
// real Mosquitto, and the real `meterhub` binary with `[store] backend = "postgres"` — token
// creation, `serve` storing readings published at QoS 1 (SIGKILLed mid-stream and restarted:
// every acknowledged reading stored exactly once), the REST API reading them back, `import`
// into the database, and the offline ledger tools on the postgresql:// URL.
#include <signal.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "audit/ledger/ledger.h"
#include "crypto/crypto.h"
#include "store/postgres/pg_ledger_store.h"
#include "support/mqtt_publisher.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::MeterhubBinary;
using testing::Publisher;
using testing::RunCommand;
using testing::ServeProcess;
using testing::TempDir;
using testing::WaitFor;

constexpr char kLedgerKeyHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

class PostgresServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::PostgresDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
    if (url_.empty()) return;  // skipped (no server binaries) or failed
    testing::WriteFile(dir_ / "ledger.key", std::string(kLedgerKeyHex) + "\n");
    ::chmod((dir_ / "ledger.key").c_str(), 0600);
    config_ = dir_ / "meterhub.toml";
  }
  void WriteConfig(const std::string& extra) {
    testing::WriteFile(config_, "[store]\nbackend = \"postgres\"\nurl = \"" + url_ + "\"\n[audit]\nkey_file = \"" +
                                    (dir_ / "ledger.key") + "\"\n" + extra);
  }
  std::string Meterhub(const std::string& args) { return MeterhubBinary() + " " + args; }

  TempDir dir_{"pg-serve"};
  std::string url_, config_;
};

TEST_F(PostgresServeTest, ServeStoresQos1ReadingsExactlyOnceAcrossASigkill) {
  if (url_.empty()) return;
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  app::LocalBroker broker;
  ASSERT_TRUE(broker.Start(dir_ / "broker").ok()) << "broker did not start";
  const int http_port = app::FreeLoopbackPort();
  WriteConfig("[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) + "\"\n[mqtt]\nbroker = \"" +
              broker.address() + "\"\n[ingest]\nauto_register = true\n[log]\nlevel = \"info\"\n");
  auto token_run = RunCommand(Meterhub("token create --role admin --config " + config_));
  ASSERT_EQ(token_run.exit_code, 0) << token_run.output;
  const std::string token = token_run.output.substr(0, token_run.output.find('\n'));
  httplib::Client c("127.0.0.1", http_port);
  const httplib::Headers auth{{"Authorization", "Bearer " + token}};
  auto status = [&]() -> json {
    auto r = c.Get("/api/v1/status", auth);
    return r && r->status == 200 ? json::parse(r->body) : json();
  };
  auto up = [&] {
    json s = status();
    return s.is_object() && s.value("mqtt", "") == "connected";
  };
  auto stored = [&]() -> int64_t {
    json s = status();
    return s.is_null() ? -1 : s["readings"].get<int64_t>() + s["quarantined"].get<int64_t>();
  };

  constexpr int kMeters = 40, kPerMeter = 30;
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor(up, 60)) << testing::ReadFile(dir_ / "serve.log");
  Publisher pub(broker.port());
  auto step = [&](int i) {
    for (int m = 0; m < kMeters; ++m) {
      const std::string meter = "PG" + std::to_string(m);
      pub.Publish(meter, json{{"meter", meter}, {"ts", 1603980000 + i * 900}, {"value", 1000.0 + i * 0.25}}.dump());
    }
  };
  int i = 0;
  for (; i < kPerMeter / 3; ++i) step(i);
  ASSERT_TRUE(WaitFor([&] { return stored() > 0; }, 60)) << testing::ReadFile(dir_ / "serve.log");
  EXPECT_TRUE(WIFSIGNALED(serve.Kill(SIGKILL)));
  for (; i < 2 * kPerMeter / 3; ++i) step(i);  // queued by the broker for the persistent sessions
  ServeProcess again(config_, dir_ / "serve.log");
  again.Start();
  ASSERT_TRUE(WaitFor(up, 60)) << testing::ReadFile(dir_ / "serve.log");
  for (; i < kPerMeter; ++i) step(i);
  ASSERT_TRUE(WaitFor([&] { return pub.acked == pub.sent; }, 60));
  const int64_t total = int64_t{kMeters} * kPerMeter;
  ASSERT_TRUE(WaitFor([&] { return stored() >= total; }, 180)) << "stored " << stored() << " of " << total;
  json s = status();
  EXPECT_EQ(s["readings"], total);
  EXPECT_EQ(s["quarantined"], 0) << s.dump();

  // The REST API reads them back from PostgreSQL, in time order.
  auto r = c.Get("/api/v1/meters/PG7/readings", auth);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json rows = json::parse(r->body)["readings"];
  ASSERT_EQ(rows.size(), size_t{kPerMeter}) << r->body;
  EXPECT_EQ(rows[kPerMeter - 1]["value"], 1000.0 + (kPerMeter - 1) * 0.25);
  EXPECT_EQ(WEXITSTATUS(again.Kill(SIGTERM)), 0) << testing::ReadFile(dir_ / "serve.log");
}

TEST_F(PostgresServeTest, ImportThenTheLedgerToolsReadTheUrl) {
  if (url_.empty()) return;
  WriteConfig("");
  std::string csv = "meter_id,timestamp,value\n";
  for (int m = 0; m < 20; ++m)
    for (int k = 0; k < 10; ++k)
      csv += "IM" + std::to_string(m) + "," + std::to_string(1700000100 + 900 * k) + "," + std::to_string(10 + k) + "\n";
  testing::WriteFile(dir_ / "r.csv", csv);
  auto imported = RunCommand(Meterhub("import " + (dir_ / "r.csv") + " --config " + config_));
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  auto again = RunCommand(Meterhub("import " + (dir_ / "r.csv") + " --config " + config_));  // idempotent
  ASSERT_EQ(again.exit_code, 0) << again.output;

  // A ledger in the same database, as the workers' audit server writes it.
  {
    auto ls = store::OpenPostgresLedgerStore(store::PostgresLedgerOptions{url_});
    ASSERT_TRUE(ls.ok()) << ls.status().ToString();
    SimulatedClock clock(1700000000000);
    crypto::Bytes key = *crypto::HexDecode(kLedgerKeyHex);
    auto ledger = audit::ledger::Ledger::Open(**ls, clock, std::string(key.begin(), key.end()));
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    for (int k = 0; k < 6; ++k) {
      audit::ledger::Entry e{audit::ledger::EntryKey{"IM" + std::to_string(k % 2), k / 2, k}, "first-time", "p" + std::to_string(k)};
      ASSERT_TRUE((*ledger)->Append(e).ok());
    }
    clock.AdvanceMillis(1000);
    ASSERT_TRUE((*ledger)->Head().ok());
  }
  auto verified = RunCommand(Meterhub("ledger verify --ledger " + url_));
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_EQ(verified.output.rfind("ok 6 ", 0), 0u) << verified.output;
  auto exported = RunCommand(Meterhub("ledger export --ledger " + url_ + " --out " + (dir_ / "export")));
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
  auto from_dir = RunCommand(Meterhub("ledger verify --ledger " + (dir_ / "export")));
  EXPECT_EQ(from_dir.output, verified.output);

  // What was imported is in PostgreSQL: a serve on the same config reads it back.
  const int http_port = app::FreeLoopbackPort();
  WriteConfig("[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port) + "\"\n[mqtt]\nbroker = \"\"\n");
  auto token_run = RunCommand(Meterhub("token create --role admin --config " + config_));
  ASSERT_EQ(token_run.exit_code, 0) << token_run.output;
  const std::string token = token_run.output.substr(0, token_run.output.find('\n'));
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  httplib::Client c("127.0.0.1", http_port);
  const httplib::Headers auth{{"Authorization", "Bearer " + token}};
  ASSERT_TRUE(WaitFor([&] { auto r = c.Get("/api/v1/status", auth); return r && r->status == 200; }, 60))
      << testing::ReadFile(dir_ / "serve.log");
  json s = json::parse(c.Get("/api/v1/status", auth)->body);
  EXPECT_EQ(s["readings"], 200) << s.dump();
  auto r = c.Get("/api/v1/meters/IM3/readings", auth);
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["readings"].size(), 10u) << r->body;
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0) << testing::ReadFile(dir_ / "serve.log");
}

TEST_F(PostgresServeTest, ConfigRefusesPostgresWithoutAUrlOrALedgerKey) {
  testing::WriteFile(dir_ / "nourl.toml", "[store]\nbackend = \"postgres\"\n[audit]\nkey_file = \"/tmp/k\"\n");
  auto r = RunCommand(Meterhub("token create --role admin --config " + (dir_ / "nourl.toml")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("store.url"), std::string::npos) << r.output;
  testing::WriteFile(dir_ / "nokey.toml", "[store]\nbackend = \"postgres\"\nurl = \"postgresql://u@127.0.0.1:1/x\"\n");
  r = RunCommand(Meterhub("token create --role admin --config " + (dir_ / "nokey.toml")));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("audit.key_file"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mh
