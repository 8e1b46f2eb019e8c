// REST routes of water remote maintenance (seed 001, SPEC 3 and 5): the pairing table, windows with
// their verdicts and parameters, commands, work orders, the maintenance history, customer photos.
#pragma once

namespace mh::http {
class Server;
}
namespace mh::store {
class Store;
}
namespace mh::water {
class WaterService;
}

namespace mh::api {

void AddWaterRoutes(http::Server& srv, store::Store* store, water::WaterService* water);

}  // namespace mh::api
