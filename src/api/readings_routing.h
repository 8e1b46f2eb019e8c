// Scale-out (SPEC 7, docs/scale.md): which worker may commit a posted batch of readings. A worker
// commits only readings of shards it holds the lease of (the commit is fenced by them, as the
// MQTT path's); a batch wholly of another live worker's shards is forwarded to it and its answer
// relayed, so 200 still means durably stored by the owner. Anything else is refused: 421 when
// the batch spans several owners (split it per owner), 503 + Retry-After when a shard has no live
// owner right now (a takeover is under way).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "core/reading.h"
#include "http/message.h"

namespace mh::api {

// Who commits readings of one shard, as this worker last saw the leases.
struct ShardRoute {
  enum class Kind { kHere, kOther, kNobody };
  Kind kind = Kind::kHere;
  std::string worker_id;  // kOther: the owner
  std::string listen;     // kOther: its HTTP API, "host:port"
};

struct ReadingsPlan {
  enum class Kind { kHere, kForward, kSeveralOwners, kNoOwner };
  Kind kind = Kind::kHere;
  std::vector<int> shards;  // kHere: the shards to fence the commit with (sorted, unique)
  ShardRoute owner;         // kForward: where to
  nlohmann::json detail;    // kSeveralOwners / kNoOwner: the owners (or "nobody") by shard, for the error body
};

// The plan for `readings` given each shard's route; `route` empty = this process owns every shard.
ReadingsPlan PlanReadings(const std::vector<Reading>& readings, const std::function<ShardRoute(int shard)>& route);

// Sends a request on to another worker's API ("host:port") and returns that worker's answer.
using ForwardFn = std::function<Result<http::Response>(const std::string& listen, const http::Request& request)>;

// The header a forwarded request carries (the forwarding worker's id): its receiver never forwards
// it again — a batch it does not own (its view of the leases moved on) is refused with 421.
inline constexpr char kForwardedByHeader[] = "X-MeterHub-Forwarded-By";

// Answers a request whose plan is not kHere: forwards it (kForward, unless it was forwarded
// already) and relays the owner's answer with X-MeterHub-Worker, or refuses it (421 / 503 +
// Retry-After: retry_after_s).
void AnswerElsewhere(const ReadingsPlan& plan, const http::Request& req, const ForwardFn& forward, int retry_after_s,
                     http::Response& res);

}  // namespace mh::api
