// REST routes the dashboard's fleet and meter views need beyond the plain resources: the fleet
// aggregate (GET /api/v1/fleet/summary), and a meter's readings as compact columns for charting
// (GET /api/v1/meters/{id}/series). The searchable meter list is GET /api/v1/meters (http_api.cc).
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "http/server.h"
#include "ingest/pipeline.h"
#include "store/store.h"

namespace mh::api {

struct FleetDeps {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  const ingest::Pipeline* pipeline = nullptr;  // for the ingest rate; null = none
  std::function<nlohmann::json()> status;      // the daemon's extra status (mqtt state, ...)
};

void AddFleetRoutes(http::Server& srv, FleetDeps deps);

}  // namespace mh::api
