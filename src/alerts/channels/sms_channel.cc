#include "alerts/channels/sms_channel.h"

#include <utility>

#include <nlohmann/json.hpp>

#include "alerts/channels/curl_transfer.h"

namespace mh::alerts {

SmsChannel::SmsChannel(SmsOptions options) : options_(std::move(options)) {
  internal::EnsureCurlGlobalInit();
}

Status SmsChannel::Send(const Message& message) {
  std::optional<std::string> to = NormalizePhoneNumber(message.address);
  if (!to) {
    return InvalidArgument("not a phone number (want + and 6-15 digits): \"" + message.address + "\"");
  }
  if (!internal::IsHttpUrl(options_.url)) {
    return InvalidArgument("[alerts.sms] url is not an http(s) URL: \"" + options_.url + "\"");
  }
  const std::string& text = message.text.empty() ? message.subject : message.text;
  nlohmann::json body = {{"to", *to}, {"text", TruncateUtf8(text, options_.max_chars)}};

  internal::HttpPostRequest request;
  request.url = options_.url;
  // Replace invalid UTF-8 rather than throw: the text is ours, but a meter id could be odd.
  request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.timeout_ms = options_.timeout_ms;
  request.headers = {"Content-Type: application/json"};
  if (!options_.token.empty()) request.headers.push_back("Authorization: Bearer " + options_.token);
  MH_ASSIGN_OR_RETURN(internal::HttpPostResponse response, internal::HttpPost(request, cancelled_));
  return internal::StatusFromHttp(response, "SMS gateway " + options_.url);
}

std::optional<std::string> NormalizePhoneNumber(const std::string& phone) {
  std::string out;
  for (char c : phone) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && out.empty()) {
      out += c;
    } else if (c >= '0' && c <= '9' && !out.empty()) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  size_t digits = out.empty() ? 0 : out.size() - 1;
  if (digits < 6 || digits > 15) return std::nullopt;
  return out;
}

std::string TruncateUtf8(const std::string& text, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    // Count lead bytes only: continuation bytes are 10xxxxxx.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return text.substr(0, i);
      ++chars;
    }
  }
  return text;
}

}  // namespace mh::alerts
