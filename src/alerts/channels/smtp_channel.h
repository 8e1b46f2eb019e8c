// The e-mail channel: sends the alert as a plain-text RFC 5322 message over SMTP (libcurl):
// smtp:// with optional STARTTLS, or smtps://, with optional AUTH.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "alerts/channel.h"
#include "base/clock.h"

namespace mh::alerts {

// [alerts.email]
struct SmtpOptions {
  std::string url = "smtp://127.0.0.1:25";  // smtp://host:port or smtps://host:port (implicit TLS)
  std::string from = "meterhub@localhost";  // envelope and header sender address
  std::string from_name = "MeterHub";       // display name in From:; empty = address only
  std::string username;                     // AUTH; empty = no authentication
  std::string password;
  bool starttls = false;                    // smtp:// only: require STARTTLS before anything else
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 10000;               // the whole SMTP conversation
};

class SmtpChannel final : public Channel {
 public:
  // "*clock" (for the Date header) must outlive the channel.
  SmtpChannel(SmtpOptions options, const Clock* clock);

  std::string name() const override { return "email"; }
  // message.address is the recipient. The server's final 250 → OK; a 5xx reply (e.g. 550 no such
  // user) or a malformed address → kInvalidArgument; 4xx, network and TLS errors → kUnavailable.
  Status Send(const Message& message) override;
  void SetCancelled(bool cancelled) override { cancelled_ = cancelled; }

 private:
  const SmtpOptions options_;
  const Clock* const clock_;
  std::atomic<bool> cancelled_{false};
  std::atomic<uint64_t> sequence_{0};  // makes Message-IDs unique within this process
};

// A bare addr-spec we are willing to put on the wire: local@domain, printable ASCII, none of
// the characters that would let it smuggle a header or a second recipient.
bool IsValidEmailAddress(const std::string& address);

// "Thu, 29 Oct 2020 15:00:00 +0000" (RFC 5322 date-time, UTC).
std::string FormatRfc5322Date(int64_t epoch_s);

// The complete message (headers, blank line, CRLF body) handed to the server after DATA.
std::string BuildEmail(const SmtpOptions& options, const Message& message, int64_t now_s,
                       const std::string& message_id);

}  // namespace mh::alerts
