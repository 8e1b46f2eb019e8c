#include "api/readings_routing.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/route_kit.h"
#include "core/meter_id.h"

namespace mh::api {

ReadingsPlan PlanReadings(const std::vector<Reading>& readings, const std::function<ShardRoute(int shard)>& route) {
  std::set<int> shards;
  for (const Reading& r : readings) shards.insert(ShardOf(r.meter_id));
  ReadingsPlan plan;
  plan.shards.assign(shards.begin(), shards.end());
  if (!route) return plan;
  std::map<std::string, ShardRoute> others;  // by worker id
  nlohmann::json owners = nlohmann::json::object();
  bool here = false, nobody = false;
  for (int shard : plan.shards) {
    ShardRoute r = route(shard);
    switch (r.kind) {
      case ShardRoute::Kind::kHere: here = true; owners[std::to_string(shard)] = "this worker"; break;
      case ShardRoute::Kind::kNobody: nobody = true; owners[std::to_string(shard)] = nullptr; break;
      case ShardRoute::Kind::kOther:
        owners[std::to_string(shard)] = {{"worker_id", r.worker_id}, {"listen", r.listen}};
        others.emplace(r.worker_id, r);
        break;
    }
  }
  if (nobody) {
    plan.kind = ReadingsPlan::Kind::kNoOwner;
  } else if (others.empty()) {
    plan.kind = ReadingsPlan::Kind::kHere;
  } else if (!here && others.size() == 1) {
    plan.kind = ReadingsPlan::Kind::kForward;
    plan.owner = others.begin()->second;
  } else {
    plan.kind = ReadingsPlan::Kind::kSeveralOwners;
  }
  if (plan.kind != ReadingsPlan::Kind::kHere && plan.kind != ReadingsPlan::Kind::kForward) plan.detail = owners;
  return plan;
}

void AnswerElsewhere(const ReadingsPlan& plan, const http::Request& req, const ForwardFn& forward, int retry_after_s,
                     http::Response& res) {
  using Kind = ReadingsPlan::Kind;
  auto refuse = [&](int status, const std::string& code, const std::string& message) {
    SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}, {"owners", plan.detail}});
    if (status == 503) res.set_header("Retry-After", std::to_string(std::max(1, retry_after_s)));
  };
  if (plan.kind == Kind::kNoOwner) {
    refuse(503, "unavailable", "no live worker holds the lease of a shard of these readings (a takeover is under way): "
                               "nothing stored, retry after Retry-After");
    return;
  }
  if (plan.kind == Kind::kSeveralOwners) {
    refuse(421, "misdirected", "these readings belong to shards of several workers: nothing stored; post each "
                               "worker's meters to it (\"owners\" gives each shard's worker and address)");
    return;
  }
  const std::string to = plan.owner.worker_id + " at " + plan.owner.listen;
  if (!req.get_header_value(kForwardedByHeader).empty() || !forward || plan.owner.listen.empty()) {
    SendJson(res, 421, {{"error", {{"code", "misdirected"},
                                   {"message", "these readings' shards are leased to worker " + to + ", not this one: "
                                                   "nothing stored; post them there"}}},
                        {"owner", {{"worker_id", plan.owner.worker_id}, {"listen", plan.owner.listen}}}});
    return;
  }
  Result<http::Response> answer = forward(plan.owner.listen, req);
  if (!answer.ok()) {
    SendJson(res, 503, {{"error", {{"code", "unavailable"},
                                   {"message", "forwarding to the shards' owner, worker " + to + ", failed: " +
                                                   answer.status().message() + "; nothing stored here, retry after Retry-After"}}}});
    res.set_header("Retry-After", std::to_string(std::max(1, retry_after_s)));
    return;
  }
  res = std::move(*answer);
  res.set_header("X-MeterHub-Worker", plan.owner.worker_id);
}

}  // namespace mh::api
