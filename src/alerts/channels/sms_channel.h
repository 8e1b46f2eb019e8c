// The SMS channel: hands the alert text to an SMS gateway over HTTP
// (POST {"to": "+8613800138000", "text": "..."} with an optional bearer token).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "alerts/channel.h"

namespace mh::alerts {

// [alerts.sms]
struct SmsOptions {
  std::string url;                     // the gateway's endpoint, http:// or https://
  std::string token;                   // sent as "Authorization: Bearer <token>"; empty = none
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 10000;
  size_t max_chars = 480;              // longer texts are cut (3 concatenated SMS segments)
};

class SmsChannel final : public Channel {
 public:
  explicit SmsChannel(SmsOptions options);

  std::string name() const override { return "sms"; }
  // message.address is the phone number; an invalid one is kInvalidArgument without a request.
  // Gateway answers map like the webhook's (2xx OK; 408/429/5xx retry; other 4xx permanent).
  Status Send(const Message& message) override;
  void SetCancelled(bool cancelled) override { cancelled_ = cancelled; }

 private:
  const SmsOptions options_;
  std::atomic<bool> cancelled_{false};
};

// "+", then 6–15 digits once spaces, '-', '.', '(' and ')' are dropped; the normalised number,
// or nullopt.
std::optional<std::string> NormalizePhoneNumber(const std::string& phone);

// The first `max_chars` characters (UTF-8 code points, never a split sequence) of `text`.
std::string TruncateUtf8(const std::string& text, size_t max_chars);

}  // namespace mh::alerts
