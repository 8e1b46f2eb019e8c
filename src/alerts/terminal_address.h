// Which addresses a customer's terminal may be bound to, and what a customer may read of a failed
// delivery. A customer chooses the address and MeterHub connects to it, so a webhook must never
// reach into the operator's own network (server-side request forgery): the URL is checked when the
// terminal is bound (its literal host, or every address the host resolves to) and again on the
// address each send actually connects to (HttpPost's public_only), so a DNS change or a redirect
// cannot get round it. `alerts.webhook.allow_private = true` lifts the address rule.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <string>

#include "base/status.h"

namespace mh::alerts {

inline constexpr size_t kMaxWebhookUrlBytes = 2048;

// Why `address` is not a public unicast internet address — "loopback", "private (RFC 1918)",
// "link-local (cloud metadata lives here)", ... — or "" when it is one. IPv4-mapped, NAT64 and
// 6to4 IPv6 addresses are judged by the IPv4 address they carry.
std::string NonPublicReason(const sockaddr* address);
// The same for an IP literal ("127.0.0.1", "::1"); nullopt when `text` is not one.
std::optional<std::string> NonPublicReasonOfLiteral(const std::string& text);

// A webhook URL: http:// or https://, a host, at most kMaxWebhookUrlBytes; unless allow_private,
// a host that is, or resolves only to, public addresses. A name that does not resolve now is
// accepted (a DNS outage must not stop a binding): the send-time check still applies.
Status CheckWebhookUrl(const std::string& url, bool allow_private);

// A terminal's address for its channel: "webhook" as CheckWebhookUrl, "sms" a phone number
// (NormalizePhoneNumber), "email" an addr-spec (IsValidEmailAddress). InvalidArgument naming the
// problem otherwise, including an unknown channel.
Status CheckTerminalAddress(const std::string& channel, const std::string& address, bool allow_private);

// The start of every error of a send refused by the address rule (curl_transfer.cc writes it).
inline constexpr const char* kRefusedAddressPrefix = "refused: ";

// What a customer may read of a delivery's error: a short generic phrase ("HTTP 500 from the
// receiver", "the receiver could not be reached", ...), never the peer's answer, our gateway's or
// mail server's address, or any other internal detail. Staff read the error as stored.
std::string PublicDeliveryError(const std::string& channel, const std::string& error);

}  // namespace mh::alerts
