#include "api/readings_routing.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/route_kit.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"

namespace mh::api {

ReadingsPlan PlanReadings(const std::vector<Reading>& readings, const std::function<ShardRoute(int shard)>& route) {
  std::vector<int> shard_of(readings.size());  // each reading's, hashed once
  std::set<int> shards;
  for (size_t i = 0; i < readings.size(); ++i) shards.insert(shard_of[i] = ShardOf(readings[i].meter_id));
  ReadingsPlan plan;
  plan.shards.assign(shards.begin(), shards.end());
  if (!route) return plan;
  std::map<int, ShardRoute> routes;
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
    routes.emplace(shard, std::move(r));
  }
  if (nobody) {
    plan.kind = ReadingsPlan::Kind::kNoOwner;
  } else if (others.empty()) {
    plan.kind = ReadingsPlan::Kind::kHere;
  } else if (!here && others.size() == 1) {
    plan.kind = ReadingsPlan::Kind::kForward;
    plan.owner = others.begin()->second;
  } else {
    plan.kind = ReadingsPlan::Kind::kSplit;
    std::map<std::string, size_t> part_of;  // worker id → index in plan.others
    std::set<int> own;
    for (size_t i = 0; i < readings.size(); ++i) {
      const int shard = shard_of[i];
      const ShardRoute& r = routes.at(shard);
      if (r.kind == ShardRoute::Kind::kHere) {
        plan.here.push_back(i);
        own.insert(shard);
        continue;
      }
      auto [it, added] = part_of.emplace(r.worker_id, plan.others.size());
      if (added) plan.others.push_back({r, {}});
      plan.others[it->second].indexes.push_back(i);
    }
    plan.shards.assign(own.begin(), own.end());
  }
  if (plan.kind != ReadingsPlan::Kind::kHere && plan.kind != ReadingsPlan::Kind::kForward) plan.detail = owners;
  return plan;
}

bool CanSplit(const ReadingsPlan& plan, const http::Request& req, const ForwardFn& forward) {
  if (plan.kind != ReadingsPlan::Kind::kSplit || !forward || !req.get_header_value(kForwardedByHeader).empty()) return false;
  for (const ReadingsPart& part : plan.others)
    if (part.owner.listen.empty()) return false;
  return true;
}

nlohmann::json SummaryJson(const ingest::SubmitSummary& s) {
  nlohmann::json issues = nlohmann::json::array();
  for (const auto& i : s.issues) {
    if (issues.size() >= 1000) break;
    issues.push_back({{"line", i.line}, {"field", i.field}, {"message", i.message}});
  }
  return {{"received", s.received},
          {"accepted", s.accepted},
          {"duplicates", s.duplicates},
          {"quarantined",
           {{"null", s.quarantined[static_cast<int>(Verdict::kNull)]},
            {"error", s.quarantined[static_cast<int>(Verdict::kError)]},
            {"sudden", s.quarantined[static_cast<int>(Verdict::kSudden)]}}},
          {"rejected", s.rejected},
          {"conflicts", s.conflicts},
          {"alerts", s.alerts},
          {"issues", issues}};
}

ingest::SubmitSummary SummaryFromJson(const nlohmann::json& body) {
  ingest::SubmitSummary s;
  if (!body.is_object()) return s;
  auto count = [&](const nlohmann::json& o, const char* key) -> int64_t {
    auto it = o.find(key);
    return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  s.received = count(body, "received");
  s.accepted = count(body, "accepted");
  s.duplicates = count(body, "duplicates");
  s.rejected = count(body, "rejected");
  s.conflicts = count(body, "conflicts");
  s.alerts = count(body, "alerts");
  if (auto q = body.find("quarantined"); q != body.end() && q->is_object()) {
    s.quarantined[static_cast<int>(Verdict::kNull)] = count(*q, "null");
    s.quarantined[static_cast<int>(Verdict::kError)] = count(*q, "error");
    s.quarantined[static_cast<int>(Verdict::kSudden)] = count(*q, "sudden");
  }
  if (auto issues = body.find("issues"); issues != body.end() && issues->is_array()) {
    for (const nlohmann::json& i : *issues) {
      if (!i.is_object()) continue;
      codec::RowIssue issue;
      issue.line = count(i, "line");
      issue.field = i.value("field", "");
      issue.message = i.value("message", "");
      s.issues.push_back(std::move(issue));
    }
  }
  return s;
}

Result<SplitOutcome> StoreSplit(const ReadingsPlan& plan, const std::vector<Reading>& readings,
                                const http::Request& req, const ForwardFn& forward, const CommitHereFn& commit_here) {
  SplitOutcome out;
  // The lines of a part's issues are indexes into the part: put back as indexes into the batch.
  auto add = [&](ingest::SubmitSummary part, const std::vector<size_t>& indexes) {
    for (codec::RowIssue& issue : part.issues) {
      if (issue.line >= 0 && static_cast<size_t>(issue.line) < indexes.size())
        issue.line = static_cast<int64_t>(indexes[static_cast<size_t>(issue.line)]);
    }
    out.stored.Add(part);
  };
  if (!plan.here.empty()) {
    std::vector<Reading> mine;
    mine.reserve(plan.here.size());
    for (size_t i : plan.here) mine.push_back(readings[i]);
    MH_ASSIGN_OR_RETURN(ingest::SubmitSummary stored, commit_here(mine, plan.shards));
    add(std::move(stored), plan.here);
  }
  for (const ReadingsPart& part : plan.others) {
    http::Request sub;
    sub.method = "POST";
    sub.path = req.path;
    for (const auto& [name, value] : req.headers)
      if (name != "content-type" && name != "content-length") sub.headers.emplace(name, value);
    sub.headers.emplace("content-type", "application/json");
    sub.body = "[";
    for (size_t k = 0; k < part.indexes.size(); ++k) {
      if (k > 0) sub.body += ',';
      sub.body += codec::ReadingToJson(readings[part.indexes[k]]);
    }
    sub.body += ']';
    auto failed = [&](int status, const std::string& error) {
      out.failed.push_back({{"worker_id", part.owner.worker_id}, {"listen", part.owner.listen},
                            {"readings", part.indexes.size()}, {"status", status}, {"error", error}});
    };
    Result<http::Response> answer = forward(part.owner.listen, sub);
    if (!answer.ok()) {
      failed(0, answer.status().message());
      continue;
    }
    nlohmann::json body = nlohmann::json::parse(answer->body, nullptr, false);
    if (answer->status != 200) {
      std::string error = "answered " + std::to_string(answer->status);
      if (body.is_object() && body.contains("error") && body["error"].is_object())
        error += ": " + body["error"].value("message", "");
      failed(answer->status, error);
      continue;
    }
    add(SummaryFromJson(body), part.indexes);
  }
  return out;
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
  if (plan.kind == Kind::kSplit) {
    // Only reached where a split cannot be carried out: a forwarded request, or no forwarding (HTTPS).
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
