// libcurl plumbing shared by the channels: one-time global init, a transfer that a Stop() can cut
// short, an HTTP POST, and the mapping of peer answers onto retryable / permanent failures.
// Private to src/alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "base/status.h"

namespace mh::alerts::internal {

// curl_global_init is not thread-safe; every channel calls this before its first easy handle.
void EnsureCurlGlobalInit();

// Runs the configured easy handle to completion, checking "*cancelled" every few tens of
// milliseconds; a cancelled transfer ends with CURLE_ABORTED_BY_CALLBACK.
// "*cancelled" must remain live during the call.
CURLcode PerformCancellable(CURL* easy, const std::atomic<bool>& cancelled);

struct HttpPostRequest {
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  int64_t connect_timeout_ms = 5000;
  int64_t timeout_ms = 10000;
  // Connect only to public internet addresses (terminal_address.h), judged on each address curl
  // is about to connect to, and never through a proxy; a refusal is kInvalidArgument starting
  // with kRefusedAddressPrefix. For customer-chosen URLs.
  bool public_only = false;
};

struct HttpPostResponse {
  long status = 0;
  std::string body;  // the first 512 bytes, for error messages
};

// POSTs over http(s) only, without following redirects. Network errors, timeouts and a
// cancellation are kUnavailable; an OK result carries whatever status the peer answered.
Result<HttpPostResponse> HttpPost(const HttpPostRequest& request, const std::atomic<bool>& cancelled);

// 2xx → OK; 408, 429 and 5xx → kUnavailable (retry); other 4xx (and anything else) →
// kInvalidArgument (will never succeed as sent). The message is "HTTP <status> from <what>: <the
// start of the answer>" (PublicDeliveryError keeps only the status).
Status StatusFromHttp(const HttpPostResponse& response, const std::string& what);

// "http://" or "https://" followed by a host.
bool IsHttpUrl(const std::string& url);

}  // namespace mh::alerts::internal
