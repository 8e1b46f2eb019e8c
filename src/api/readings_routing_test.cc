#include "api/readings_routing.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/meter_id.h"

namespace mh::api {
namespace {

using Kind = ReadingsPlan::Kind;

// Two meters of different shards, and routes that give each shard an owner.
struct Fixture {
  std::string a = "RA", b = "RB0";
  Fixture() {
    for (int i = 0; ShardOf(b) == ShardOf(a); ++i) b = "RB" + std::to_string(i);
  }
  std::vector<Reading> Of(std::initializer_list<std::string> meters) const {
    std::vector<Reading> out;
    for (const std::string& m : meters) out.push_back(Reading{m, 900, 1.0, "", ""});
    return out;
  }
  std::function<ShardRoute(int)> Route(ShardRoute of_a, ShardRoute of_b) const {
    return [=, sa = ShardOf(a)](int shard) { return shard == sa ? of_a : of_b; };
  }
};

const ShardRoute kHere{ShardRoute::Kind::kHere, "", ""};
const ShardRoute kW2{ShardRoute::Kind::kOther, "w2", "10.0.0.2:8080"};
const ShardRoute kW3{ShardRoute::Kind::kOther, "w3", "10.0.0.3:8080"};
const ShardRoute kNobody{ShardRoute::Kind::kNobody, "", ""};

TEST(ReadingsRoutingTest, OwnShardsAreCommittedHereFencedByThem) {
  Fixture f;
  ReadingsPlan p = PlanReadings(f.Of({f.a, f.b, f.a}), f.Route(kHere, kHere));
  EXPECT_EQ(p.kind, Kind::kHere);
  std::vector<int> want{ShardOf(f.a), ShardOf(f.b)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(p.shards, want);
  EXPECT_EQ(PlanReadings(f.Of({f.a}), nullptr).kind, Kind::kHere);  // SQLite: every shard is ours
}

TEST(ReadingsRoutingTest, OneOtherOwnerIsForwardedToSeveralAreRefusedNobodyWaits) {
  Fixture f;
  ReadingsPlan p = PlanReadings(f.Of({f.a, f.b}), f.Route(kW2, kW2));
  EXPECT_EQ(p.kind, Kind::kForward);
  EXPECT_EQ(p.owner.worker_id, "w2");
  EXPECT_EQ(p.owner.listen, "10.0.0.2:8080");
  p = PlanReadings(f.Of({f.a, f.b}), f.Route(kHere, kW2));
  EXPECT_EQ(p.kind, Kind::kSeveralOwners);
  EXPECT_EQ(p.detail[std::to_string(ShardOf(f.b))]["worker_id"], "w2");
  EXPECT_EQ(PlanReadings(f.Of({f.a, f.b}), f.Route(kW3, kW2)).kind, Kind::kSeveralOwners);
  EXPECT_EQ(PlanReadings(f.Of({f.a, f.b}), f.Route(kHere, kNobody)).kind, Kind::kNoOwner);
}

TEST(ReadingsRoutingTest, AForwardedRequestIsNeverForwardedAgainAndAnUnreachableOwnerIs503) {
  Fixture f;
  const ReadingsPlan p = PlanReadings(f.Of({f.a}), f.Route(kW2, kW2));
  int forwards = 0;
  ForwardFn forward = [&](const std::string& listen, const http::Request&) -> Result<http::Response> {
    ++forwards;
    if (listen != "10.0.0.2:8080") return Unavailable("wrong address");
    http::Response r;
    r.status = 200;
    r.set_content("{\"accepted\":1}", "application/json");
    return r;
  };
  http::Request req;
  http::Response res;
  AnswerElsewhere(p, req, forward, 10, res);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.get_header_value("X-MeterHub-Worker"), "w2");
  req.headers.emplace("x-meterhub-forwarded-by", "w1");
  http::Response again;
  AnswerElsewhere(p, req, forward, 10, again);
  EXPECT_EQ(again.status, 421);
  EXPECT_EQ(forwards, 1);
  http::Response down;
  AnswerElsewhere(p, http::Request{}, [](const std::string&, const http::Request&) -> Result<http::Response> {
    return Unavailable("connection refused");
  }, 7, down);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.get_header_value("Retry-After"), "7");
}

}  // namespace
}  // namespace mh::api
