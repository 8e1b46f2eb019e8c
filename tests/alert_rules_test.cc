// Issue 17 items 5–6 over the daemon's REST API, as an operator meets them: meter groups
// ([groups.NAME], joined with PUT /api/v1/meters/{id}) with a peak of several ranges, alert limits
// per group and per customer ([customers.ID]), quiet hours, and T1/T2 learned again when a
// meter's group (and so its peak) changes.
#include <mosquitto.h>

#include <ctime>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "app/webhook_receiver.h"
#include "core/meter_id.h"
#include "support/api_daemon.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::ApiDaemon;

// Hourly readings: days of 6 (07-01) and 9 (07-10) in the two peak ranges, steps of at most 6
// (T2 = 7.8 either way, so the second range's readings pass as they arrive); 07-11 uses 8, and
// 07-12 goes over 9 at 03:00 and stays over it at every reading after.
json Readings(const std::string& meter) {
  const std::vector<std::pair<const char*, double>> rows = {
      {"2020-07-01T00:00:00+08:00", 100}, {"2020-07-01T01:00:00+08:00", 106}, {"2020-07-01T02:00:00+08:00", 106},
      {"2020-07-10T00:00:00+08:00", 110}, {"2020-07-10T01:00:00+08:00", 116}, {"2020-07-10T02:00:00+08:00", 119},
      {"2020-07-11T01:00:00+08:00", 122}, {"2020-07-11T02:00:00+08:00", 125}, {"2020-07-11T03:00:00+08:00", 127},
      {"2020-07-12T01:00:00+08:00", 129}, {"2020-07-12T02:00:00+08:00", 133}, {"2020-07-12T03:00:00+08:00", 137},
      {"2020-07-12T04:00:00+08:00", 139}, {"2020-07-12T05:00:00+08:00", 141}, {"2020-07-12T06:00:00+08:00", 143},
  };
  json batch = json::array();
  for (const auto& [ts, value] : rows) batch.push_back({{"meter", meter}, {"ts", ts}, {"value", value}});
  return batch;
}

// "HH:MM-HH:MM" in UTC+8 around the present: a span the test runs inside.
std::string QuietSpanAroundNow() {
  const std::time_t now = std::time(nullptr) + 8 * 3600;
  std::tm tm{};
  gmtime_r(&now, &tm);
  auto hhmm = [](int minutes) {
    minutes = ((minutes % 1440) + 1440) % 1440;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
    return std::string(buf);
  };
  const int m = tm.tm_hour * 60 + tm.tm_min;
  return hhmm(m - 60) + "-" + hhmm(m + 120);
}

class AlertRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(receiver_.Start().ok());
    daemon_ = std::make_unique<ApiDaemon>("alert_rules", [](app::Config& c) {
      c.alerts.webhook.allow_private = true;
      c.vee.peak = {"2020-07-01..2020-07-01"};  // meters of no group: today's single range
      app::Config::Group summer;
      summer.peak = {"07-01..07-01", "2020-07-10..2020-07-10"};  // yearly July 1st plus a holiday
      summer.max_alerts_per_period = 2;
      summer.keys = {"peak", "max_alerts_per_period"};
      c.groups["summer"] = summer;
      app::Config::Group night = summer;
      night.quiet_hours = QuietSpanAroundNow();
      night.keys.insert("quiet_hours");
      c.groups["night"] = night;
      c.customers["C2"].max_alerts_per_period = 3;
    });
    ASSERT_TRUE(daemon_->started());
  }

  void Meter(const std::string& id, const std::string& customer, const std::string& group) {
    auto reg = daemon_->Post("/api/v1/meters", json{{"meter_id", id}, {"customer_id", customer}, {"interval_s", 3600},
                                                    {"timezone", "+08:00"}}.dump());
    ASSERT_EQ(reg->status, 201) << reg->body;
    auto bind = daemon_->Post("/api/v1/meters/" + id + "/terminals",
                              json{{"terminal_id", "t-" + id}, {"channel", "webhook"},
                                   {"address", receiver_.url("/" + id)}}.dump());
    ASSERT_EQ(bind->status, 201) << bind->body;
    if (group.empty()) return;
    auto put = daemon_->Put("/api/v1/meters/" + id, json{{"group", group}}.dump());
    ASSERT_EQ(put->status, 200) << put->body;
    EXPECT_EQ(json::parse(put->body)["group"], group);
  }

  json MeterInfo(const std::string& id) { return json::parse(daemon_->Get("/api/v1/meters/" + id)->body); }
  size_t Alerts(const std::string& id, const std::string& period_start = "") {
    size_t n = 0;
    auto r = daemon_->Get("/api/v1/alerts?meter=" + id);
    EXPECT_EQ(r->status, 200) << r->body;
    const json body = json::parse(r->body);
    for (const auto& a : body["alerts"])
      n += period_start.empty() || a["period_start"] == period_start;
    return n;
  }

  app::WebhookReceiver receiver_;
  std::unique_ptr<ApiDaemon> daemon_;
};

