// Bulk loading (`meterhub import`, PipelineOptions::deferred_commits): the store writes one batch
// on its own thread while the pipeline judges the next. A bulk load's batches are durable only at
// Pack anyway, so handing a batch over loses no promise; what it gains is the second core — on
// SQLite the store's staging, on PostgreSQL the server's work, which the judging otherwise waits for.
//
// One batch is in flight at a time, and the store is never used from two threads at once: the
// pipeline settles (waits for the batch in flight) before any other use of the store, so what it
// reads includes every batch it judged before. A failed commit sticks: every later Hand and Settle
// answers its error.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace mh::ingest {

class OverlappedCommitter {
 public:
  // `commit`: the store's Commit (called on this object's thread, one batch at a time).
  explicit OverlappedCommitter(std::function<Status(const store::IngestBatch&)> commit);
  ~OverlappedCommitter();  // settles, then stops the thread
  OverlappedCommitter(const OverlappedCommitter&) = delete;
  OverlappedCommitter& operator=(const OverlappedCommitter&) = delete;

  // Waits for the batch in flight, then hands `batch` to the store's thread (committed under this
  // thread's FenceScope, if any). When an earlier commit failed, `batch` is not taken: its error.
  Status Hand(store::IngestBatch batch);
  // Waits until no batch is in flight: OK, or the error of the commit that failed.
  Status Settle();

 private:
  void Run();

  const std::function<Status(const store::IngestBatch&)> commit_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::optional<store::IngestBatch> in_flight_;        // guarded by mu_
  std::optional<std::vector<int>> in_flight_fence_;    // guarded by mu_: its FenceScope's shards
  Status failed_;                                      // guarded by mu_: the first commit that failed
  bool stopping_ = false;                              // guarded by mu_
  // No batch in flight and no failure: Settle's answer without the lock (written under mu_).
  std::atomic<bool> quiet_{true};
  std::thread thread_;
};

}  // namespace mh::ingest
