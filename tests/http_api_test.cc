// The REST API against a real daemon (in-process, SQLite in a temp dir) and a real webhook
// receiver: registration, terminals, readings in JSON and CSV, validation, alerts and their
// delivery log, roles, bad input, metrics and the OpenAPI document.
#include <httplib.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "relay/messages.h"
#include "app/daemon.h"
#include "app/webhook_receiver.h"
#include "support/api_daemon.h"
#include "support/relay_batches.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::TempDir;
using testing::WaitFor;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.started());
    daemon_ = &api_.daemon();
    client_ = &api_.client();
    admin_ = api_.admin();
  }

  httplib::Headers Auth(const std::string& token) { return testing::ApiDaemon::Auth(token); }
  httplib::Result Post(const std::string& path, const std::string& body, const std::string& type = "application/json",
                       const std::string& token = "") {
    return api_.Post(path, body, type, token);
  }
  httplib::Result Get(const std::string& path, const std::string& token = "") { return api_.Get(path, token); }
  void Register(const std::string& id, const std::string& customer, const std::string& kind = "electricity") {
    api_.Register(id, customer, kind);
  }

  testing::ApiDaemon api_{"http-api", [](app::Config& c) {
                            c.http.max_body_bytes = 1 << 20;
                            c.alerts.webhook.allow_private = true;  // the receivers here are on 127.0.0.1
                          }};
  app::Daemon* daemon_ = nullptr;
  httplib::Client* client_ = nullptr;
  std::string admin_;
};

TEST_F(HttpApiTest, RejectsRequestsWithoutAToken) {
  auto r = client_->Get("/api/v1/meters");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  auto body = json::parse(r->body);
  EXPECT_EQ(body["error"]["code"], "unauthenticated");
  auto bad = client_->Get("/api/v1/meters", Auth("mh_not_a_token"));
  EXPECT_EQ(bad->status, 401);
}

// GET /api/v1/consumption: one day of every meter, each in its zone, keyset-paged, and a
// customer sees their own meters only.
TEST_F(HttpApiTest, OneDaysConsumptionOfTheFleetIsPagedByMeter) {
  Register("M1", "C1");
  Register("M2", "C1");
  Register("M3", "C2");
  json batch = json::array({
      {{"meter", "M1"}, {"ts", "2020-10-29T00:00:00+08:00"}, {"value", 100.0}},  // closes the 28th
      {{"meter", "M1"}, {"ts", "2020-10-29T12:00:00+08:00"}, {"value", 104.0}},
      {{"meter", "M1"}, {"ts", "2020-10-30T00:00:00+08:00"}, {"value", 110.0}},  // closes the 29th
      {{"meter", "M2"}, {"ts", "2020-10-29T06:00:00+08:00"}, {"value", 50.0}},
  });
  ASSERT_EQ(Post("/api/v1/readings", batch.dump())->status, 200);

  auto first = json::parse(Get("/api/v1/consumption?date=2020-10-29&limit=2")->body);
  ASSERT_EQ(first["meters"].size(), 2u) << first.dump();
  EXPECT_EQ(first["meters"][0]["meter_id"], "M1");
  EXPECT_DOUBLE_EQ(first["meters"][0]["consumption"].get<double>(), 10.0);
  EXPECT_EQ(first["meters"][0]["readings"], 2);
  EXPECT_EQ(first["meters"][0]["unit"], "kWh");
  EXPECT_EQ(first["meters"][1]["meter_id"], "M2");
  EXPECT_EQ(first["meters"][1]["readings"], 1);
  EXPECT_EQ(first["next"], "M2");
  auto rest = json::parse(Get("/api/v1/consumption?date=2020-10-29&limit=2&after=M2")->body);
  ASSERT_EQ(rest["meters"].size(), 1u);
  EXPECT_EQ(rest["meters"][0]["meter_id"], "M3");
  EXPECT_TRUE(rest["meters"][0]["consumption"].is_null());
  EXPECT_TRUE(rest["next"].is_null());

  std::string customer = *api::CreateToken(*daemon_->store(), api::Role::kCustomer, "c2", "C2");
  auto own = json::parse(Get("/api/v1/consumption?date=2020-10-29&customer_id=C1", customer)->body);
  ASSERT_EQ(own["meters"].size(), 1u);
  EXPECT_EQ(own["meters"][0]["meter_id"], "M3");

  EXPECT_EQ(Get("/api/v1/consumption")->status, 400);
  EXPECT_EQ(Get("/api/v1/consumption?date=2020-02-30")->status, 400);
  EXPECT_EQ(Get("/api/v1/consumption?date=2020-10-29x")->status, 400);
}

