// Scale-out (SPEC 7, docs/scale.md): which worker may commit a posted batch of readings. A worker
// commits only readings of shards it holds the lease of (the commit is fenced by them, as the
// MQTT path's); another live worker's readings are forwarded to it, so 200 still means durably
// stored, by whichever worker holds each shard. A batch wholly of one other worker is forwarded
// as it came and its answer relayed; a batch of several owners is split, one part per owner. 503
// + Retry-After when a shard has no live owner right now (a takeover is under way).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "core/reading.h"
#include "http/message.h"
#include "ingest/pipeline.h"

namespace mh::api {

// Who commits readings of one shard, as this worker last saw the leases.
struct ShardRoute {
  enum class Kind { kHere, kOther, kNobody };
  Kind kind = Kind::kHere;
  std::string worker_id;  // kOther: the owner
  std::string listen;     // kOther: its HTTP API, "host:port"
};

// The readings of a batch that one other worker holds the shards of.
struct ReadingsPart {
  ShardRoute owner;
  std::vector<size_t> indexes;  // into the batch, in order
};

struct ReadingsPlan {
  enum class Kind { kHere, kForward, kSplit, kNoOwner };
  Kind kind = Kind::kHere;
  std::vector<int> shards;  // kHere / kSplit: the shards to fence this worker's commit with (sorted, unique)
  ShardRoute owner;         // kForward: where to
  std::vector<size_t> here;           // kSplit: the readings this worker commits (indexes, in order)
  std::vector<ReadingsPart> others;   // kSplit: the other owners' parts, by worker id
  nlohmann::json detail;    // kSplit / kNoOwner: the owners (or "nobody") by shard, for an error body
};

// The plan for `readings` given each shard's route; `route` empty = this process owns every shard.
ReadingsPlan PlanReadings(const std::vector<Reading>& readings, const std::function<ShardRoute(int shard)>& route);

// Sends a request on to another worker's API ("host:port") and returns that worker's answer.
using ForwardFn = std::function<Result<http::Response>(const std::string& listen, const http::Request& request)>;

// How this worker reaches the owners of shards it does not hold (ApiDeps' fields of the same names).
struct ShardRouting {
  std::function<ShardRoute(int shard)> route;  // empty = this process owns every shard (SQLite)
  ForwardFn forward;
  int retry_after_s = 10;
};

// The header a forwarded request carries (the forwarding worker's id): its receiver never forwards
// it again — a batch it does not own (its view of the leases moved on) is refused with 421.
inline constexpr char kForwardedByHeader[] = "X-MeterHub-Forwarded-By";

// Whether a kSplit plan may be carried out here: the request was not forwarded to this worker
// already, and there is a way to forward.
bool CanSplit(const ReadingsPlan& plan, const http::Request& req, const ForwardFn& forward);

// What a split batch came to: the parts stored, summed (issues' lines are indexes into the whole
// batch's readings), and the parts that were not ([{worker_id, listen, status, error}]).
struct SplitOutcome {
  ingest::SubmitSummary stored;
  nlohmann::json failed = nlohmann::json::array();
};
// Commits this worker's readings (fenced by `shards`), durably, before returning.
using CommitHereFn =
    std::function<Result<ingest::SubmitSummary>(const std::vector<Reading>& readings, const std::vector<int>& shards)>;

// Carries out a kSplit plan: this worker's part first (an error there is returned, and nothing is
// forwarded), then each other owner's part, forwarded to it as a JSON array with the request's
// credentials. An owner that cannot be reached or does not answer 200 is listed in `failed`; a
// retry of the whole batch is then safe — what was stored comes back as duplicates.
Result<SplitOutcome> StoreSplit(const ReadingsPlan& plan, const std::vector<Reading>& readings,
                                const http::Request& req, const ForwardFn& forward, const CommitHereFn& commit_here);

// A posted batch's summary as POST /api/v1/readings answers it (at most 1,000 issues), and that
// answer read back from an owner it was forwarded to (missing fields count 0): a field added to
// one must be added to the other.
nlohmann::json SummaryJson(const ingest::SubmitSummary& s);
ingest::SubmitSummary SummaryFromJson(const nlohmann::json& body);

// Answers a request whose plan is neither kHere nor a kSplit that CanSplit: forwards it (kForward,
// unless it was forwarded already) and relays the owner's answer with X-MeterHub-Worker, or
// refuses it (421 / 503 + Retry-After: retry_after_s).
void AnswerElsewhere(const ReadingsPlan& plan, const http::Request& req, const ForwardFn& forward, int retry_after_s,
                     http::Response& res);

}  // namespace mh::api
