// A notification channel (webhook, SMS gateway, e-mail): one plug-in per way of reaching a
// customer's terminal. Send is blocking and called only from the dispatcher's own threads.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace mh::alerts {

struct Message {
  std::string address;   // URL / phone number / e-mail address of the terminal
  std::string subject;   // one line
  std::string text;      // human-readable body
  std::string json;      // machine-readable body (the alert as JSON)
  // The stable ids of what is sent: the same on every attempt and on a re-send after a
  // dispatcher died (webhooks pass them as Idempotency-Key / X-MeterHub-Alert-Id headers, so a
  // receiver can drop a duplicate). 0 = not a stored delivery.
  int64_t delivery_id = 0;
  int64_t alert_id = 0;
};

class Channel {
 public:
  virtual ~Channel() = default;
  virtual std::string name() const = 0;  // "webhook" | "sms" | "email"
  // OK when the peer accepted the message (2xx / 250). kUnavailable for a retryable failure,
  // kInvalidArgument for one that will never succeed (bad address).
  virtual Status Send(const Message& message) = 0;
  // While set, a Send in progress gives up promptly with kUnavailable and new ones fail at once;
  // Dispatcher::Stop() sets it around joining its workers so shutdown never waits for a peer.
  // May be called from any thread. Channels without blocking I/O need not override it.
  virtual void SetCancelled(bool cancelled) {}
};

}  // namespace mh::alerts
