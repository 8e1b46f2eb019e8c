#include "alerts/terminal_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <memory>

#include <curl/curl.h>

#include "alerts/channels/curl_transfer.h"
#include "alerts/channels/sms_channel.h"
#include "alerts/channels/smtp_channel.h"

namespace mh::alerts {
namespace {

bool In4(uint32_t a, uint32_t net, int bits) { return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits)); }

std::string ReasonOf4(uint32_t a) {  // host byte order
  struct Range {
    uint32_t net;
    int bits;
    const char* why;
  };
  static constexpr Range kRanges[] = {
      {0x00000000, 8, "unspecified (0.0.0.0/8)"},
      {0x0A000000, 8, "private (RFC 1918)"},
      {0x64400000, 10, "shared address space (RFC 6598, carrier-grade NAT)"},
      {0x7F000000, 8, "loopback"},
      {0xA9FE0000, 16, "link-local (cloud metadata services live here)"},
      {0xAC100000, 12, "private (RFC 1918)"},
      {0xC0000000, 24, "reserved for IETF protocols (192.0.0.0/24)"},
      {0xC0A80000, 16, "private (RFC 1918)"},
      {0xC6120000, 15, "reserved for benchmarking (198.18.0.0/15)"},
      {0xE0000000, 4, "multicast"},
      {0xF0000000, 4, "reserved (240.0.0.0/4, broadcast)"},
  };
  for (const Range& r : kRanges) {
    if (In4(a, r.net, r.bits)) return r.why;
  }
  return "";
}

uint32_t V4At(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string ReasonOf6(const uint8_t* b) {
  static constexpr uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified (::)";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback (::1)";
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(b, kMapped, 12) == 0) return ReasonOf4(V4At(b + 12));
  if (std::memcmp(b, kZero, 12) == 0) return "reserved (IPv4-compatible ::/96)";
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64, 12) == 0) return ReasonOf4(V4At(b + 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && b[4] == 0 && b[5] == 1) return "local-use NAT64";
  if (b[0] == 0x20 && b[1] == 0x02) return ReasonOf4(V4At(b + 2));  // 6to4 carries its IPv4 address
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) return "Teredo tunnel (2001::/32)";
  if (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, kZero, 6) == 0) return "discard-only (100::/64)";
  if ((b[0] & 0xFE) == 0xFC) return "unique local (fc00::/7, private)";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return "link-local (fe80::/10)";
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) return "site-local (fec0::/10, private)";
  if (b[0] == 0xFF) return "multicast";
  return "";
}

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// The host of an http(s) URL (brackets of an IPv6 literal removed), or an error naming the problem.
Result<std::string> HostOf(const std::string& url) {
  if (!internal::IsHttpUrl(url)) return InvalidArgument("must start with http:// or https://");
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u) return Internal("curl_url failed");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return InvalidArgument("not a valid URL");
  char* raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &raw, 0) != CURLUE_OK || raw == nullptr) {
    return InvalidArgument("has no host");
  }
  std::string host(raw);
  curl_free(raw);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return InvalidArgument("has no host");
  return host;
}

}  // namespace

std::string NonPublicReason(const sockaddr* address) {
  if (address == nullptr) return "no address";
  if (address->sa_family == AF_INET) {
    return ReasonOf4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    return ReasonOf6(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr.s6_addr);
  }
  return "not an internet address";
}

std::optional<std::string> NonPublicReasonOfLiteral(const std::string& text) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) return NonPublicReason(reinterpret_cast<sockaddr*>(&v4));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  const std::string no_zone = text.substr(0, text.find('%'));
  if (inet_pton(AF_INET6, no_zone.c_str(), &v6.sin6_addr) == 1) return NonPublicReason(reinterpret_cast<sockaddr*>(&v6));
  return std::nullopt;
}

Status CheckWebhookUrl(const std::string& url, bool allow_private) {
  if (url.size() > kMaxWebhookUrlBytes) {
    return InvalidArgument("webhook URL of " + std::to_string(url.size()) + " bytes (at most " +
                           std::to_string(kMaxWebhookUrlBytes) + ")");
  }
  internal::EnsureCurlGlobalInit();
  Result<std::string> host = HostOf(url);
  if (!host.ok()) return InvalidArgument("webhook URL " + host.status().message());
  if (allow_private) return Status::Ok();
  const std::string hint = " (alerts.webhook.allow_private is off)";
  if (std::optional<std::string> why = NonPublicReasonOfLiteral(*host)) {
    if (!why->empty()) return InvalidArgument("webhook host " + *host + " is " + *why + ": not allowed" + hint);
    return Status::Ok();
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (getaddrinfo(host->c_str(), nullptr, &hints, &raw) != 0) return Status::Ok();  // checked again at send time
  std::unique_ptr<addrinfo, AddrInfoDeleter> found(raw);
  for (const addrinfo* a = found.get(); a != nullptr; a = a->ai_next) {
    std::string why = NonPublicReason(a->ai_addr);
    if (!why.empty()) {
      char text[INET6_ADDRSTRLEN] = "?";
      const void* bytes = a->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr);
      inet_ntop(a->ai_family, bytes, text, sizeof text);
      return InvalidArgument("webhook host " + *host + " resolves to " + text + ", " + why + ": not allowed" + hint);
    }
  }
  return Status::Ok();
}

Status CheckTerminalAddress(const std::string& channel, const std::string& address, bool allow_private) {
  if (channel == "webhook") return CheckWebhookUrl(address, allow_private);
  if (channel == "sms") {
    if (!NormalizePhoneNumber(address)) return InvalidArgument("not a phone number (want + and 6-15 digits)");
    return Status::Ok();
  }
  if (channel == "email") {
    if (!IsValidEmailAddress(address)) return InvalidArgument("not an e-mail address (want local@domain)");
    return Status::Ok();
  }
  return InvalidArgument("unknown channel (webhook, sms or email)");
}

std::string PublicDeliveryError(const std::string& channel, const std::string& error) {
  if (error.empty()) return "";
  const std::string peer = channel == "sms" ? "the SMS gateway" : channel == "email" ? "the mail server" : "the receiver";
  // "HTTP 503 from ...": only the three digits are passed on.
  if (error.size() >= 8 && error.compare(0, 5, "HTTP ") == 0 && std::isdigit(static_cast<unsigned char>(error[5])) &&
      std::isdigit(static_cast<unsigned char>(error[6])) && std::isdigit(static_cast<unsigned char>(error[7]))) {
    return "HTTP " + error.substr(5, 3) + " from " + peer;
  }
  if (error.rfind(kRefusedAddressPrefix, 0) == 0) return "the address is not allowed (not a public internet address)";
  if (error.rfind("not a phone number", 0) == 0) return "not a valid phone number";
  if (error.rfind("not an e-mail address", 0) == 0) return "not a valid e-mail address";
  if (error.find("cancelled (shutting down)") != std::string::npos) return "interrupted by a restart";
  if (channel == "email") return "the mail server did not accept the message";
  return peer + " could not be reached";
}

}  // namespace mh::alerts