TEST_F(AlertRulesTest, GroupPeakOfSeveralRangesAndLimitsPerGroupAndCustomer) {
  Meter("G1", "C1", "summer");   // the group's limit: 2
  Meter("G2", "C2", "summer");   // the customer's own limit: 3
  Meter("P1", "C1", "");         // no group: the [vee] peak and limit 1
  for (const char* id : {"G1", "G2", "P1"}) {
    auto r = daemon_->Post("/api/v1/readings", Readings(id).dump());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  // T1 from both ranges of the group's peak (the larger day, 9); from the first only without it.
  EXPECT_EQ(MeterInfo("G1")["thresholds"]["t1"], 9.0);
  EXPECT_EQ(MeterInfo("G2")["thresholds"]["t1"], 9.0);
  EXPECT_EQ(MeterInfo("P1")["thresholds"]["t1"], 6.0);
  // 07-12 exceeds T1 = 9 at four readings: the group allows 2 alerts, customer C2 allows 3.
  const std::string day = "2020-07-11T16:00:00Z";  // 2020-07-12 in +08:00
  EXPECT_EQ(Alerts("G1", day), 2u);
  EXPECT_EQ(Alerts("G2", day), 3u);
  // P1 (T1 = 6, one alert a day): 07-10 (9), 07-11 (8) and 07-12 went over 6. The groups' meters
  // alerted on 07-10 too: until the second range ended, T1 was the first range's 6.
  EXPECT_EQ(Alerts("P1"), 3u);
  EXPECT_EQ(Alerts("P1", day), 1u);
  EXPECT_EQ(Alerts("G1"), 3u);

  // P1 joins the group: its peak definition changed, so T1/T2 are learned again at its next reading.
  auto put = daemon_->Put("/api/v1/meters/P1", json{{"group", "summer"}}.dump());
  ASSERT_EQ(put->status, 200) << put->body;
  auto r = daemon_->Post("/api/v1/readings",
                         json::array({{{"meter", "P1"}, {"ts", "2020-07-13T01:00:00+08:00"}, {"value", 144}}}).dump());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(MeterInfo("P1")["thresholds"]["t1"], 9.0);
  // And back out of every group: the [vee] peak again.
  put = daemon_->Put("/api/v1/meters/P1", json{{"group", nullptr}}.dump());
  ASSERT_EQ(put->status, 200) << put->body;
  EXPECT_TRUE(json::parse(put->body)["group"].is_null());
  r = daemon_->Post("/api/v1/readings",
                    json::array({{{"meter", "P1"}, {"ts", "2020-07-13T02:00:00+08:00"}, {"value", 145}}}).dump());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(MeterInfo("P1")["thresholds"]["t1"], 6.0);

  // Registering the meter again keeps its group; an unknown group, another field or a read-only
  // token are refused.
  EXPECT_EQ(daemon_->Put("/api/v1/meters/G1", json{{"group", "winter"}}.dump())->status, 400);
  EXPECT_NE(daemon_->Put("/api/v1/meters/G1", json{{"group", "winter"}}.dump())->body.find("night, summer"),
            std::string::npos);
  EXPECT_EQ(daemon_->Put("/api/v1/meters/G1", json{{"kind", "water"}}.dump())->status, 400);
  EXPECT_EQ(daemon_->Put("/api/v1/meters/NOPE", json{{"group", "summer"}}.dump())->status, 404);
  EXPECT_EQ(daemon_->Put("/api/v1/meters/G1", json{{"group", "night"}}.dump(),
                         daemon_->Token(api::Role::kCustomer, "C1"))->status, 403);
  daemon_->Register("G1", "C1");
  EXPECT_EQ(MeterInfo("G1")["group"], "summer");
}

TEST_F(AlertRulesTest, AlertsWaitDuringQuietHours) {
  Meter("N1", "C1", "night");   // quiet hours around the present
  Meter("S1", "C1", "summer");  // none
  for (const char* id : {"N1", "S1"}) ASSERT_EQ(daemon_->Post("/api/v1/readings", Readings(id).dump())->status, 200);
  ASSERT_EQ(Alerts("N1"), 3u);
  ASSERT_EQ(Alerts("S1"), 3u);
  // The alerts outside quiet hours go out; the others are recorded, pending, due after the span.
  ASSERT_TRUE(testing::WaitFor([&] { return receiver_.received("/S1") == 3; }, 10));
  const int64_t now_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  auto d = json::parse(daemon_->Get("/api/v1/deliveries?meter=N1")->body);
  ASSERT_EQ(d["deliveries"].size(), 3u) << d.dump();
  for (const auto& delivery : d["deliveries"]) {
    EXPECT_EQ(delivery["status"], "pending");
    EXPECT_GT(delivery["next_attempt_at_ms"].get<int64_t>(), now_ms + 60 * 60 * 1000) << delivery.dump();
  }
  EXPECT_EQ(receiver_.received("/N1"), 0);
}

// A meter's MQTT session listening to its commands.
class CommandListener {
 public:
  CommandListener(int port, const std::string& meter) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(("listener-" + meter).c_str(), true, this);
    mosquitto_connect_callback_set(mosq_, [](struct mosquitto*, void* self, int rc) {
      static_cast<CommandListener*>(self)->connack_ = rc;
    });
    mosquitto_subscribe_callback_set(mosq_, [](struct mosquitto*, void* self, int, int, const int*) {
      static_cast<CommandListener*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](struct mosquitto*, void* self, const struct mosquitto_message* m) {
      auto* l = static_cast<CommandListener*>(self);
      std::lock_guard<std::mutex> lock(l->mu_);
      l->received_.emplace_back(m->topic, std::string(static_cast<const char*>(m->payload), m->payloadlen));
    });
    mosquitto_connect(mosq_, "127.0.0.1", port, 30);
    mosquitto_loop_start(mosq_);
    EXPECT_TRUE(testing::WaitFor([this] { return connack_ == 0; }, 10));
    mosquitto_subscribe(mosq_, nullptr, ("meters/+/" + meter + "/commands").c_str(), 1);
    EXPECT_TRUE(testing::WaitFor([this] { return subscribed_.load(); }, 10));
  }
  ~CommandListener() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, true);
    mosquitto_destroy(mosq_);
  }
  std::vector<std::pair<std::string, std::string>> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  struct mosquitto* mosq_;
  std::atomic<int> connack_{-1};
  std::atomic<bool> subscribed_{false};
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> received_;
};

