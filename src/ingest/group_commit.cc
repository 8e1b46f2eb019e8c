#include "ingest/group_commit.h"

#include "store/commit_fence.h"

namespace mh::ingest {

GroupCommitter::GroupCommitter(Pipeline* pipeline, size_t max_readings_per_commit)
    : pipeline_(pipeline), max_readings_(max_readings_per_commit), writer_([this] { Loop(); }) {}

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
  Request request{&readings, source, &shards, {}};
  std::future<Result<SubmitSummary>> done = request.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unavailable("ingest is shutting down");
    queue_.push_back(&request);
  }
  cv_.notify_one();
  return done.get();
}

void GroupCommitter::Loop() {
  for (;;) {
    std::vector<Request*> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      size_t readings = 0;
      while (!queue_.empty() && (batch.empty() || readings + queue_.front()->readings->size() <= max_readings_)) {
        readings += queue_.front()->readings->size();
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    std::vector<SubmitRequest> requests;
    requests.reserve(batch.size());
    std::vector<int> shards;
    for (Request* r : batch) {
      requests.push_back({r->readings, r->source, nullptr});
      shards.insert(shards.end(), r->shards->begin(), r->shards->end());
    }
    Result<std::vector<SubmitSummary>> result = [&] {
      store::FenceScope fenced(shards);
      return pipeline_->SubmitAll(requests);
    }();
    ++commits_;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (result.ok()) batch[i]->done.set_value(std::move((*result)[i]));
      else batch[i]->done.set_value(result.status());
    }
  }
}

}  // namespace mh::ingest
