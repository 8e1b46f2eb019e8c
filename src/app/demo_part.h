// A method area's part of `meterhub demo`: its simulated devices live beside the consumption
// fleet, talk to the same daemon over the same broker, and advance with the same simulated clock.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/status.h"
#include "ingest/mqtt_tls.h"

namespace mh::app {

class Daemon;
class WebhookReceiver;
struct DemoArgs;
struct Config;

struct DemoContext {
  Daemon& daemon;
  WebhookReceiver& receiver;
  const DemoArgs& args;
  int broker_port = 0;
  std::string http_base;   // e.g. http://127.0.0.1:8080 (https:// with --tls)
  ingest::MqttTls tls;     // --tls: the throw-away CA the devices and API clients trust (tls.ca_file)
  std::string token;       // an admin token for the REST API
  int64_t sim_start = 0;   // first simulated second
  int32_t tz_offset_s = 0;
};

class DemoPart {
 public:
  virtual ~DemoPart() = default;
  // Before the daemon starts (the receiver is already listening): switch on what the part needs
  // and point its webhooks at receiver.url("/<part>/...").
  virtual void Configure(Config& config, const WebhookReceiver& receiver) = 0;
  // After the daemon started: register the part's devices.
  virtual Status Start(DemoContext& ctx) = 0;
  // Everything the devices do up to simulated time `sim_time` (called every 6 simulated hours).
  virtual Status AdvanceTo(int64_t sim_time) = 0;
  // Wait (bounded) until the daemon has dealt with what was sent.
  virtual void Drain(double timeout_s) = 0;
  virtual void PrintSummary(std::ostream& out) = 0;
  // One line for the banner: what to look at in the API.
  virtual std::string Banner() const = 0;
};

}  // namespace mh::app
