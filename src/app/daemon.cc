#include "app/daemon.h"

#include <spdlog/spdlog.h>

#include "alerts/channels/sms_channel.h"
#include "alerts/channels/smtp_channel.h"
#include "alerts/channels/webhook_channel.h"
#include "store/sqlite/sqlite_store.h"

namespace mh::app {

Result<std::unique_ptr<store::Store>> OpenStore(const Config& config) {
  if (config.store.backend == "postgres") {
    return FailedPrecondition("store.backend = \"postgres\" is not built yet (next milestone); use \"sqlite\"");
  }
  store::SqliteOptions options;
  options.path = config.store.path;
  options.synchronous = config.store.synchronous;
  return store::OpenSqliteStore(options);
}

void AddChannels(alerts::Dispatcher& dispatcher, const Config& config, const Clock* clock) {
  dispatcher.AddChannel(std::make_unique<alerts::WebhookChannel>(config.alerts.webhook));
  if (!config.alerts.sms.url.empty()) dispatcher.AddChannel(std::make_unique<alerts::SmsChannel>(config.alerts.sms));
  dispatcher.AddChannel(std::make_unique<alerts::SmtpChannel>(config.alerts.email, clock));
}

Daemon::Daemon(Config config, const Clock* clock) : config_(std::move(config)), clock_(clock) {}

Daemon::~Daemon() { Stop(); }

Status Daemon::Start() {
  MH_ASSIGN_OR_RETURN(store_, OpenStore(config_));
  MH_ASSIGN_OR_RETURN(ingest::PipelineOptions options, PipelineOptionsOf(config_));
  pipeline_ = std::make_unique<ingest::Pipeline>(store_.get(), clock_, options);

  dispatcher_ = std::make_unique<alerts::Dispatcher>(store_.get(), clock_, config_.alerts.dispatcher);
  AddChannels(*dispatcher_, config_, clock_);
  dispatcher_->Start();
  pipeline_->SetAlertsCreatedHook([d = dispatcher_.get()] { d->Nudge(); });

  if (!config_.mqtt.broker.empty()) {
    ingest::MqttOptions mo;
    MH_RETURN_IF_ERROR(ingest::ParseBrokerAddress(config_.mqtt.broker, &mo.host, &mo.port));
    mo.client_id = config_.mqtt.client_id;
    mo.connections = config_.mqtt.connections;
    mo.username = config_.mqtt.username;
    mo.password = config_.mqtt.password;
    mqtt_ = std::make_unique<ingest::MqttIngest>(pipeline_.get(), mo);
    MH_RETURN_IF_ERROR(mqtt_->Start());
  }

  metrics_ = std::make_unique<api::Metrics>();
  RegisterMetrics();
  api::HttpOptions ho;
  MH_RETURN_IF_ERROR(api::ParseListenAddress(config_.http.listen, &ho));
  ho.max_body_bytes = static_cast<size_t>(config_.http.max_body_bytes);
  ho.threads = config_.http.threads;
  api::ApiDeps deps;
  deps.store = store_.get();
  deps.pipeline = pipeline_.get();
  http_committer_ = std::make_unique<ingest::GroupCommitter>(pipeline_.get());
  deps.committer = http_committer_.get();
  deps.clock = clock_;
  deps.metrics = metrics_.get();
  deps.status = [this] {
    nlohmann::json j;
    j["mqtt"] = mqtt_ ? (mqtt_->connected() ? "connected" : "disconnected") : "off";
    j["alerts_sent"] = dispatcher_->sent();
    j["alerts_failed"] = dispatcher_->failed();
    return j;
  };
  http_ = std::make_unique<api::HttpApi>(deps, ho);
  MH_RETURN_IF_ERROR(http_->Start());
  spdlog::info("http: API on http://{}:{}/api/v1 (OpenAPI at /api/v1/openapi.json, metrics at /metrics)", ho.host,
               http_->port());
  return Status::Ok();
}

void Daemon::Stop() {
  // Reverse order: stop taking input first, then the senders, then the store.
  if (http_) http_->Stop();
  if (mqtt_) mqtt_->Stop();
  http_committer_.reset();
  if (dispatcher_) dispatcher_->Stop();
  http_.reset();
  mqtt_.reset();
  dispatcher_.reset();
  pipeline_.reset();
  metrics_.reset();
  store_.reset();
}

void Daemon::RegisterMetrics() {
  auto* c = &pipeline_->counters();
  auto& m = *metrics_;
  m.AddCounter("meterhub_readings_received_total", "Readings received by the pipeline", {}, [c] { return c->received.load(); });
  m.AddCounter("meterhub_readings_accepted_total", "Readings accepted (verdict ok)", {}, [c] { return c->accepted.load(); });
  m.AddCounter("meterhub_readings_duplicate_total", "Redelivered readings already stored", {}, [c] { return c->duplicates.load(); });
  m.AddCounter("meterhub_readings_rejected_total", "Input that was not a reading of a known meter", {}, [c] { return c->rejected.load(); });
  for (Verdict v : {Verdict::kNull, Verdict::kError, Verdict::kSudden}) {
    int i = static_cast<int>(v);
    m.AddCounter("meterhub_readings_quarantined_total", "Readings quarantined, by verdict", {{"verdict", VerdictName(v)}},
                 [c, i] { return c->quarantined[i].load(); });
  }
  m.AddCounter("meterhub_alerts_created_total", "Abnormal-consumption alerts created", {}, [c] { return c->alerts.load(); });
  m.AddCounter("meterhub_store_commits_total", "Store commits by the pipeline", {}, [c] { return c->commits.load(); });
  m.AddCounter("meterhub_store_commit_microseconds_total", "Time spent in store commits", {},
               [c] { return c->commit_micros_total.load(); });
  auto* d = dispatcher_.get();
  m.AddCounter("meterhub_alert_sends_total", "Alert deliveries by result", {{"result", "sent"}}, [d] { return d->sent(); });
  m.AddCounter("meterhub_alert_sends_total", "Alert deliveries by result", {{"result", "failed"}}, [d] { return d->failed(); });
  m.AddCounter("meterhub_alert_sends_total", "Alert deliveries by result", {{"result", "retried"}}, [d] { return d->retried(); });
  auto* s = store_.get();
  m.AddGauge("meterhub_alert_queue_depth", "Deliveries waiting to be sent", {}, [s] {
    auto due = s->DueDeliveries(INT64_MAX, 100000);
    return due.ok() ? static_cast<double>(due->size()) : -1.0;
  });
  if (mqtt_) {
    auto* q = mqtt_.get();
    m.AddCounter("meterhub_mqtt_messages_total", "MQTT messages received", {}, [q] { return q->messages(); });
    m.AddCounter("meterhub_mqtt_bad_messages_total", "MQTT messages rejected (bad topic or payload)", {},
                 [q] { return q->bad_messages(); });
    m.AddGauge("meterhub_mqtt_connected", "1 when connected to the broker", {}, [q] { return q->connected() ? 1.0 : 0.0; });
  }
}

}  // namespace mh::app
