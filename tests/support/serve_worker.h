// One `meterhub serve` worker of a scale-out test (SPEC 7): its own --worker-id and HTTP port on
// a shared configuration, with a client for its status and /metrics.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <string>

#include "app/local_broker.h"
#include "support/test_env.h"

namespace mh::testing {

struct ServeWorker {
  ServeWorker(const std::string& config, const std::string& id, const std::string& log)
      : port(app::FreeLoopbackPort()),
        process({"serve", "--config", config, "--worker-id", id, "--listen", "127.0.0.1:" + std::to_string(port)}, log),
        client("127.0.0.1", port) {}
  // GET /api/v1/status; null when it does not answer 200.
  nlohmann::json Status(const httplib::Headers& auth) {
    auto r = client.Get("/api/v1/status", auth);
    return r && r->status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
  }
  // An unlabelled metric of /metrics; -1 when absent.
  double Metric(const std::string& name) {
    auto r = client.Get("/metrics");
    if (!r) return -1;
    const size_t at = r->body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
  }
  int port;
  ChildProcess process;
  httplib::Client client;
};

}  // namespace mh::testing
