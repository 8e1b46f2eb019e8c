// Billing determinants through the daemon (issue 18 item 4): a group's tariff calendar from the
// configuration, GET /api/v1/meters/{id}/determinants on the hand-computed week of
// src/billing/determinants_test.cc (a holiday, band changes at midnight), customer isolation, 400s.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/time.h"
#include "support/api_daemon.h"

namespace mh {
namespace {

using json = nlohmann::json;

void ChinaTariff(app::Config& c) {
  billing::TariffSpec& t = c.tariffs["cn"];
  t.bands = {"peak", "flat", "valley"};
  t.days["workday"] = {"00:00 valley", "08:00 peak", "11:00 flat", "18:00 peak", "21:00 flat"};
  t.days["restday"] = {"00:00 valley", "08:00 flat"};
  t.week = {"workday", "workday", "workday", "workday", "workday", "restday", "restday"};
  t.holidays = {"10-01"};
  t.holiday = "restday";
  c.groups["homes"].tariff = "cn";
  c.groups["homes"].keys.insert("tariff");
}

class BillingApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.started());
    for (const char* id : {"B1", "B2"}) {
      auto r = api_.Post("/api/v1/meters", json{{"meter_id", id}, {"customer_id", "C1"}, {"interval_s", 3600},
                                                {"timezone", "+08:00"}}.dump());
      ASSERT_EQ(r->status, 201) << r->body;
      // 1 kWh every hour of the week Mon 2024-09-30 .. Sun 2024-10-06 (+08:00), and its base reading.
      json batch = json::array();
      double v = 100;
      for (int64_t t = *ParseTimestamp("2024-09-30T00:00:00+08:00"); t <= *ParseTimestamp("2024-10-07T00:00:00+08:00");
           t += 3600, v += 1)
        batch.push_back({{"meter", id}, {"ts", FormatIsoUtc(t)}, {"value", v}});
      r = api_.Post("/api/v1/readings", batch.dump());
      ASSERT_EQ(r->status, 200) << r->body;
    }
    ASSERT_EQ(api_.Put("/api/v1/meters/B1", json{{"group", "homes"}}.dump())->status, 200);
  }
  static double Kwh(const json& bands, const std::string& band, const char* field = "kwh") {
    for (const auto& b : bands)
      if (b["band"] == band) return b[field].get<double>();
    ADD_FAILURE() << "no band " << band << " in " << bands.dump();
    return -1;
  }

  testing::ApiDaemon api_{"billing-api", ChinaTariff};
};

TEST_F(BillingApiTest, HandComputedWeekByBand) {
  auto r = api_.Get("/api/v1/meters/B1/determinants?from=2024-09-30&to=2024-10-06");
  ASSERT_EQ(r->status, 200) << r->body;
  json bands = json::parse(r->body);
  ASSERT_TRUE(bands.is_array()) << r->body;
  ASSERT_EQ(bands.size(), 3u);
  EXPECT_EQ(bands[0]["band"], "peak");
  EXPECT_DOUBLE_EQ(Kwh(bands, "peak"), 24);
  EXPECT_DOUBLE_EQ(Kwh(bands, "flat"), 88);
  EXPECT_DOUBLE_EQ(Kwh(bands, "valley"), 56);
  EXPECT_DOUBLE_EQ(Kwh(bands, "valley", "estimated_kwh"), 0);
  // The same span as timestamps; then only Tuesday, the holiday: valley 8, flat 16.
  r = api_.Get("/api/v1/meters/B1/determinants?from=2024-09-29T16:00:00Z&to=2024-10-06T16:00:00Z");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_DOUBLE_EQ(Kwh(json::parse(r->body), "flat"), 88);
  r = api_.Get("/api/v1/meters/B1/determinants?from=2024-10-01&to=2024-10-01");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_DOUBLE_EQ(Kwh(json::parse(r->body), "flat"), 16);
  EXPECT_DOUBLE_EQ(Kwh(json::parse(r->body), "valley"), 8);
  EXPECT_DOUBLE_EQ(Kwh(json::parse(r->body), "peak"), 0);
}

TEST_F(BillingApiTest, MeterWithoutTariffHasOneBand) {
  auto r = api_.Get("/api/v1/meters/B2/determinants?from=2024-09-30&to=2024-10-06");
  ASSERT_EQ(r->status, 200) << r->body;
  json bands = json::parse(r->body);
  ASSERT_EQ(bands.size(), 1u) << r->body;
  EXPECT_EQ(bands[0]["band"], "all");
  EXPECT_DOUBLE_EQ(bands[0]["kwh"].get<double>(), 168);
}

TEST_F(BillingApiTest, CustomerIsolationAndBadParameters) {
  const std::string own = api_.Token(api::Role::kCustomer, "C1"), other = api_.Token(api::Role::kCustomer, "C2");
  EXPECT_EQ(api_.Get("/api/v1/meters/B1/determinants?from=2024-09-30&to=2024-10-06", own)->status, 200);
  EXPECT_EQ(api_.Get("/api/v1/meters/B1/determinants?from=2024-09-30&to=2024-10-06", other)->status, 404);
  EXPECT_EQ(api_.Get("/api/v1/meters/NOPE/determinants?from=2024-09-30&to=2024-10-06")->status, 404);
  for (const char* q : {"", "?from=2024-09-30", "?to=2024-10-06", "?from=yesterday&to=2024-10-06",
                        "?from=2024-10-06&to=2024-09-30", "?from=2024-10-06T00:00:00Z&to=2024-10-06T00:00:00Z"}) {
    auto r = api_.Get(std::string("/api/v1/meters/B1/determinants") + q);
    EXPECT_EQ(r->status, 400) << q << ": " << r->body;
    EXPECT_TRUE(json::parse(r->body).contains("error")) << r->body;
  }
}

}  // namespace
}  // namespace mh
