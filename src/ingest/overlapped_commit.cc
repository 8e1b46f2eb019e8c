#include "ingest/overlapped_commit.h"

#include "store/commit_fence.h"

namespace mh::ingest {

OverlappedCommitter::OverlappedCommitter(std::function<Status(const store::IngestBatch&)> commit)
    : commit_(std::move(commit)), thread_([this] { Run(); }) {}

OverlappedCommitter::~OverlappedCommitter() {
  {
    std::unique_lock lock(mu_);
    changed_.wait(lock, [&] { return !in_flight_; });
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Status OverlappedCommitter::Hand(store::IngestBatch batch) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return !in_flight_; });
  if (!failed_.ok()) return failed_;
  in_flight_ = std::move(batch);
  quiet_.store(false, std::memory_order_relaxed);  // only this (the handing) thread reads it meanwhile
  if (const std::vector<int>* fence = store::FenceScope::Current()) in_flight_fence_ = *fence;
  else in_flight_fence_.reset();
  lock.unlock();
  changed_.notify_all();
  return Status::Ok();
}

Status OverlappedCommitter::Settle() {
  // Nothing in flight and nothing failed: no lock. The acquire pairs with the committing thread's
  // release, so the batch's writes happened before whatever the caller reads next.
  if (quiet_.load(std::memory_order_acquire)) return Status::Ok();
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return !in_flight_; });
  return failed_;
}

void OverlappedCommitter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || in_flight_; });
    if (!in_flight_) return;  // stopping, nothing left
    // The batch stays in in_flight_ (owned, unchanged) while it is written: Hand and Settle wait.
    store::IngestBatch& batch = *in_flight_;
    std::optional<std::vector<int>> fence = std::move(in_flight_fence_);
    lock.unlock();
    Status committed;
    if (fence) {
      store::FenceScope scope(*fence);
      committed = commit_(batch);
    } else {
      committed = commit_(batch);
    }
    lock.lock();
    if (!committed.ok() && failed_.ok()) failed_ = committed;
    in_flight_.reset();
    quiet_.store(failed_.ok(), std::memory_order_release);
    changed_.notify_all();
  }
}

}  // namespace mh::ingest
