#include "alerts/dispatcher.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

#include "alerts/message.h"

namespace mh::alerts {

using store::Delivery;
using store::DeliveryStatus;

int64_t RetryDelayMs(const DispatcherOptions& options, int attempts) {
  int64_t delay = std::max<int64_t>(options.initial_backoff_ms, 0);
  const int64_t cap = std::max<int64_t>(options.max_backoff_ms, 0);
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;  // stops long before overflow
  return std::min(delay, cap);
}

void ScheduleAfterFailure(const DispatcherOptions& options, bool permanent, int64_t now_ms, Delivery* d) {
  const int round_attempts = d->attempts - d->round_base;
  const int64_t deadline = options.give_up_after_ms > 0 ? d->round_started_at + options.give_up_after_ms : INT64_MAX;
  const bool out_of_attempts = options.max_attempts > 0 && round_attempts >= options.max_attempts;
  if (permanent || out_of_attempts || now_ms >= deadline) {
    d->status = DeliveryStatus::kFailed;
    return;
  }
  d->status = DeliveryStatus::kPending;
  d->next_attempt_at = std::min(now_ms + RetryDelayMs(options, round_attempts), deadline);
}

Dispatcher::Dispatcher(store::Store* store, const Clock* clock, DispatcherOptions options)
    : store_(store), clock_(clock), options_(options) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::AddChannel(std::unique_ptr<Channel> channel) {
  std::string name = channel->name();
  channels_[name] = std::move(channel);
}

void Dispatcher::Start() {
  if (!workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  stopping_ = false;
  ForEachChannel(false);
  const int n = std::max(1, options_.threads);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Loop(); });
}

void Dispatcher::Stop() {
  if (workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stopping_ = true;
  cv_.notify_all();
  ForEachChannel(true);  // a send waiting on a slow peer gives up now
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  ForEachChannel(false);  // RunOnce stays usable after Stop
  stopping_ = false;
}

void Dispatcher::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++nudges_;
  }
  cv_.notify_all();
}

int Dispatcher::RunOnce() {
  std::set<int64_t> seen;
  int attempted = 0;
  while (true) {
    std::vector<Delivery> batch = Claim(std::max(1, options_.batch_size), &seen);
    if (batch.empty()) break;
    for (Delivery& d : batch) {
      seen.insert(d.id);
      Deliver(std::move(d));
      ++attempted;
    }
  }
  return attempted;
}

int64_t Dispatcher::in_flight() const {
  std::lock_guard<std::mutex> lock(claim_mu_);
  return static_cast<int64_t>(in_flight_.size());
}

void Dispatcher::Loop() {
  uint64_t seen_nudges = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_nudges = nudges_;
  }
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    std::vector<Delivery> batch = Claim(std::max(1, options_.batch_size), nullptr);
    if (!batch.empty()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        if (stopping_) {  // leave the rest pending for the next start
          for (size_t j = i; j < batch.size(); ++j) Release(batch[j], true);
          break;
        }
        Deliver(std::move(batch[i]));
      }
      continue;  // more may be due: claim again before sleeping
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(options_.poll_interval_ms, 1)),
                 [&] { return stop_ || nudges_ != seen_nudges; });
    seen_nudges = nudges_;
  }
}