// Issue 17 item 8: the server sets a meter's upload interval — a command on the meter's command
// topic — and gap detection follows the new interval from the next reading.
TEST(UploadInterval, CommandReachesTheMeterAndGapsFollowIt) {
  if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
  testing::TempDir broker_dir("upload_interval_broker");
  app::LocalBroker broker;
  ASSERT_TRUE(broker.Start(broker_dir.path()).ok());
  ApiDaemon d("upload_interval", [&](app::Config& c) {
    c.mqtt.broker = broker.address();
    c.vee.max_interval_consumption = 10;  // the physical ceiling per nominal interval: k x 10
  });
  ASSERT_TRUE(d.started());
  d.Register("M1", "C1");  // 15-minute interval
  CommandListener meter(broker.port(), "M1");

  // Hourly readings of a 15-minute meter: k = 4, so 30 kWh in an hour is within 4 x 10.
  auto post = [&](const char* ts, double value) {
    auto r = d.Post("/api/v1/readings", json{{"meter", "M1"}, {"ts", ts}, {"value", value}}.dump());
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  };
  post("2020-07-01T00:00:00+08:00", 100);
  EXPECT_EQ(post("2020-07-01T01:00:00+08:00", 130)["accepted"], 1);

  auto put = d.Put("/api/v1/meters/M1", json{{"interval_s", 3600}}.dump());
  ASSERT_EQ(put->status, 200) << put->body;
  const json answer = json::parse(put->body);
  EXPECT_EQ(answer["interval_s"], 3600);
  EXPECT_EQ(answer["command"]["result"], "sent");
  EXPECT_EQ(answer["command"]["changed"], true);
  ASSERT_TRUE(testing::WaitFor([&] { return !meter.received().empty(); }, 10)) << "no command reached the meter";
  const auto [topic, payload] = meter.received().front();
  EXPECT_EQ(topic, "meters/" + std::to_string(ShardOf("M1")) + "/M1/commands");
  EXPECT_EQ(json::parse(payload), json::parse(R"({"type":"upload_interval","seconds":3600})"));

  // Now one interval is an hour: the same 30 kWh in an hour is over 1 x 10, so `sudden`.
  EXPECT_EQ(post("2020-07-01T02:00:00+08:00", 160)["quarantined"]["sudden"], 1);
  EXPECT_EQ(d.Put("/api/v1/meters/M1", json{{"interval_s", 0}}.dump())->status, 400);
  EXPECT_EQ(d.Put("/api/v1/meters/M1", json{{"interval_s", "1h"}}.dump())->status, 400);
}

}  // namespace
}  // namespace mh