TEST_F(HttpApiTest, ReadingsAreValidatedStoredAndAlertsReachTheWebhook) {
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  Register("M1", "C1");
  auto bind = Post("/api/v1/meters/M1/terminals",
                   json{{"terminal_id", "phone1"}, {"channel", "webhook"}, {"address", receiver.url("/hook")}}.dump());
  ASSERT_EQ(bind->status, 201) << bind->body;
  auto thr = client_->Put("/api/v1/meters/M1/threshold", Auth(admin_), json{{"threshold", 10.0}}.dump(), "application/json");
  ASSERT_EQ(thr->status, 200) << thr->body;

  // Day of 2020-10-29 (+08:00): base 200 at 00:00 closes the day before; 203 is ok (d=3);
  // 208 → period consumption 8; then 199 is an error; 215 → 15 > T1=10 → one alert; 220 → no
  // second alert for the same day (claim 7).
  json batch = json::array({
      {{"meter", "M1"}, {"ts", "2020-10-29T00:00:00+08:00"}, {"value", 200.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T00:15:00+08:00"}, {"value", 203.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T00:30:00+08:00"}, {"value", 208.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T00:45:00+08:00"}, {"value", 199.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T01:00:00+08:00"}, {"value", nullptr}},
      {{"meter", "M1"}, {"ts", "2020-10-29T01:15:00+08:00"}, {"value", 215.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T01:30:00+08:00"}, {"value", 220.0}},
  });
  auto r = Post("/api/v1/readings", batch.dump());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto s = json::parse(r->body);
  EXPECT_EQ(s["accepted"], 5);
  EXPECT_EQ(s["quarantined"]["error"], 1);
  EXPECT_EQ(s["quarantined"]["null"], 1);
  EXPECT_EQ(s["alerts"], 1);

  ASSERT_TRUE(WaitFor([&] { return receiver.received("/hook") == 1; }, 10)) << "the webhook never got the alert";
  auto alert = json::parse(receiver.samples("/hook").front());
  EXPECT_EQ(alert["meter"], "M1");
  EXPECT_DOUBLE_EQ(alert["reading"].get<double>(), 215.0);
  EXPECT_DOUBLE_EQ(alert["period_consumption"].get<double>(), 15.0);
  EXPECT_DOUBLE_EQ(alert["threshold"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(alert["excess"].get<double>(), 5.0);

  // Posting the same batch again stores nothing twice.
  auto again = Post("/api/v1/readings", batch.dump());
  ASSERT_EQ(again->status, 200) << again->body;
  EXPECT_EQ(json::parse(again->body)["accepted"], 0);
  EXPECT_EQ(json::parse(again->body)["alerts"], 0);

  auto readings = json::parse(Get("/api/v1/meters/M1/readings")->body);
  EXPECT_EQ(readings["readings"].size(), 5u);
  auto q = json::parse(Get("/api/v1/quarantine?meter=M1")->body);
  ASSERT_EQ(q["quarantine"].size(), 2u);
  auto day = json::parse(Get("/api/v1/meters/M1/consumption?period=day")->body);
  ASSERT_EQ(day["consumption"].size(), 2u);
  EXPECT_EQ(day["consumption"][1]["period_start"], "2020-10-29T00:00:00+08:00");
  EXPECT_DOUBLE_EQ(day["consumption"][1]["consumption"].get<double>(), 20.0);
  auto alerts = json::parse(Get("/api/v1/alerts?meter=M1")->body);
  ASSERT_EQ(alerts["alerts"].size(), 1u);
  EXPECT_EQ(alert["alert_id"], alerts["alerts"][0]["id"]);  // receivers de-duplicate on it
  EXPECT_GT(alert["alert_id"].get<int64_t>(), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto d = json::parse(Get("/api/v1/deliveries?meter=M1")->body);
    return d["deliveries"].size() == 1 && d["deliveries"][0]["status"] == "sent";
  }, 10));
  auto log = json::parse(Get("/api/v1/deliveries?meter=M1")->body)["deliveries"][0];
  ASSERT_EQ(log["attempts_log"].size(), 1u);  // every send is recorded: time, result
  EXPECT_EQ(log["attempts_log"][0]["result"], "sent");
  EXPECT_EQ(log["channel"], "webhook");
  EXPECT_EQ(log["content"]["meter"], "M1");
}

// Issue 18: with estimation on, a gap estimated inside the alerting period — the alert's REST JSON
// (the admin's and the customer's view) and the webhook say how much of the period consumption
// came from the estimates, the same part the consumption route reports.
TEST(AlertEstimatedPart, RestAndWebhookSayHowMuchIsEstimated) {
  testing::ApiDaemon api{"alert-estimated", [](app::Config& c) {
                           c.alerts.webhook.allow_private = true;
                           c.vee.estimation = true;
                         }};
  ASSERT_TRUE(api.started());
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  api.Register("M1", "C1");
  auto bind = api.Post("/api/v1/meters/M1/terminals",
                       json{{"terminal_id", "phone1"}, {"channel", "webhook"}, {"address", receiver.url("/hook")}}.dump());
  ASSERT_EQ(bind->status, 201) << bind->body;
  ASSERT_EQ(api.Put("/api/v1/meters/M1/threshold", json{{"threshold", 10.0}}.dump())->status, 200);

  // 00:15 → 01:15 is a gap of three 15-minute readings: estimated linearly (205, 208, 211, 3 kWh
  // each); 01:15 closes it with 214, 14 kWh since the day's base of 200 > T1 = 10 → one alert, 9
  // of its 14 kWh estimated.
  json batch = json::array({
      {{"meter", "M1"}, {"ts", "2020-10-29T00:00:00+08:00"}, {"value", 200.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T00:15:00+08:00"}, {"value", 202.0}},
      {{"meter", "M1"}, {"ts", "2020-10-29T01:15:00+08:00"}, {"value", 214.0}},
  });
  auto r = api.Post("/api/v1/readings", batch.dump());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["alerts"], 1) << r->body;

  ASSERT_TRUE(WaitFor([&] { return receiver.received("/hook") == 1; }, 10)) << "the webhook never got the alert";
  auto hook = json::parse(receiver.samples("/hook").front());
  EXPECT_DOUBLE_EQ(hook["period_consumption"].get<double>(), 14.0);
  EXPECT_DOUBLE_EQ(hook["estimated_consumption"].get<double>(), 9.0);

  auto alerts = json::parse(api.Get("/api/v1/alerts?meter=M1")->body);
  ASSERT_EQ(alerts["alerts"].size(), 1u) << alerts.dump();
  EXPECT_DOUBLE_EQ(alerts["alerts"][0]["period_consumption"].get<double>(), 14.0);
  EXPECT_DOUBLE_EQ(alerts["alerts"][0]["estimated_consumption"].get<double>(), 9.0);
  const std::string customer = api.Token(api::Role::kCustomer, "C1", "c1");
  auto own = json::parse(api.Get("/api/v1/alerts?meter=M1", customer)->body);
  ASSERT_EQ(own["alerts"].size(), 1u) << own.dump();
  EXPECT_DOUBLE_EQ(own["alerts"][0]["estimated_consumption"].get<double>(), 9.0);
  auto day = json::parse(api.Get("/api/v1/meters/M1/consumption?period=day")->body);
  ASSERT_EQ(day["consumption"].size(), 2u) << day.dump();
  EXPECT_DOUBLE_EQ(day["consumption"][1]["estimated_consumption"].get<double>(), 9.0);

  // The same day without a gap: an alert with no estimated part says 0.
  api.Register("M2", "C1");
  ASSERT_EQ(api.Post("/api/v1/meters/M2/terminals",
                     json{{"terminal_id", "phone2"}, {"channel", "webhook"}, {"address", receiver.url("/hook2")}}.dump())
                ->status,
            201);
  ASSERT_EQ(api.Put("/api/v1/meters/M2/threshold", json{{"threshold", 10.0}}.dump())->status, 200);
  json steady = json::array({
      {{"meter", "M2"}, {"ts", "2020-10-29T00:00:00+08:00"}, {"value", 200.0}},
      {{"meter", "M2"}, {"ts", "2020-10-29T00:15:00+08:00"}, {"value", 206.0}},
      {{"meter", "M2"}, {"ts", "2020-10-29T00:30:00+08:00"}, {"value", 212.0}},
  });
  ASSERT_EQ(api.Post("/api/v1/readings", steady.dump())->status, 200);
  auto m2 = json::parse(api.Get("/api/v1/alerts?meter=M2")->body);
  ASSERT_EQ(m2["alerts"].size(), 1u) << m2.dump();
  EXPECT_EQ(m2["alerts"][0]["estimated_consumption"].get<double>(), 0.0);

  // Estimates are counted apart: the status' readings are the six actual ones, the metric counts
  // the estimates stored.
  auto status = json::parse(api.Get("/api/v1/status")->body);
  EXPECT_EQ(status["readings"], 6) << status.dump();
  EXPECT_EQ(status["readings_estimated"], 3) << status.dump();
  auto metrics = api.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("meterhub_readings_estimated_total 3"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("meterhub_readings_accepted_total 6"), std::string::npos) << metrics->body;
}

TEST_F(HttpApiTest, CsvBodyWithBadRowsStoresTheRest) {
  Register("M2", "C2");
  std::string csv =
      "meter_id,timestamp,value\n"
      "M2,2020-10-29T15:00:00Z,10.5\n"
      "M2,not-a-time,11\n"
      "M2,2020-10-29T15:30:00Z,\n"
      "M2,2020-10-29T15:45:00Z,11.0\n";
  auto r = Post("/api/v1/readings", csv, "text/csv");
  ASSERT_EQ(r->status, 200) << r->body;
  auto s = json::parse(r->body);
  EXPECT_EQ(s["accepted"], 2);
  EXPECT_EQ(s["quarantined"]["null"], 1);
  EXPECT_EQ(s["rejected"], 1);
  ASSERT_EQ(s["issues"].size(), 1u);
  EXPECT_EQ(s["issues"][0]["line"], 3);
  EXPECT_EQ(s["issues"][0]["field"], "timestamp");
}

// Issue 16: readings name their channel (optional: absent = the billing channel); a meter read over
// its own protocol is registered with protocol, address and gateway.
TEST_F(HttpApiTest, ReadingsOfOtherChannelsAndProtocolMeters) {
  auto reg = Post("/api/v1/meters", R"({"meter_id":"P1","protocol":"dlt645","address":"000000000001","gateway":"DTU7"})");
  ASSERT_EQ(reg->status, 201) << reg->body;
  auto meter = json::parse(reg->body);
  EXPECT_EQ(meter["protocol"], "dlt645");
  EXPECT_EQ(meter["address"], "000000000001");
  EXPECT_EQ(meter["gateway"], "DTU7");
  EXPECT_EQ(meter["billing_channel"], "import_kwh");
  EXPECT_EQ(Post("/api/v1/meters", R"({"meter_id":"P2","protocol":"modbus","address":"1"})")->status, 400);
  EXPECT_EQ(Post("/api/v1/meters", R"({"meter_id":"P2","protocol":"dlt645"})")->status, 400);
  EXPECT_EQ(Post("/api/v1/meters", R"({"meter_id":"P2","billing_channel":"bad channel"})")->status, 400);
  std::string csv =
      "meter_id,timestamp,value,channel\n"
      "P1,2020-10-29T15:00:00Z,10.5,\n"
      "P1,2020-10-29T15:00:00Z,3.25,export_kwh\n"
      "P1,2020-10-29T15:15:00Z,3.5,export_kwh\n";
  auto r = Post("/api/v1/readings", csv, "text/csv");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["accepted"], 3);
  auto j = Post("/api/v1/readings", R"({"meter":"P1","ts":"2020-10-29T15:15:00Z","value":11,"channel":"import_kwh"})");
  ASSERT_EQ(j->status, 200) << j->body;
  EXPECT_EQ(json::parse(j->body)["accepted"], 1);
  auto billing = json::parse(Get("/api/v1/meters/P1/readings")->body)["readings"];
  ASSERT_EQ(billing.size(), 2u) << billing.dump();
  EXPECT_EQ(billing[1]["value"], 11.0);
  EXPECT_FALSE(billing[1].contains("channel"));
  auto exported = json::parse(Get("/api/v1/meters/P1/readings?channel=export_kwh")->body)["readings"];
  ASSERT_EQ(exported.size(), 2u) << exported.dump();
  EXPECT_EQ(exported[1]["channel"], "export_kwh");
  EXPECT_DOUBLE_EQ(exported[1]["consumption"].get<double>(), 0.25);
  EXPECT_EQ(Get("/api/v1/meters/P1/readings?channel=bad%20channel")->status, 400);
}

TEST_F(HttpApiTest, BadInputGetsClearErrors) {
  Register("M3", "C3");
  auto malformed = Post("/api/v1/readings", "{\"meter\": \"M3\", \"ts\": ");
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(json::parse(malformed->body)["error"]["code"], "invalid_argument");

  auto wrong_type = Post("/api/v1/readings", R"({"meter":"M3","ts":true,"value":1})");
  EXPECT_EQ(wrong_type->status, 422) << wrong_type->body;
  EXPECT_NE(json::parse(wrong_type->body)["error"]["message"].get<std::string>().find("ts"), std::string::npos);

  auto unknown = Post("/api/v1/readings", R"({"meter":"NOPE","ts":"2020-10-29T15:00:00Z","value":1})");
  EXPECT_EQ(unknown->status, 422) << unknown->body;
  EXPECT_NE(unknown->body.find("unknown meter"), std::string::npos);

  auto mixed = Post("/api/v1/readings",
                    R"([{"meter":"NOPE","ts":"2020-10-29T15:00:00Z","value":1},{"meter":"M3","ts":"2020-10-29T15:00:00Z","value":1}])");
  ASSERT_EQ(mixed->status, 200) << mixed->body;
  EXPECT_EQ(json::parse(mixed->body)["accepted"], 1);
  EXPECT_EQ(json::parse(mixed->body)["rejected"], 1);

  std::string huge(2 << 20, ' ');
  auto big = Post("/api/v1/readings", huge);
  EXPECT_EQ(big->status, 413);

  auto bad_type = Post("/api/v1/readings", "hello", "text/plain");
  EXPECT_EQ(bad_type->status, 400);

  auto bad_meter = Post("/api/v1/meters", R"({"meter_id":"has space"})");
  EXPECT_EQ(bad_meter->status, 400);
  EXPECT_NE(bad_meter->body.find("meter_id"), std::string::npos);

  auto bad_range = Get("/api/v1/meters/M3/readings?from=yesterday");
  EXPECT_EQ(bad_range->status, 400);
  EXPECT_NE(bad_range->body.find("from"), std::string::npos);

  auto no_route = Get("/api/v1/nothing");
  EXPECT_EQ(no_route->status, 404);
  EXPECT_EQ(json::parse(no_route->body)["error"]["code"], "not_found");
}

TEST_F(HttpApiTest, CustomersSeeOnlyTheirOwnMeters) {
  Register("A1", "alice");
  Register("B1", "bob");
  std::string alice = *api::CreateToken(*daemon_->store(), api::Role::kCustomer, "alice", "alice");
  auto list = json::parse(Get("/api/v1/meters", alice)->body);
  ASSERT_EQ(list["meters"].size(), 1u);
  EXPECT_EQ(list["meters"][0]["meter_id"], "A1");
  EXPECT_EQ(Get("/api/v1/meters/B1", alice)->status, 404);
  EXPECT_EQ(Get("/api/v1/meters/A1", alice)->status, 200);
  auto set_own = client_->Put("/api/v1/meters/A1/threshold", Auth(alice), R"({"threshold": 12.5})", "application/json");
  EXPECT_EQ(set_own->status, 200) << set_own->body;
  auto set_other = client_->Put("/api/v1/meters/B1/threshold", Auth(alice), R"({"threshold": 1})", "application/json");
  EXPECT_EQ(set_other->status, 404);
  EXPECT_EQ(Post("/api/v1/readings", R"({"meter":"A1","ts":"2020-10-29T15:00:00Z","value":1})", "application/json", alice)->status, 403);
  std::string viewer = *api::CreateToken(*daemon_->store(), api::Role::kSupervisor, "gov", "");
  EXPECT_EQ(Get("/api/v1/meters/B1", viewer)->status, 200);
  EXPECT_EQ(Post("/api/v1/meters", R"({"meter_id":"X"})", "application/json", viewer)->status, 403);
}

TEST_F(HttpApiTest, MetricsAndOpenApi) {
  Register("M4", "C4");
  Post("/api/v1/readings", R"({"meter":"M4","ts":"2020-10-29T15:00:00Z","value":1})");
  auto metrics = client_->Get("/metrics");
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("meterhub_readings_accepted_total 1"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("meterhub_readings_quarantined_total{verdict=\"sudden\"}"), std::string::npos);
  auto doc = json::parse(client_->Get("/api/v1/openapi.json")->body);
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const char* path : {"/api/v1/meters", "/api/v1/meters/{id}", "/api/v1/meters/{id}/threshold",
                           "/api/v1/meters/{id}/terminals", "/api/v1/readings", "/api/v1/meters/{id}/readings",
                           "/api/v1/meters/{id}/consumption", "/api/v1/quarantine", "/api/v1/alerts",
                           "/api/v1/deliveries", "/api/v1/tokens", "/metrics", "/api/v1/relay/regions",
                           "/api/v1/relay/regions/{code}", "/api/v1/relay/regions/{code}/rotate-key",
                           "/api/v1/relay/meters", "/api/v1/relay/reports", "/api/v1/relay/forward",
                           "/api/v1/relay/stats", "/api/v1/relay/meters/{id}", "/api/v1/relay/regions/{code}/outcomes",
                           "/api/v1/relay/outcomes", "/api/v1/relay/work-orders"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
}

// Seed 000 over REST: relay identities, level reports and the region's target, a forwarded
// batch stored once through the pipeline, a forged one refused with 422, and the statistics.
TEST_F(HttpApiTest, RelayRegionsReportsForwardingAndStats) {
  Register("E1", "C1");
  Register("R1", "C2");
  auto reg = Post("/api/v1/relay/meters", json{{"meter_id", "E1"}, {"region_code", "440305001"},
                                               {"position_code", "000001"}}.dump());
  ASSERT_EQ(reg->status, 201) << reg->body;
  const std::string e1_key = json::parse(reg->body)["device_key"];
  ASSERT_EQ(e1_key.size(), 64u);
  // The meter is provisioned with the allocation rule it starts from (SPEC 2.1).
  EXPECT_EQ(json::parse(reg->body)["window"], "00:00-06:00");
  EXPECT_EQ(json::parse(reg->body)["slot_minutes"], 5);
  EXPECT_EQ(json::parse(reg->body)["fanout"], "all");
  ASSERT_EQ(Post("/api/v1/relay/meters", json{{"meter_id", "R1"}, {"region_code", "440305001"},
                                              {"position_code", "000002"}}.dump())->status, 201);
  EXPECT_EQ(Post("/api/v1/relay/meters", json{{"meter_id", "R2"}, {"region_code", "4403"},
                                              {"position_code", "000002"}}.dump())->status, 400);

  auto region = json::parse(Get("/api/v1/relay/regions/440305001")->body);
  ASSERT_EQ(region["sub_periods"].size(), 4u);
  EXPECT_EQ(region["key_ids"], json::array({1}));
  EXPECT_TRUE(region["target_sub_period"].is_null());
  const int s0 = region["sub_periods"][0]["sub_period"], s1 = region["sub_periods"][1]["sub_period"];
  auto rep = Post("/api/v1/relay/reports",
                  json{{"meter", "E1"}, {"reports", {{{"sub_period", s0}, {"level", 3}}, {{"sub_period", s1}, {"level", 1}}}}}.dump());
  ASSERT_EQ(rep->status, 200) << rep->body;
  EXPECT_EQ(json::parse(rep->body)["target_sub_period"], s1);
  EXPECT_EQ(Post("/api/v1/relay/reports", R"({"meter":"E1","reports":[{"sub_period":-1,"level":1}]})")->status, 400);
  EXPECT_EQ(json::parse(Get("/api/v1/relay/regions")->body)["regions"].size(), 1u);

  // E1's readings of the day went direct at 00:00 and 00:30; 00:15 failed and comes via R1.
  ASSERT_EQ(Post("/api/v1/readings", json::array({{{"meter", "E1"}, {"ts", 1603900800}, {"value", 10.0}},
                                                  {{"meter", "E1"}, {"ts", 1603902600}, {"value", 12.0}}}).dump())->status, 200);
  relay::ForwardMessage fwd = testing::SignedForward("R1", "E1", 2, 1603901700, 11.0, e1_key);
  auto first = Post("/api/v1/relay/forward", relay::EncodeForwardMessage(fwd));
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json::parse(first->body)["outcome"], "accepted");
  fwd.relay_meter_id = "R2";
  EXPECT_EQ(json::parse(Post("/api/v1/relay/forward", relay::EncodeForwardMessage(fwd))->body)["outcome"], "duplicate");
  fwd.batch.readings[0].value = 11.5;  // a relay altering the reading
  auto forged = Post("/api/v1/relay/forward", relay::EncodeForwardMessage(fwd));
  EXPECT_EQ(forged->status, 422) << forged->body;
  auto rows = json::parse(Get("/api/v1/meters/E1/readings")->body)["readings"];
  ASSERT_EQ(rows.size(), 3u) << rows.dump();
  EXPECT_EQ(rows[1]["value"], 11.0);
  EXPECT_EQ(rows[1]["source"], "relay:R1");
  // The origin's data with its failure code, per origin meter (seed 000 step 108).
  auto e1 = json::parse(Get("/api/v1/relay/meters/E1")->body);
  ASSERT_EQ(e1["batches"].size(), 2u) << e1.dump();  // the accepted one and the forged copy
  for (const auto& b : e1["batches"]) EXPECT_EQ(b["failure_code"], 2) << e1.dump();
  EXPECT_FALSE(e1.contains("device_key"));

  auto stats = json::parse(Get("/api/v1/relay/stats")->body);
  EXPECT_EQ(stats["batches"]["accepted"], 1);
  EXPECT_EQ(stats["batches"]["duplicates"], 1);
  EXPECT_EQ(stats["batches"]["rejected"], 1);
  EXPECT_EQ(stats["readings_delivered"], 1);
  std::string customer = *api::CreateToken(*daemon_->store(), api::Role::kCustomer, "c", "C1");
  EXPECT_EQ(Get("/api/v1/relay/stats", customer)->status, 403);
  auto rotated = Post("/api/v1/relay/regions/440305001/rotate-key", "");
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  EXPECT_EQ(json::parse(rotated->body)["key_id"], 2);
  auto metrics = client_->Get("/metrics");
  EXPECT_NE(metrics->body.find("meterhub_relay_batches_total{outcome=\"rejected\"} 1"), std::string::npos);
}

// Issue 10, item 8: a 50,000-character install address killed the daemon (stack overflow in
// std::regex_search); a megabyte one too. Both are refused with 400 naming the field, nothing is
// written, and the daemon keeps answering. Issue 10, item 15: a relay identity for a meter that is
// not registered is refused (404), not written.
TEST(RelayRegistrationTest, HostileAddressesAndUnknownMetersAreRefused) {
  TempDir dir("relay-hostile");
  app::Config config;
  config.store.path = dir / "meterhub.db";
  config.mqtt.broker = "";
  config.http.listen = "127.0.0.1:0";
  config.http.max_body_bytes = 4 << 20;  // the megabyte address reaches the handler
  app::Daemon daemon(config);
  ASSERT_TRUE(daemon.Start().ok());
  httplib::Client client("127.0.0.1", daemon.http_port());
  client.set_read_timeout(30);
  const httplib::Headers auth = {{"Authorization", "Bearer " + *api::CreateToken(*daemon.store(), api::Role::kAdmin, "a", "")}};
  auto post = [&](const std::string& path, const json& body) { return client.Post(path, auth, body.dump(), "application/json"); };
  ASSERT_EQ(post("/api/v1/meters", {{"meter_id", "H1"}})->status, 201);

  auto unknown = post("/api/v1/relay/meters", {{"meter_id", "NOPE"}, {"region_code", "440305001"}, {"position_code", "000001"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  EXPECT_NE(unknown->body.find("POST /api/v1/meters"), std::string::npos) << unknown->body;
  EXPECT_EQ(client.Get("/api/v1/relay/meters/NOPE", auth)->status, 404);

  const std::string district = "浙江省杭州市西湖区";
  for (size_t size : {size_t{50000}, size_t{1} << 20}) {
    std::string address = district;
    while (address.size() < size) address += "文";  // no suffix anywhere: the old pattern's deepest path
    auto r = post("/api/v1/relay/meters", {{"meter_id", "H1"}, {"region_code", "440305001"}, {"position_code", "000001"},
                                           {"install_address", address}});
    ASSERT_TRUE(r) << "no answer for a " << size << "-byte address: " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 400) << r->body.substr(0, 300);
    EXPECT_NE(r->body.find("install_address"), std::string::npos) << r->body.substr(0, 300);
    auto health = client.Get("/healthz");
    ASSERT_TRUE(health) << "the daemon died on a " << size << "-byte address";
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(client.Get("/api/v1/relay/meters/H1", auth)->status, 404);  // nothing written
  }
  // A real address still names the region.
  auto ok = post("/api/v1/relay/meters", {{"meter_id", "H1"}, {"region_code", "440305001"}, {"position_code", "000001"},
                                          {"install_address", "浙江省杭州市西湖区文三路100号"}});
  ASSERT_EQ(ok->status, 201) << ok->body;
  EXPECT_EQ(json::parse(ok->body)["region_name"], "浙江省杭州市西湖区文三路");
}

}  // namespace
}  // namespace mh
