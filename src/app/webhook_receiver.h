// A loopback HTTP server that stands in for the outside world in the demo: the customers' phones
// (alert webhooks), the field-service system (work orders) and the inspectors (inspection
// orders). It counts what arrives per path and keeps the first few bodies; alert webhooks are
// also counted per X-MeterHub-Alert-Id (tests that no alert arrives twice). Like a real receiver,
// it honours Idempotency-Key: a request repeating the key of one it already accepted (2xx) is
// answered again but not taken as a new alert — it is counted as a replay.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include <memory>

#include "http/server.h"

#include "base/status.h"

namespace mh::app {

class WebhookReceiver {
 public:
  // Accepts a POST on any path; each path is its own inbox. `port` 0 = any free port; a given one
  // brings a stopped receiver back where its URLs point (tests of a receiver's outage).
  Status Start(int port = 0);
  void Stop();
  // What every POST is answered from now on (default 204, no body).
  void Answer(int status, std::string body);
  ~WebhookReceiver() { Stop(); }

  std::string url(const std::string& path) const;
  int64_t received(const std::string& path) const;
  std::vector<std::string> samples(const std::string& path) const;
  // Arrivals on `path` per X-MeterHub-Alert-Id header value (requests without one are not counted,
  // nor replays).
  std::map<std::string, int64_t> by_alert(const std::string& path) const;
  // Requests on `path` that repeated the Idempotency-Key of one already accepted.
  int64_t replayed(const std::string& path) const;

 private:
  struct Inbox {
    int64_t received = 0;
    std::vector<std::string> samples;
    std::map<std::string, int64_t> by_alert;
    std::set<std::string> accepted_keys;  // Idempotency-Keys answered 2xx
    int64_t replayed = 0;
  };
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, Inbox> inboxes_;  // guarded by mu_
  int answer_status_ = 204;               // guarded by mu_
  std::string answer_body_;               // guarded by mu_
};

}  // namespace mh::app
