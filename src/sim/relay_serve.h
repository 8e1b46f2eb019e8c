// `meterhub sim relay --serve URL --broker HOST:PORT --token T`: the relay simulation against a
// running `meterhub serve` over a real MQTT broker. Every simulated meter is registered over REST,
// receives its sealed region keys and its region's target sub-period as MQTT commands, reports its
// usage levels, and runs a real meter::MeterNode whose successful uploads are published as readings,
// whose relays publish the forwarded, HMAC-signed batches and whose nightly outcomes go to
// relay/outcome; the meters follow the relay_target's allocation rule and fanout. At the end the
// server must hold exactly the readings the fleet delivered and every outcome it published.
#pragma once

#include <iosfwd>
#include <string>

#include "sim/relay_sim.h"

namespace mh::sim {

struct RelayServeOptions {
  std::string api_url;        // http://127.0.0.1:8080
  std::string broker;         // 127.0.0.1:1883
  std::string token;          // admin or operator API token
  double timeout_s = 60;      // for acks, commands and the final check
};

// Exit 0 when the server holds exactly the delivered readings and the published outcomes, 1 when
// not (or on a failure of the server or broker), 2 for bad options.
int RunRelaySimServe(const RelaySimOptions& sim, const RelayServeOptions& serve, std::ostream& out, std::ostream& err);

}  // namespace mh::sim
