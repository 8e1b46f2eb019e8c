// Sends alert deliveries asynchronously, with retries and exponential back-off, recording every
// attempt in the store's delivery log. Ingestion only writes pending deliveries (in the same
// transaction as the readings); this dispatcher picks them up, so no channel can block ingestion
// and a restart resumes what was pending.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "alerts/channel.h"
#include "base/clock.h"
#include "store/store.h"

namespace mh::alerts {

struct DispatcherOptions {
  int max_attempts = 5;               // then the delivery is marked failed
  int64_t initial_backoff_ms = 1000;  // doubled after each failed attempt
  int64_t max_backoff_ms = 300000;
  int64_t poll_interval_ms = 500;     // how often the store is polled for due deliveries
  int threads = 2;
};

class Dispatcher {
 public:
  // "*store" and "*clock" must outlive the dispatcher.
  Dispatcher(store::Store* store, const Clock* clock, DispatcherOptions options);
  ~Dispatcher();

  void AddChannel(std::unique_ptr<Channel> channel);
  void Start();
  void Stop();
  // Wakes the workers now (after a commit that created deliveries).
  void Nudge();
  // One synchronous pass over due deliveries (tests, and the offline import tool at exit).
  int RunOnce();

  int64_t sent() const { return sent_.load(); }
  int64_t failed() const { return failed_.load(); }
  int64_t retried() const { return retried_.load(); }

 private:
  void Loop();
  bool Deliver(store::Delivery d);

  store::Store* const store_;
  const Clock* const clock_;
  const DispatcherOptions options_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;  // constant after Start()

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;          // guarded by mu_
  bool nudged_ = false;        // guarded by mu_
  std::vector<std::thread> workers_;
  std::mutex claim_mu_;        // serialises claiming due deliveries between workers
  std::atomic<int64_t> sent_{0}, failed_{0}, retried_{0};
};

}  // namespace mh::alerts
