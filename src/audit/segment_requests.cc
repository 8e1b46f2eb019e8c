#include "audit/segment_requests.h"

namespace mh::audit {

Result<std::string> SegmentRequests::Open(const std::string& meter_id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (shutdown_) return Unavailable("the audit server is stopping");
  if (static_cast<int>(pending_.size()) >= max_waiting_) {
    return Unavailable(std::to_string(pending_.size()) +
                             " audits are already waiting for their meters' segments (audit.max_waiting_runs); retry later");
  }
  const std::string id = std::to_string(now_ms) + "-" + std::to_string(++counter_);
  pending_[id] = Pending{meter_id, std::nullopt};
  return id;
}

std::optional<store::AuditSegments> SegmentRequests::Wait(const std::string& request_id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return std::nullopt;
  cv_.wait_for(lock, timeout, [&] { return shutdown_ || it->second.answer.has_value(); });
  std::optional<store::AuditSegments> answer = std::move(it->second.answer);
  pending_.erase(it);
  return answer;
}

void SegmentRequests::Cancel(const std::string& request_id) {
  std::lock_guard lock(mu_);
  pending_.erase(request_id);
}

bool SegmentRequests::Deliver(const std::string& meter_id, const std::string& request_id,
                              const store::AuditSegments& segments) {
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(request_id);
    if (it == pending_.end() || it->second.meter_id != meter_id || it->second.answer) return false;
    it->second.answer = segments;
  }
  cv_.notify_all();
  return true;
}

void SegmentRequests::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

int SegmentRequests::open() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(pending_.size());
}

}  // namespace mh::audit
