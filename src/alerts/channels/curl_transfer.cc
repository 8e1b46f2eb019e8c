#include "alerts/channels/curl_transfer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string_view>

#include "alerts/terminal_address.h"

namespace mh::alerts::internal {
namespace {

constexpr size_t kMaxBodyKept = 512;
constexpr int kPollSliceMs = 50;  // how long a cancelled transfer may keep running

size_t KeepBody(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t len = size * n;
  if (body->size() < kMaxBodyKept) body->append(data, std::min(len, kMaxBodyKept - body->size()));
  return len;
}

// CURLOPT_OPENSOCKETFUNCTION of a public_only transfer: the last gate before connect(), on the
// address curl resolved (whatever DNS answered by then) — a non-public one gets no socket.
struct SocketGate {
  std::string refused;  // "127.0.0.1 is loopback" of the last address refused
};

curl_socket_t OpenPublicSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* gate = static_cast<SocketGate*>(user);
  if (purpose == CURLSOCKTYPE_IPCXN) {
    const std::string why = NonPublicReason(&address->addr);
    if (!why.empty()) {
      char text[INET6_ADDRSTRLEN] = "?";
      const void* bytes =
          address->family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address->addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address->addr)->sin6_addr);
      inet_ntop(address->family, bytes, text, sizeof text);
      gate->refused = std::string(text) + " is " + why;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CURLcode PerformCancellable(CURL* easy, const std::atomic<bool>& cancelled) {
  if (cancelled.load()) return CURLE_ABORTED_BY_CALLBACK;
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!multi) return CURLE_OUT_OF_MEMORY;
  if (curl_multi_add_handle(multi.get(), easy) != CURLM_OK) return CURLE_FAILED_INIT;
  CURLcode result = CURLE_OK;
  bool done = false;
  while (!done) {
    int running = 0;
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
        result = msg->data.result;
        done = true;
      }
    }
    if (done) break;
    if (cancelled.load()) {
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    if (curl_multi_poll(multi.get(), nullptr, 0, kPollSliceMs, nullptr) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
  }
  curl_multi_remove_handle(multi.get(), easy);
  return result;
}

Result<HttpPostResponse> HttpPost(const HttpPostRequest& request, const std::atomic<bool>& cancelled) {
  EnsureCurlGlobalInit();
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return Internal("curl_easy_init failed");
  curl_slist* raw_headers = nullptr;
  for (const std::string& h : request.headers) raw_headers = curl_slist_append(raw_headers, h.c_str());
  // No "Expect: 100-continue" round trip: alert bodies are small.
  raw_headers = curl_slist_append(raw_headers, "Expect:");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw_headers);

  HttpPostResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &KeepBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  SocketGate gate;
  if (request.public_only) {
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &OpenPublicSocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &gate);
    curl_easy_setopt(e, CURLOPT_PROXY, "");  // a proxy would connect on our behalf, unchecked
  }

  CURLcode rc = PerformCancellable(e, cancelled);
  if (!gate.refused.empty() && rc != CURLE_OK) {
    return InvalidArgument(std::string(kRefusedAddressPrefix) + "POST " + request.url + " would connect to " +
                           gate.refused + " (alerts.webhook.allow_private is off)");
  }
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Unavailable("POST " + request.url + ": cancelled (shutting down)");
  if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
    return InvalidArgument("POST " + request.url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  }
  if (rc != CURLE_OK) {
    return Unavailable("POST " + request.url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Status StatusFromHttp(const HttpPostResponse& response, const std::string& what) {
  long s = response.status;
  if (s >= 200 && s < 300) return Status::Ok();
  std::string message = "HTTP " + std::to_string(s) + " from " + what;
  if (!response.body.empty()) message += ": " + response.body;
  if (s == 408 || s == 429 || (s >= 500 && s < 600)) return Unavailable(message);
  return InvalidArgument(message);
}

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    std::string_view p(scheme);
    if (url.size() > p.size() && url.compare(0, p.size(), p) == 0) return true;
  }
  return false;
}

}  // namespace mh::alerts::internal
