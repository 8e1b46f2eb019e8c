// Segments fetched on request (SPEC 4.5: on a verification request, obtain the fixed and dynamic
// segments from the meter): each run that asks a meter gets a request id, and waits — bounded in
// time, and bounded in number, so that waiting runs cannot take every HTTP worker — for the answer
// carrying that id. Thread-safe; the answers arrive on the MQTT threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"
#include "store/audit_store.h"

namespace mh::audit {

class SegmentRequests {
 public:
  explicit SegmentRequests(int max_waiting) : max_waiting_(max_waiting) {}

  // A new request of `meter_id` (its id is unique in this process: `now_ms` and a counter).
  // Unavailable (retry later) when `max_waiting` requests are open already.
  Result<std::string> Open(const std::string& meter_id, int64_t now_ms);
  // Waits up to `timeout` for the answer to an open request, then closes it: nullopt when none
  // came (or Shutdown was called).
  std::optional<store::AuditSegments> Wait(const std::string& request_id, std::chrono::milliseconds timeout);
  // Closes a request without waiting (its command could not be sent).
  void Cancel(const std::string& request_id);
  // An answer: true when it is for an open request of that meter (which then gets it).
  bool Deliver(const std::string& meter_id, const std::string& request_id, const store::AuditSegments& segments);
  // Wakes every waiter (they get nullopt); later Opens are refused.
  void Shutdown();

  int open() const;

 private:
  struct Pending {
    std::string meter_id;
    std::optional<store::AuditSegments> answer;
  };
  const int max_waiting_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Pending> pending_;  // guarded by mu_, by request id
  uint64_t counter_ = 0;                    // guarded by mu_
  bool shutdown_ = false;                   // guarded by mu_
};

}  // namespace mh::audit
