// Group commit: many threads (the MQTT connections, HTTP workers) hand readings in; one writer
// thread stores everything queued at that moment in ONE durable commit and then wakes them all.
// One fsync is then shared by every caller waiting, which is what makes acknowledging only after
// the commit affordable.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "ingest/pipeline.h"

namespace mh::ingest {

// Stores `requests` in ONE commit fenced by all their `shards` (same length; an entry may be
// null). When that commit is refused as Unavailable — on PostgreSQL, typically one shard's lease
// lost meanwhile (a takeover) — and the requests came from more than one session, each is then
// stored on its own under its own shards: only the lost shard's sessions fail (and reconnect), not
// every session that shared the commit. One result per request.
std::vector<Result<SubmitSummary>> SubmitFencedGroup(Pipeline& pipeline, const std::vector<SubmitRequest>& requests,
                                                     const std::vector<const std::vector<int>*>& shards);

class GroupCommitter {
 public:
  // "*pipeline" must outlive this object.
  // `linger`: how long a commit waits, from the arrival of its oldest request, for more requests
  // to share it (0 = none: commit what is queued at once). See MqttOptions::commit_linger.
  static constexpr size_t kMaxReadingsPerCommit = 50000;
  explicit GroupCommitter(Pipeline* pipeline, size_t max_readings_per_commit = kMaxReadingsPerCommit,
                          std::chrono::microseconds linger = std::chrono::microseconds(0));
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Blocks until `readings` are durably stored (then the caller may acknowledge) or failed.
  // `shards`: the MQTT shards whose sessions delivered them — the commit is fenced by their
  // leases (store/commit_fence.h; scale-out on PostgreSQL).
  Result<SubmitSummary> Submit(const std::vector<Reading>& readings, const std::string& source,
                               const std::vector<int>& shards = {});
  void Stop();

  int64_t commits() const { return commits_.load(); }

 private:
  struct Request {
    const std::vector<Reading>* readings;
    std::string source;
    const std::vector<int>* shards;
    std::promise<Result<SubmitSummary>> done;
    std::chrono::steady_clock::time_point queued_at;
  };
  void Loop();

  Pipeline* const pipeline_;
  const size_t max_readings_;
  const std::chrono::microseconds linger_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request*> queue_;  // guarded by mu_
  size_t queued_readings_ = 0;  // guarded by mu_: of the requests in queue_
  bool stop_ = false;           // guarded by mu_
  std::atomic<int64_t> commits_{0};
  std::thread writer_;
};

}  // namespace mh::ingest