std::vector<Delivery> Dispatcher::Claim(int max, const std::set<int64_t>* skip) {
  std::lock_guard<std::mutex> lock(claim_mu_);
  if (active_ && !active_()) return {};
  // Ask for enough rows that those already in flight (or skipped) cannot hide the rest.
  const int64_t limit = max + static_cast<int64_t>(in_flight_.size()) +
                        static_cast<int64_t>(skip != nullptr ? skip->size() : 0);
  Result<std::vector<Delivery>> due = store_->DueDeliveries(clock_->NowMillis(), limit);
  if (!due.ok()) {
    spdlog::warn("alerts: reading due deliveries: {}", due.status().ToString());
    return {};
  }
  std::vector<Delivery> claimed;
  for (Delivery& d : *due) {
    if (static_cast<int>(claimed.size()) == max) break;
    if (d.status != DeliveryStatus::kPending) continue;
    if (in_flight_.count(d.id) != 0 || (skip != nullptr && skip->count(d.id) != 0)) continue;
    const int64_t until = clock_->NowMillis() + std::max<int64_t>(options_.claim_ms, 1);
    Result<bool> won = store_->ClaimDelivery(d.id, d.next_attempt_at, until);
    if (!won.ok()) {  // e.g. the alerts lease was lost meanwhile: claim nothing more this round
      spdlog::warn("alerts: claiming delivery {}: {}", d.id, won.status().ToString());
      break;
    }
    if (!*won) continue;  // another dispatcher has it, or it was recorded meanwhile
    in_flight_[d.id] = until;
    claimed.push_back(std::move(d));
  }
  return claimed;
}

void Dispatcher::Release(const Delivery& d, bool unclaim) {
  std::lock_guard<std::mutex> lock(claim_mu_);
  auto it = in_flight_.find(d.id);
  if (it == in_flight_.end()) return;
  if (unclaim) {
    Result<bool> back = store_->ClaimDelivery(d.id, it->second, d.next_attempt_at);
    if (!back.ok()) spdlog::info("alerts: giving back delivery {}: {} (due again when the claim expires)", d.id, back.status().ToString());
  }
  in_flight_.erase(it);
}

bool Dispatcher::Deliver(Delivery d) {
  const int64_t id = d.id;
  auto it = channels_.find(d.channel);
  Status result;
  if (it == channels_.end()) {
    std::string have;
    for (const auto& [name, channel] : channels_) have += (have.empty() ? "" : ", ") + name;
    result = InvalidArgument("no channel \"" + d.channel + "\" is configured (configured: " +
                             (have.empty() ? "none" : have) + ")");
  } else {
    Message message = MessageFromContent(d.content, d.alert_id);
    message.address = d.address;
    message.delivery_id = d.id;
    message.alert_id = d.alert_id;
    if (d.round_started_at == 0) d.round_started_at = clock_->NowMillis();
    try {
      result = it->second->Send(message);
    } catch (const std::exception& e) {
      result = Internal(std::string("channel threw: ") + e.what());
    }
    if (!result.ok() && stopping_ && result.code() != StatusCode::kInvalidArgument) {
      spdlog::info("alerts: delivery {} interrupted by shutdown, left pending", id);
      Release(d, true);
      return false;
    }
    ++d.attempts;
  }

  const int64_t now = clock_->NowMillis();
  d.updated_at = now;
  bool sent = false;
  if (result.ok()) {
    d.status = DeliveryStatus::kSent;
    d.last_error.clear();
    ++sent_;
    sent = true;
  } else {
    d.last_error = result.message();
    if (d.round_started_at == 0) d.round_started_at = now;  // no channel: not even tried
    ScheduleAfterFailure(options_, result.code() == StatusCode::kInvalidArgument, now, &d);
    if (d.status == DeliveryStatus::kFailed) {
      ++failed_;
      spdlog::warn("alerts: delivery {} ({} to {}) failed after {} attempt(s): {}", id, d.channel, d.address,
                   d.attempts, result.ToString());
    } else {
      ++retried_;
      spdlog::info("alerts: delivery {} ({} to {}) attempt {} failed, retry in {} ms: {}", id, d.channel,
                   d.address, d.attempts, d.next_attempt_at - now, result.ToString());
    }
  }
  Status recorded = store_->UpdateDelivery(d);
  if (!recorded.ok()) {
    spdlog::error("alerts: recording delivery {} as {}: {}", id, store::DeliveryStatusName(d.status),
                  recorded.ToString());
  }
  Release(d);  // only now: the recorded row is what the next claim sees
  return sent;
}

void Dispatcher::ForEachChannel(bool cancelled) {
  for (auto& [name, channel] : channels_) channel->SetCancelled(cancelled);
}

}  // namespace mh::alerts
