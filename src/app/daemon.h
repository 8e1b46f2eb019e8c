// The running daemon (`meterhub serve`): store, pipeline, alert dispatcher, MQTT ingestion and the
// HTTP API, built from a Config and torn down in reverse order.
//
// Threads: the MQTT network thread runs the pipeline for MQTT messages; HTTP worker threads run
// it for posted readings (Pipeline::Submit serialises them); dispatcher threads send alerts;
// everything else only reads the store.
#pragma once

#include <memory>
#include <string>

#include "alerts/dispatcher.h"
#include "api/http_api.h"
#include "api/metrics.h"
#include "app/config.h"
#include "base/clock.h"
#include "ingest/mqtt_ingest.h"
#include "ingest/pipeline.h"
#include "store/store.h"

namespace mh::app {

// Opens the store the [store] section names.
Result<std::unique_ptr<store::Store>> OpenStore(const Config& config);

// Registers the channels the [alerts] section configures (webhook always; SMS when a gateway URL
// is set; e-mail always, to [alerts.email] url).
void AddChannels(alerts::Dispatcher& dispatcher, const Config& config, const Clock* clock);

class Daemon {
 public:
  explicit Daemon(Config config, const Clock* clock = &SystemClock::Instance());
  ~Daemon();

  Status Start();
  void Stop();

  int http_port() const { return http_ ? http_->port() : 0; }
  store::Store* store() { return store_.get(); }
  ingest::Pipeline* pipeline() { return pipeline_.get(); }
  alerts::Dispatcher* dispatcher() { return dispatcher_.get(); }
  ingest::MqttIngest* mqtt() { return mqtt_.get(); }
  const Config& config() const { return config_; }

 private:
  void RegisterMetrics();

  const Config config_;
  const Clock* const clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ingest::Pipeline> pipeline_;
  std::unique_ptr<ingest::GroupCommitter> http_committer_;
  std::unique_ptr<alerts::Dispatcher> dispatcher_;
  std::unique_ptr<ingest::MqttIngest> mqtt_;
  std::unique_ptr<api::Metrics> metrics_;
  std::unique_ptr<api::HttpApi> http_;
};

}  // namespace mh::app
