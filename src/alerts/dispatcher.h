// Sends alert deliveries asynchronously, with retries and exponential back-off, recording every
// attempt in the store's delivery log. Ingestion only writes pending deliveries (in the same
// transaction as the readings); this dispatcher picks them up, so no channel can block ingestion
// and a restart resumes what was pending.
//
// Threads: Start() runs `threads` workers; each claims up to `batch_size` due deliveries (an
// in-flight set keeps two workers, or a worker and RunOnce, from sending the same one), sends
// them one by one and records the outcome, then waits on a condition variable until the next
// poll or a Nudge(). Stop() cancels sends in progress (Channel::SetCancelled) and joins at once;
// a send cut short is not counted as an attempt and stays pending for the next start.
// Each delivery is claimed in the store (Store::ClaimDelivery, committed) before it is sent and
// recorded after: two dispatchers never send the same delivery at once, and on PostgreSQL only
// the holder of the "alerts" lease can claim (SPEC 7). What is left is HTTP's own limit: a
// dispatcher that dies (or fails to record) after the peer accepted a delivery leaves the claim,
// and the delivery is sent again once the claim expires (claim_ms), with the same delivery and
// alert ids so the receiver can drop the duplicate. README.md ("Alert deliveries") says so.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alerts/channel.h"
#include "base/clock.h"
#include "store/store.h"

namespace mh::alerts {

// [alerts]. A delivery is tried in rounds: the first starts when the alert is created, another
// each time it is re-queued (POST /api/v1/deliveries/{id}/retry). Within a round the waits double
// from initial_backoff_ms up to max_backoff_ms; the round ends `failed` once give_up_after_ms has
// passed since its first attempt (the last attempt is made at that moment), or after max_attempts
// attempts when that is set. The defaults ride out a receiver's outage of up to a day: retries
// after 10 s, 20 s, 40 s, ... reach the 30-minute cap after 8 attempts (~43 min), then every
// 30 minutes — ~55 attempts in 24 h, and an alert reaches a receiver at most 30 minutes after it
// comes back. README.md ("Alert deliveries") explains the choice.
struct DispatcherOptions {
  int max_attempts = 0;                     // attempts per round, then failed; 0 = no cap (time decides)
  int64_t give_up_after_ms = 24 * 3600000;  // a round ends this long after its first attempt; 0 = never
  int64_t initial_backoff_ms = 10000;       // doubled after each failed attempt
  int64_t max_backoff_ms = 1800000;         // the longest wait between two attempts (30 min)
  int64_t poll_interval_ms = 500;           // how often the store is polled for due deliveries
  int threads = 2;
  int batch_size = 8;                 // deliveries a worker claims per store query
  // How long a claim keeps a delivery from everyone else: a dispatcher that died after claiming
  // leaves it pending, due again this long after the claim. Scale-out: the lease period, so a
  // dead worker's claims fall due when its lease has lapsed. Not a config key.
  int64_t claim_ms = 60000;
};

// The wait after the `attempts`-th failed attempt of a round: initial × 2^(attempts−1), capped at max.
int64_t RetryDelayMs(const DispatcherOptions& options, int attempts);

// What a failed attempt made at `now_ms` (already counted in d.attempts) leaves the delivery as:
// kFailed when the error is permanent or the round is over, else kPending with its next attempt
// (never later than the round's deadline). Sets status, next_attempt_at.
void ScheduleAfterFailure(const DispatcherOptions& options, bool permanent, int64_t now_ms, store::Delivery* d);

class Dispatcher {
 public:
  // "*store" and "*clock" must outlive the dispatcher.
  Dispatcher(store::Store* store, const Clock* clock, DispatcherOptions options);
  ~Dispatcher();

  // Before Start(). A delivery goes to the channel whose name() equals its `channel`; a later
  // channel with the same name replaces the earlier one.
  void AddChannel(std::unique_ptr<Channel> channel);
  // Before Start(). Set: deliveries are claimed only while it returns true (scale-out: only the
  // worker holding the "alerts" singleton lease sends, so no alert goes out twice).
  void SetActive(std::function<bool()> active) { active_ = std::move(active); }
  void Start();
  void Stop();
  // Wakes the workers now (after a commit that created deliveries).
  void Nudge();
  // One synchronous pass over due deliveries (tests, and the offline import tool at exit):
  // every delivery due now is attempted at most once. Returns how many were attempted.
  int RunOnce();

  int64_t sent() const { return sent_.load(); }
  int64_t failed() const { return failed_.load(); }
  int64_t retried() const { return retried_.load(); }
  // Deliveries claimed and not yet recorded (a gauge for /metrics).
  int64_t in_flight() const;

 private:
  void Loop();
  // Claims up to `max` due deliveries not in flight and not in "*skip" (may be null): in the
  // store (ClaimDelivery) and in the in-flight set.
  std::vector<store::Delivery> Claim(int max, const std::set<int64_t>* skip);
  // Drops a delivery from the in-flight set; `unclaim`: gives its store claim back too (due again
  // at once — a send cut short by Stop()).
  void Release(const store::Delivery& d, bool unclaim = false);
  // Sends one claimed delivery and records the outcome; releases the claim. True when sent.
  bool Deliver(store::Delivery d);
  void ForEachChannel(bool cancelled);

  // Constant after construction (channels_: after Start()).
  store::Store* const store_;
  const Clock* const clock_;
  const DispatcherOptions options_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::function<bool()> active_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;          // guarded by mu_
  uint64_t nudges_ = 0;        // guarded by mu_; each worker wakes on every increment
  std::vector<std::thread> workers_;  // touched only by Start/Stop (one controlling thread)

  mutable std::mutex claim_mu_;       // serialises claiming due deliveries between workers
  std::map<int64_t, int64_t> in_flight_;  // guarded by claim_mu_: delivery id → claimed until

  std::atomic<bool> stopping_{false};  // Stop() in progress: a failed send is not an attempt
  std::atomic<int64_t> sent_{0}, failed_{0}, retried_{0};
};

}  // namespace mh::alerts
