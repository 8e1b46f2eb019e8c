// Scale-out (SPEC 7, docs/scale.md): the 64 shards — and the singleton jobs — divided among the
// `meterhub serve` workers sharing one PostgreSQL, by leases in its shard_leases,
// singleton_leases and workers tables (store schema 10). Each worker heartbeats, renews what it
// holds every lease_period/3, claims unowned or lapsed shards up to its fair share
// (ceil(64 / live workers)), gives back what is above it, and releases everything on a clean stop.
// Every epoch change is a change of hands: the store's commit fence (store/commit_fence.h) checks
// the epoch inside each commit, so a former owner can never store a shard's readings again.
//
// The ingest only asks Owns(shard); the daemon asks HoldsJob(job) before running a singleton job.
// Time is PostgreSQL's now() alone (no clock agreement between workers needed); locally a lease
// counts as held only until lease_period/10 before it lapses, so a worker cut off from the
// database stops consuming before anyone else may take over.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/commit_fence.h"

namespace mh::store::pg {
class Connection;
}

namespace mh::cluster {

struct LeaseOptions {
  std::string url;                    // the PostgreSQL store's URL (schema 10 or later)
  std::string worker_id;
  int64_t lease_period_ms = 10000;
  std::vector<std::string> jobs;      // singleton jobs this worker may run (claimed like shards)
  std::string listen;                 // "host:port" of this worker's HTTP API, for the others (forwarding)
  // `meterhub import` on PostgreSQL: claim every shard nobody holds and never give one back, so no
  // worker consumes (or caches state of) a shard while the import writes it.
  bool hold_all = false;
};

// A live shard lease's holder as of the last round: its worker id and HTTP listen address.
struct ShardOwner {
  std::string worker_id;
  std::string listen;
};

// "<hostname>-<pid>": a worker's default name.
std::string DefaultWorkerId();

class ShardLeases final : public store::CommitFence {
 public:
  static Result<std::shared_ptr<ShardLeases>> Open(LeaseOptions options);
  ~ShardLeases() override;

  // One round now (so a starting worker knows its shards), then one every lease_period/3.
  Status Start();
  // Stops renewing and gives every lease back (the next owners need not wait for them to lapse).
  void Stop();
  // One round: heartbeat, renew, give back above the fair share, claim up to it. Public for tests.
  Status Tick();

  // Where this worker's API listens, from the next round on: a worker listening on port 0 knows its
  // address only once the API is bound, after the leases started.
  void SetListen(std::string listen);

  // Called after a round for each shard gained (true) or lost (false), on the lease thread.
  void SetChangeHook(std::function<void(int shard, bool gained)> hook) { hook_ = std::move(hook); }

  const std::string& worker_id() const override { return options_.worker_id; }
  std::optional<int64_t> EpochOf(int shard) const override;
  std::optional<int64_t> JobEpochOf(const std::string& job) const override;
  bool Owns(int shard) const { return EpochOf(shard).has_value(); }
  std::vector<int> Owned() const;
  bool HoldsJob(const std::string& job) const;
  // Who held `shard` at the last round (this worker included), nullopt when nobody live did. Up to
  // lease_period/3 old: a forwarded request may reach a former owner, which refuses it (421).
  std::optional<ShardOwner> OwnerOf(int shard) const;
  // When the leases lapse unless renewed (Unix ms, the database's clock); 0 before the first round.
  int64_t lease_expires_ms() const;
  int64_t renewals() const { return renewals_.load(); }
  int64_t lease_period_ms() const { return options_.lease_period_ms; }

 private:
  explicit ShardLeases(LeaseOptions options);
  using Clock = std::chrono::steady_clock;
  Status Round();
  void Loop();
  void Release();

  const LeaseOptions options_;
  std::function<void(int, bool)> hook_;
  std::unique_ptr<store::pg::Connection> db_;  // the lease thread's (and Start/Stop's) only
  mutable std::mutex mu_;
  std::map<int, int64_t> shards_;       // guarded by mu_: shard → epoch
  std::map<std::string, int64_t> jobs_;  // guarded by mu_: job → epoch
  std::map<int, ShardOwner> owners_;    // guarded by mu_: every live shard lease at the last round
  std::string listen_;                  // guarded by mu_: options_.listen, or what SetListen said
  Clock::time_point valid_until_{};     // guarded by mu_: local end of what the last round renewed
  int64_t expires_ms_ = 0;              // guarded by mu_
  std::atomic<int64_t> renewals_{0};
  std::thread thread_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;               // guarded by stop_mu_
};

}  // namespace mh::cluster
