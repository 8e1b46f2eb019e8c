#include "alerts/channels/webhook_channel.h"

#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alerts/channels/curl_transfer.h"

namespace mh::alerts {

WebhookChannel::WebhookChannel(WebhookOptions options) : options_(std::move(options)) {
  internal::EnsureCurlGlobalInit();
}

Status WebhookChannel::Send(const Message& message) {
  if (!internal::IsHttpUrl(message.address)) {
    return InvalidArgument("webhook address is not an http(s) URL: \"" + message.address + "\"");
  }
  internal::HttpPostRequest request;
  request.url = message.address;
  request.body = message.json;
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.timeout_ms = options_.timeout_ms;
  request.public_only = !options_.allow_private;
  request.headers = {"Content-Type: application/json", "User-Agent: " + options_.user_agent};
  if (message.delivery_id != 0) request.headers.push_back("Idempotency-Key: meterhub-delivery-" + std::to_string(message.delivery_id));
  if (message.alert_id != 0) request.headers.push_back("X-MeterHub-Alert-Id: " + std::to_string(message.alert_id));
  if (!options_.secret.empty()) {
    request.headers.push_back("X-MeterHub-Signature: " + WebhookSignature(options_.secret, message.json));
  }
  MH_ASSIGN_OR_RETURN(internal::HttpPostResponse response, internal::HttpPost(request, cancelled_));
  return internal::StatusFromHttp(response, "webhook " + message.address);
}

std::string WebhookSignature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

}  // namespace mh::alerts
