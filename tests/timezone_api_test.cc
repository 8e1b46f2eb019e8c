// Meters in IANA time zones through the daemon (in-process, SQLite): registration over the REST
// API, alert periods and consumption per day across the 2024 daylight-saving changes of Sydney
// (a 25-hour day on 7 April) and Berlin (a 23-hour day on 31 March, a 25-hour one on 27 October).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/webhook_receiver.h"
#include "core/time.h"
#include "support/api_daemon.h"

namespace mh {
namespace {

using json = nlohmann::json;

class TimeZoneApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.started()); }

  void Register(const std::string& id, const std::string& zone) {
    auto r = api_.Post("/api/v1/meters", json{{"meter_id", id}, {"customer_id", "C1"}, {"interval_s", 3600},
                                              {"timezone", zone}}.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(json::parse(r->body)["timezone"], zone);
  }
  // Hourly readings of 1 kWh an hour from `from` to `to` (UTC instants, inclusive).
  void PostHourly(const std::string& id, const char* from, const char* to) {
    json batch = json::array();
    double v = 100;
    for (int64_t t = *ParseTimestamp(from); t <= *ParseTimestamp(to); t += 3600, v += 1)
      batch.push_back({{"meter", id}, {"ts", FormatIsoUtc(t)}, {"value", v}});
    auto r = api_.Post("/api/v1/readings", batch.dump());
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  json Days(const std::string& id) {
    auto r = api_.Get("/api/v1/meters/" + id + "/consumption?period=day");
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body)["consumption"];
  }
  static const json* Day(const json& days, const std::string& start) {
    for (const auto& d : days)
      if (d["period_start"] == start) return &d;
    return nullptr;
  }

  testing::ApiDaemon api_{"tz-api", [](app::Config& c) { c.alerts.webhook.allow_private = true; }};
};

TEST_F(TimeZoneApiTest, SydneyAutumnDayIsOneDayOf25Hours) {
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  Register("S1", "Australia/Sydney");
  ASSERT_EQ(api_.Post("/api/v1/meters/S1/terminals",
                      json{{"terminal_id", "p1"}, {"channel", "webhook"}, {"address", receiver.url("/hook")}}.dump())
                ->status,
            201);
  ASSERT_EQ(api_.Put("/api/v1/meters/S1/threshold", json{{"threshold", 24.5}}.dump())->status, 200);
  PostHourly("S1", "2024-04-05T13:00:00Z", "2024-04-08T14:00:00Z");  // 6 April 00:00 .. 9 April 00:00 local

  // Only the 25-hour day passes T1 = 24.5 kWh, at its last reading (local midnight, now +10:00).
  auto alerts = json::parse(api_.Get("/api/v1/alerts?meter=S1")->body)["alerts"];
  ASSERT_EQ(alerts.size(), 1u) << alerts.dump();
  EXPECT_EQ(alerts[0]["period_start"], "2024-04-06T13:00:00Z");  // 7 April 00:00 +11:00
  EXPECT_EQ(alerts[0]["timestamp"], "2024-04-07T14:00:00Z");     // 8 April 00:00 +10:00
  EXPECT_DOUBLE_EQ(alerts[0]["period_consumption"].get<double>(), 25);

  json days = Days("S1");
  const json* april7 = Day(days, "2024-04-07T00:00:00+11:00");
  ASSERT_NE(april7, nullptr) << days.dump();
  EXPECT_EQ((*april7)["period_end"], "2024-04-08T00:00:00+10:00");
  EXPECT_DOUBLE_EQ((*april7)["consumption"].get<double>(), 25);
  EXPECT_EQ((*april7)["readings"], 25);
  EXPECT_DOUBLE_EQ((*april7)["estimated_consumption"].get<double>(), 0);  // all measured
  const json* april8 = Day(days, "2024-04-08T00:00:00+10:00");
  ASSERT_NE(april8, nullptr);
  EXPECT_DOUBLE_EQ((*april8)["consumption"].get<double>(), 24);

  // The fleet's day in each meter's own zone.
  auto fleet = json::parse(api_.Get("/api/v1/consumption?date=2024-04-07")->body);
  ASSERT_FALSE(fleet["meters"].empty()) << fleet.dump();
  EXPECT_DOUBLE_EQ(fleet["meters"][0]["consumption"].get<double>(), 25);
}

TEST_F(TimeZoneApiTest, BerlinDstDaysAre23And25Hours) {
  Register("B1", "Europe/Berlin");
  PostHourly("B1", "2024-03-29T23:00:00Z", "2024-04-01T22:00:00Z");
  json days = Days("B1");
  const json* spring = Day(days, "2024-03-31T00:00:00+01:00");
  ASSERT_NE(spring, nullptr) << days.dump();
  EXPECT_EQ((*spring)["period_end"], "2024-04-01T00:00:00+02:00");
  EXPECT_DOUBLE_EQ((*spring)["consumption"].get<double>(), 23);

  Register("B2", "Europe/Berlin");
  PostHourly("B2", "2024-10-25T22:00:00Z", "2024-10-28T23:00:00Z");
  days = Days("B2");
  const json* autumn = Day(days, "2024-10-27T00:00:00+02:00");
  ASSERT_NE(autumn, nullptr) << days.dump();
  EXPECT_EQ((*autumn)["period_end"], "2024-10-28T00:00:00+01:00");
  EXPECT_DOUBLE_EQ((*autumn)["consumption"].get<double>(), 25);
  const json* after = Day(days, "2024-10-28T00:00:00+01:00");
  ASSERT_NE(after, nullptr);
  EXPECT_DOUBLE_EQ((*after)["consumption"].get<double>(), 24);
}

TEST_F(TimeZoneApiTest, FixedOffsetsStayAndUnknownZonesAreRefused) {
  Register("F1", "+08:00");
  EXPECT_EQ(json::parse(api_.Get("/api/v1/meters/F1")->body)["timezone"], "+08:00");
  auto bad = api_.Post("/api/v1/meters", json{{"meter_id", "X1"}, {"timezone", "Mars/Olympus_Mons"}}.dump());
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("timezone"), std::string::npos) << bad->body;
}

}  // namespace
}  // namespace mh
