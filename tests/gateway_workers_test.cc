// The gateway with two workers (issue 16's tests, SPEC 7): worker A runs the TCP gateway, worker B
// does not; both share one PostgreSQL (support/postgres_server.h) and one Mosquitto. A simulated
// DTU connects to A; its meter's shard is one that B owns. The reading A polls is published on the
// broker, judged and stored by B — exactly once — and A's pipeline never sees it.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <set>

#include "app/local_broker.h"
#include "core/meter_id.h"
#include "sim/protocol_devices.h"
#include "store/postgres/pg_db.h"
#include "support/postgres_server.h"
#include "support/serve_worker.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::WaitFor;

using Worker = testing::ServeWorker;

int64_t StoredReadings(const std::string& url, const std::string& meter) {
  auto db = store::pg::Connection::Open(url, "test");
  if (!db.ok()) return -1;
  auto r = (*db)->Query("SELECT count(*) FROM readings WHERE meter_id = $1", store::pg::Params().Text(meter), "count");
  return r.ok() && r->size() == 1 ? r->Int(0, 0) : -1;
}

TEST(GatewayWorkersTest, AGatewayReadingOfAMeterInAnotherWorkersShardIsJudgedByThatWorkerOnce) {
  const std::string url = testing::PostgresDatabase("gateway-workers");
  if (url.empty()) return;  // skipped (PostgreSQL binaries absent) or failed, with the reason
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  testing::TempDir dir("gateway-workers");
  app::LocalBroker broker;
  ASSERT_TRUE(broker.Start(dir / "broker").ok()) << "broker did not start";
  const int dtu_port = app::FreeLoopbackPort();
  // Every worker on PostgreSQL signs the ledger with one key.
  testing::WriteFile(dir / "ledger.key", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n");
  ::chmod((dir / "ledger.key").c_str(), 0600);
  const std::string common = "[store]\nbackend = \"postgres\"\nurl = \"" + url + "\"\n[audit]\nkey_file = \"" +
                             (dir / "ledger.key") + "\"\n[mqtt]\nbroker = \"" +
                             broker.address() + "\"\n[cluster]\nlease_period = \"2s\"\n[log]\nlevel = \"info\"\n";
  const std::string config_a = dir / "a.toml", config_b = dir / "b.toml";
  testing::WriteFile(config_a, common + "[gateway]\nlisten = \"127.0.0.1:" + std::to_string(dtu_port) +
                                   "\"\npoll_timeout = \"1s\"\npoll_retries = 1\npoll_interval = \"1s\"\n");
  testing::WriteFile(config_b, common);
  auto token = testing::RunCommand(testing::MeterhubBinary() + " token create --role admin --config " + config_a);
  ASSERT_EQ(token.exit_code, 0) << token.output;
  const httplib::Headers auth{{"Authorization", "Bearer " + token.output.substr(0, token.output.find('\n'))}};

  const std::string log = dir / "workers.log";
  Worker a(config_a, "wa", log), b(config_b, "wb", log);
  a.process.Start();
  b.process.Start();
  std::set<int> b_shards;
  auto divided = [&] {
    std::set<int> all;
    size_t sum = 0;
    b_shards.clear();
    for (Worker* w : {&a, &b}) {
      json s = w->Status(auth);
      if (!s.is_object() || s["shards"].empty() || s.value("mqtt", "") != "connected") return false;
      for (int shard : s["shards"]) all.insert(shard), ++sum;
      if (w == &b) b_shards = s["shards"].get<std::set<int>>();
    }
    return all.size() == static_cast<size_t>(kShardCount) && sum == all.size();
  };
  ASSERT_TRUE(WaitFor(divided, 90)) << testing::ReadFile(log);

  std::string meter;
  for (int n = 0; meter.empty(); ++n) {
    if (b_shards.count(ShardOf("GX" + std::to_string(n)))) meter = "GX" + std::to_string(n);
  }
  json body{{"meter_id", meter}, {"kind", "electricity"}, {"protocol", "dlt645"}, {"address", "000000000042"}, {"gateway", "DTUX"}};
  auto reg = a.client.Post("/api/v1/meters", auth, body.dump(), "application/json");
  ASSERT_TRUE(reg && reg->status == 201) << (reg ? reg->body : "no answer");

  // step 0: every poll within the quarter hour is the same reading.
  sim::SimDtu dtu("DTUX\n", {{"dlt645", "000000000042", 4321.5, 0, sim::MeterBehaviour::kAnswer}});
  ASSERT_TRUE(dtu.Start("127.0.0.1", dtu_port).ok());
  ASSERT_TRUE(WaitFor([&] { return StoredReadings(url, meter) >= 1; }, 60)) << testing::ReadFile(log);
  ASSERT_TRUE(WaitFor([&] { return dtu.answers() >= 4; }, 30)) << "a few more polls of the same quarter hour";
  ASSERT_TRUE(WaitFor([&] { return a.Metric("meterhub_gateway_readings_total") >= 4; }, 20));
  ASSERT_TRUE(WaitFor([&] { return b.Metric("meterhub_readings_received_total") >= 4; }, 20)) << "B judged every poll";
  EXPECT_EQ(StoredReadings(url, meter), 1) << "stored exactly once";
  EXPECT_EQ(a.Metric("meterhub_readings_received_total"), 0) << "A polled the meter but does not own its shard";
  EXPECT_EQ(a.Metric("meterhub_gateway_dtus"), 1);
  auto readings = b.client.Get("/api/v1/meters/" + meter + "/readings", auth);
  ASSERT_TRUE(readings && readings->status == 200);
  EXPECT_EQ(json::parse(readings->body)["readings"][0]["value"], 4321.5);
  dtu.Stop();
  EXPECT_EQ(WEXITSTATUS(a.process.Kill(SIGTERM)), 0);
  EXPECT_EQ(WEXITSTATUS(b.process.Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
