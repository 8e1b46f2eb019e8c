#include "api/readings_routing.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "codec/reading_json.h"
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

TEST(ReadingsRoutingTest, OneOtherOwnerIsForwardedToSeveralAreSplitNobodyWaits) {
  Fixture f;
  ReadingsPlan p = PlanReadings(f.Of({f.a, f.b}), f.Route(kW2, kW2));
  EXPECT_EQ(p.kind, Kind::kForward);
  EXPECT_EQ(p.owner.worker_id, "w2");
  EXPECT_EQ(p.owner.listen, "10.0.0.2:8080");
  p = PlanReadings(f.Of({f.a, f.b, f.a}), f.Route(kHere, kW2));
  EXPECT_EQ(p.kind, Kind::kSplit);
  EXPECT_EQ(p.detail[std::to_string(ShardOf(f.b))]["worker_id"], "w2");
  EXPECT_EQ(p.here, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(p.shards, std::vector<int>{ShardOf(f.a)});  // this worker's commit is fenced by its own shards only
  ASSERT_EQ(p.others.size(), 1u);
  EXPECT_EQ(p.others[0].owner.worker_id, "w2");
  EXPECT_EQ(p.others[0].indexes, std::vector<size_t>{1});
  p = PlanReadings(f.Of({f.a, f.b}), f.Route(kW3, kW2));
  EXPECT_EQ(p.kind, Kind::kSplit);
  EXPECT_TRUE(p.here.empty());
  EXPECT_EQ(p.others.size(), 2u);
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

// A batch of this worker's and another's meters: each part stored by its owner, one answer for all.
TEST(ReadingsRoutingTest, ASplitBatchIsStoredPartByPartAndAnswersForTheWhole) {
  Fixture f;
  const std::vector<Reading> batch = f.Of({f.b, f.a, f.b, f.a});
  const ReadingsPlan p = PlanReadings(batch, f.Route(kHere, kW2));
  http::Request req;
  req.method = "POST";
  req.path = "/api/v1/readings";
  req.headers.emplace("authorization", "Bearer secret");
  req.headers.emplace("content-type", "text/csv");
  ASSERT_TRUE(CanSplit(p, req, [](const std::string&, const http::Request&) -> Result<http::Response> {
    return Unavailable("unused");
  }));
  std::vector<Reading> committed;
  std::vector<int> fenced;
  CommitHereFn here = [&](const std::vector<Reading>& mine, const std::vector<int>& shards) -> Result<ingest::SubmitSummary> {
    committed = mine;
    fenced = shards;
    ingest::SubmitSummary s;
    s.received = 2;
    s.accepted = 1;
    s.rejected = 1;
    s.issues.push_back({1, "meter", "unknown meter", ""});  // the second of this worker's part
    return s;
  };
  http::Request sent;
  ForwardFn forward = [&](const std::string& listen, const http::Request& sub) -> Result<http::Response> {
    EXPECT_EQ(listen, "10.0.0.2:8080");
    sent = sub;
    http::Response r;
    r.status = 200;
    r.set_content(R"({"received":2,"accepted":1,"duplicates":0,"quarantined":{"null":0,"error":1,"sudden":0},)"
                  R"("rejected":0,"conflicts":0,"alerts":0,"issues":[{"line":1,"field":"value","message":"x"}]})",
                  "application/json");
    return r;
  };
  Result<SplitOutcome> whole = StoreSplit(p, batch, req, forward, here);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  const SplitOutcome& out = *whole;
  ASSERT_EQ(committed.size(), 2u);
  EXPECT_EQ(committed[0].meter_id, f.a);
  EXPECT_EQ(fenced, std::vector<int>{ShardOf(f.a)});
  EXPECT_EQ(sent.path, "/api/v1/readings");
  EXPECT_EQ(sent.get_header_value("Authorization"), "Bearer secret");
  EXPECT_EQ(sent.get_header_value("Content-Type"), "application/json");
  auto forwarded = codec::ParseReadingsJson(sent.body);
  ASSERT_TRUE(forwarded.ok()) << forwarded.status().ToString();
  ASSERT_EQ(forwarded->readings.size(), 2u);
  EXPECT_EQ(forwarded->readings[1].meter_id, f.b);
  EXPECT_TRUE(out.failed.empty());
  EXPECT_EQ(out.stored.received, 4);
  EXPECT_EQ(out.stored.accepted, 2);
  EXPECT_EQ(out.stored.quarantined[static_cast<int>(Verdict::kError)], 1);
  ASSERT_EQ(out.stored.issues.size(), 2u);
  EXPECT_EQ(out.stored.issues[0].line, 3);  // the batch's 4th reading: this worker's 2nd
  EXPECT_EQ(out.stored.issues[1].line, 2);  // the batch's 3rd: w2's 2nd

  // An owner that does not store its part is named; this worker's part stays stored.
  Result<SplitOutcome> partly = StoreSplit(p, batch, req, [](const std::string&, const http::Request&) {
    http::Response r;
    r.status = 503;
    r.set_content(R"({"error":{"code":"unavailable","message":"lease lost"}})", "application/json");
    return Result<http::Response>(r);
  }, here);
  ASSERT_TRUE(partly.ok()) << partly.status().ToString();
  const SplitOutcome& half = *partly;
  ASSERT_EQ(half.failed.size(), 1u);
  EXPECT_EQ(half.failed[0]["worker_id"], "w2");
  EXPECT_EQ(half.failed[0]["status"], 503);
  EXPECT_EQ(half.failed[0]["readings"], 2);
  EXPECT_NE(half.failed[0]["error"].get<std::string>().find("lease lost"), std::string::npos);
  EXPECT_EQ(half.stored.accepted, 1);

  // A request forwarded to this worker already is never split again: refused with 421.
  req.headers.emplace("x-meterhub-forwarded-by", "w3");
  EXPECT_FALSE(CanSplit(p, req, forward));
  http::Response refused;
  AnswerElsewhere(p, req, forward, 10, refused);
  EXPECT_EQ(refused.status, 421);
}

}  // namespace
}  // namespace mh::api
