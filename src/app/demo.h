// `meterhub demo`: the daemon on its embedded SQLite store, its own Mosquitto on a free loopback
// port, a webhook receiver standing in for the customers' phones, and a simulated fleet (fitted
// load model, injected broken readings and forgotten-appliance days) publishing over MQTT.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace mh::app {

struct DemoArgs {
  int meters = 1000;
  int days = 30;               // simulated days replayed as fast as the daemon takes them
  int peak_days = 21;          // the first days form the peak period T1/T2 are learned from
  double duration_s = 0;       // wall-clock limit; 0 = replay, then keep running until Ctrl-C
  bool exit_after_replay = false;  // stop once the simulated days are replayed (tests, CI)
  double speed = 1800;         // after the replay: simulated seconds per wall-clock second
  std::string dir = "meterhub-demo";  // work directory: database, broker, ground truth
  std::string listen = "127.0.0.1:8080";  // taken: any free port
  uint64_t seed = 1;
  double null_rate = 0.002;       // per reading
  double backward_rate = 0.0005;  // per reading
  double spike_rate = 0.0005;     // per reading
  double appliance_rate = 0.01;   // per meter-day
  int audit_meters = 20;          // tamper-audited meters (demo_audit.h); 0 = none
  double audit_attack_rate = 0.2; // share of their meter-cycles attacked (SPEC 4.7)
  int water_meters = 24;          // water terminals + reference flowmeters (SPEC 3 loop); 0 = none
  bool tls = false;               // broker and API on TLS with a throw-away CA (<dir>/tls/ca.pem)
  bool postgres = false;          // on a PostgreSQL started in <dir>/postgres (demo_cluster.h)
  int workers = 1;                // with postgres: this many serve workers sharing the shards
};

// Runs the demo; returns the process exit code. Stops on SIGINT/SIGTERM or after duration_s.
int RunDemo(const DemoArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mh::app
