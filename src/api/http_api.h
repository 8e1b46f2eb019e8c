// The REST API (SPEC 5) for meters, terminals, readings, consumption, quarantine, alerts and
// their deliveries, plus /metrics, /healthz and the OpenAPI document. JSON in and out; errors
// as {"error":{"code","message"}} with the matching HTTP status.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/access_routes.h"
#include "api/metrics.h"
#include "api/readings_routing.h"
#include "base/clock.h"
#include "base/status.h"
#include "billing/tariff.h"
#include "http/server.h"
#include "ingest/group_commit.h"
#include "ingest/pipeline.h"
#include "relay/relay_service.h"
#include "store/store.h"


namespace mh::audit {
class AuditService;
}  // namespace mh::audit
namespace mh::water {
class WaterService;
}

namespace mh::api {

// Where and how the API listens: address, limits, TLS (http/server.h).
using HttpOptions = http::ServerOptions;

// "127.0.0.1:8080" → options->host, options->port.
Status ParseListenAddress(const std::string& listen, HttpOptions* options);

struct ApiDeps {
  store::Store* store = nullptr;
  ingest::Pipeline* pipeline = nullptr;
  ingest::GroupCommitter* committer = nullptr;  // posted readings share commits through it
  const Clock* clock = nullptr;
  Metrics* metrics = nullptr;
  relay::RelayService* relay = nullptr;  // null = no relay routes
  audit::AuditService* audit = nullptr;  // null = no audit routes
  water::WaterService* water = nullptr;  // null = no water routes
  std::function<nlohmann::json()> status;  // extra fields for GET /api/v1/status
  AccessOptions access;                    // sessions of the dashboard
  std::string metrics_token;               // set: /metrics needs "Authorization: Bearer <it>"
  std::string web_root;                    // the built dashboard's files; empty = no dashboard
  bool allow_private_webhooks = false;     // alerts.webhook.allow_private: terminals may use any address
  std::function<void()> deliveries_requeued;  // after POST .../retry (wakes the dispatcher); may be empty
  // Publishes a command to a meter (its MQTT command topic); empty = no broker.
  std::function<Status(const std::string& meter_id, const std::string& payload)> send_command;
  // `[mqtt] provisioning = "dynsec"`: makes a registered meter a broker device with `password`
  // (generated when empty) and returns the password used; empty = credentials are managed elsewhere.
  std::function<Result<std::string>(const std::string& meter_id, const std::string& password)> provision_device;
  // Tariff calendars per meter group ([tariffs.NAME]); null = every meter in one band "all".
  std::shared_ptr<const billing::TariffBook> tariffs;
  // Scale-out (PostgreSQL, api/readings_routing.h): who commits a shard's posted readings, and how
  // a batch of another worker's shards is forwarded to it. Empty = this process owns every shard.
  std::function<ShardRoute(int shard)> shard_route;
  ForwardFn forward;
  int retry_after_s = 10;  // on a 503 for a shard that has no live owner: the lease period
};

class HttpApi {
 public:
  HttpApi(ApiDeps deps, HttpOptions options);
  ~HttpApi();

  // Binds and serves on background threads. AlreadyExists when the address is in use.
  Status Start();
  void Stop();
  int port() const { return port_; }
  // Every route served, (method, path pattern) — after Start().
  std::vector<std::pair<std::string, std::string>> RouteTable() const { return server_->RouteTable(); }

 private:
  void Routes();

  ApiDeps deps_;
  HttpOptions options_;
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
};

// The OpenAPI 3.0 document served at /api/v1/openapi.json.
nlohmann::json OpenApiDocument();

}  // namespace mh::api
