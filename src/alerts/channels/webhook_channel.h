// The webhook channel: POSTs the alert JSON to the terminal's URL, optionally signed so the
// receiver can tell MeterHub's alerts from forgeries.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "alerts/channel.h"

namespace mh::alerts {

// [alerts.webhook]
struct WebhookOptions {
  std::string secret;                  // HMAC-SHA256 key; empty = no X-MeterHub-Signature header
  int64_t connect_timeout_ms = 5000;   // TCP + TLS connect
  int64_t timeout_ms = 10000;          // the whole request
  std::string user_agent = "MeterHub-Alerts/1";
  // Customers choose webhook URLs: unless this is set, a send connects only to public internet
  // addresses (terminal_address.h), checked on the address actually connected.
  bool allow_private = false;
};

class WebhookChannel final : public Channel {
 public:
  explicit WebhookChannel(WebhookOptions options);

  std::string name() const override { return "webhook"; }
  // POSTs message.json to message.address (http:// or https://). 2xx → OK; 408, 429, 5xx and
  // network errors → kUnavailable; any other answer → kInvalidArgument.
  Status Send(const Message& message) override;
  void SetCancelled(bool cancelled) override { cancelled_ = cancelled; }

 private:
  const WebhookOptions options_;
  std::atomic<bool> cancelled_{false};
};

// "sha256=" + lowercase hex of HMAC-SHA256(secret, body): the X-MeterHub-Signature value.
std::string WebhookSignature(const std::string& secret, const std::string& body);

}  // namespace mh::alerts
