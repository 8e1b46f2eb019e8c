#include "ingest/group_commit.h"

#include "store/commit_fence.h"

namespace mh::ingest {

std::vector<Result<SubmitSummary>> SubmitFencedGroup(Pipeline& pipeline, const std::vector<SubmitRequest>& requests,
                                                     const std::vector<const std::vector<int>*>& shards) {
  auto fenced_by = [&](size_t from, size_t to) {
    std::vector<int> all;
    for (size_t i = from; i < to; ++i)
      if (shards[i] != nullptr) all.insert(all.end(), shards[i]->begin(), shards[i]->end());
    return all;
  };
  std::vector<Result<SubmitSummary>> out;
  out.reserve(requests.size());
  Result<std::vector<SubmitSummary>> together = [&] {
    const std::vector<int> all = fenced_by(0, requests.size());
    store::FenceScope fenced(all);
    return pipeline.SubmitAll(requests);
  }();
  if (together.ok()) {
    for (SubmitSummary& s : *together) out.emplace_back(std::move(s));
    return out;
  }
  if (requests.size() < 2 || together.status().code() != StatusCode::kUnavailable) {
    for (size_t i = 0; i < requests.size(); ++i) out.emplace_back(together.status());
    return out;
  }
  // Nothing of the group was stored (a refused commit stores nothing): each on its own now.
  for (size_t i = 0; i < requests.size(); ++i) {
    const std::vector<int> own = fenced_by(i, i + 1);
    store::FenceScope fenced(own);
    Result<std::vector<SubmitSummary>> alone = pipeline.SubmitAll({requests[i]});
    if (alone.ok()) out.emplace_back(std::move(alone->front()));
    else out.emplace_back(alone.status());
  }
  return out;
}

GroupCommitter::GroupCommitter(Pipeline* pipeline, size_t max_readings_per_commit, std::chrono::microseconds linger)
    : pipeline_(pipeline), max_readings_(max_readings_per_commit), linger_(linger), writer_([this] { Loop(); }) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Result<SubmitSummary> GroupCommitter::Submit(const std::vector<Reading>& readings, const std::string& source,
                                             const std::vector<int>& shards) {
  Request request{&readings, source, &shards, {}, std::chrono::steady_clock::now()};
  std::future<Result<SubmitSummary>> done = request.done.get_future();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unavailable("ingest is shutting down");
    wake = queue_.empty() || queued_readings_ + readings.size() >= max_readings_;
    queue_.push_back(&request);
    queued_readings_ += readings.size();
  }
  // The writer waits for the first request, then (lingering) for a full batch: only those wake it.
  if (wake) cv_.notify_one();
  return done.get();
}

void GroupCommitter::Loop() {
  for (;;) {
    std::vector<Request*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      if (linger_.count() > 0)
        cv_.wait_until(lock, queue_.front()->queued_at + linger_,
                       [this] { return stop_ || queued_readings_ >= max_readings_; });
      size_t readings = 0;
      while (!queue_.empty() && (batch.empty() || readings + queue_.front()->readings->size() <= max_readings_)) {
        readings += queue_.front()->readings->size();
        queued_readings_ -= queue_.front()->readings->size();
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    std::vector<SubmitRequest> requests;
    std::vector<const std::vector<int>*> shards;
    requests.reserve(batch.size());
    shards.reserve(batch.size());
    for (Request* r : batch) {
      requests.push_back({r->readings, r->source, nullptr});
      shards.push_back(r->shards);
    }
    std::vector<Result<SubmitSummary>> results = SubmitFencedGroup(*pipeline_, requests, shards);
    ++commits_;
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
  }
}

}  // namespace mh::ingest
