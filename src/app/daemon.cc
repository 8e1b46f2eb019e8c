#include "app/daemon.h"

#include <spdlog/spdlog.h>

#include "alerts/channels/sms_channel.h"
#include "api/dashboard.h"
#include "app/broker_auth.h"
#include "app/tls_setup.h"
#include "app/vision_module.h"
#include "alerts/channels/smtp_channel.h"
#include "alerts/channels/webhook_channel.h"
#include "codec/meter/keys_file.h"
#include "core/meter_id.h"
#include "crypto/crypto.h"
#include "ingest/device_topics.h"
#include "ingest/raw_frames.h"
#include "relay/messages.h"
#include "store/commit_fence.h"
#include "store/store_open.h"
#include "core/time.h"
#include "base/secret_file.h"

#include <fstream>

namespace mh::app {

Result<std::unique_ptr<store::Store>> OpenStore(const Config& config) {
  return store::OpenMainStore(StoreLocationOf(config));
}

void AddChannels(alerts::Dispatcher& dispatcher, const Config& config, const Clock* clock) {
  dispatcher.AddChannel(std::make_unique<alerts::WebhookChannel>(config.alerts.webhook));
  if (!config.alerts.sms.url.empty()) dispatcher.AddChannel(std::make_unique<alerts::SmsChannel>(config.alerts.sms));
  dispatcher.AddChannel(std::make_unique<alerts::SmtpChannel>(config.alerts.email, clock));
}

namespace {

// The webhook options for URLs the operator configured (work orders, inspection orders): the
// address rule is for the URLs customers choose, so these may point into the operator's network.
alerts::WebhookOptions OperatorWebhook(const Config& config) {
  alerts::WebhookOptions o = config.alerts.webhook;
  o.allow_private = true;
  return o;
}

// `[ingest] frame_keys_file`: empty = no keys (encrypted frames are rejected with the decoder's
// error). Like the ledger key, a file others may read is refused rather than used.
Result<codec::DecodeKeys> LoadFrameKeys(const std::string& path) {
  codec::DecodeKeys keys;
  if (path.empty()) return keys;
  MH_RETURN_IF_ERROR(CheckOwnerOnlyFile(path, "ingest.frame_keys_file"));
  MH_ASSIGN_OR_RETURN(keys.by_address, codec::ReadKeysFile(path));
  spdlog::info("raw frames: {} decryption key(s) loaded from {}", keys.by_address.size(), path);
  return keys;
}

}  // namespace

Daemon::Daemon(Config config, const Clock* clock, DaemonOptions options)
    : config_(std::move(config)), clock_(clock), options_(options) {}

Daemon::~Daemon() { Stop(); }

Status Daemon::Start() {
  // Where and how the API listens first: plain HTTP on a public address is refused before anything starts.
  api::HttpOptions ho;
  MH_RETURN_IF_ERROR(api::ParseListenAddress(config_.http.listen, &ho));
  MH_RETURN_IF_ERROR(ApplyHttpTls(config_, &ho));
  MH_ASSIGN_OR_RETURN(store_, OpenStore(config_));
  MH_ASSIGN_OR_RETURN(ingest::PipelineOptions options, PipelineOptionsOf(config_));
  pipeline_ = std::make_unique<ingest::Pipeline>(store_.get(), clock_, options);
  MH_RETURN_IF_ERROR(StartCluster());

  MH_ASSIGN_OR_RETURN(alerts::DispatcherOptions dispatch, DispatcherOptionsOf(config_));
  if (leases_) dispatch.claim_ms = leases_->lease_period_ms();  // a dead worker's claims fall due with its lease
  dispatcher_ = std::make_unique<alerts::Dispatcher>(store_.get(), clock_, dispatch);
  AddChannels(*dispatcher_, config_, clock_);
  dispatcher_->SetActive([this] { return RunsJob(kJobAlerts); });
  dispatcher_->Start();
  pipeline_->SetAlertsCreatedHook([d = dispatcher_.get()] { d->Nudge(); });
  http_committer_ = std::make_unique<ingest::GroupCommitter>(pipeline_.get());

  if (!config_.mqtt.broker.empty()) {
    ingest::MqttOptions mo;
    MH_RETURN_IF_ERROR(ingest::ParseBrokerAddress(config_.mqtt.broker, &mo.host, &mo.port));
    mo.client_id = config_.mqtt.client_id;
    mo.io_threads = config_.mqtt.connections;
    mo.commit_linger = std::chrono::milliseconds(config_.mqtt.commit_linger_ms);
    mo.username = config_.mqtt.username;
    mo.password = config_.mqtt.password;
    if (leases_) mo.owns = [l = leases_.get()](int shard) { return l->Owns(shard); };
    MH_ASSIGN_OR_RETURN(mo.tls, MqttTlsOf(config_));
    mqtt_ = std::make_unique<ingest::MqttIngest>(pipeline_.get(), mo);
    // Raw protocol frames (issue 16): decoded into readings that share the round's commit.
    MH_ASSIGN_OR_RETURN(codec::DecodeKeys keys, LoadFrameKeys(config_.ingest.frame_keys_file));
    frame_keys_ = std::make_shared<const codec::DecodeKeys>(std::move(keys));
    for (std::string_view protocol : ingest::kRawProtocols) {
      mqtt_->AddReadingsHandler("raw/" + std::string(protocol),
                                [store = store_.get(), clock = clock_, protocol, shared_keys = frame_keys_](
                                    const std::string& device, std::string_view payload) {
                                  return ingest::RawFrameReadings(*store, device, protocol, payload,
                                                                  clock->NowSeconds(), *shared_keys);
                                });
    }
  }
  if (config_.relay.enabled) MH_RETURN_IF_ERROR(StartRelay());
  if (config_.audit.enabled) MH_RETURN_IF_ERROR(StartAudit());
  if (config_.water.enabled) MH_RETURN_IF_ERROR(StartWater());
  if (mqtt_) MH_RETURN_IF_ERROR(mqtt_->Start());
  MH_RETURN_IF_ERROR(StartGateway());

  pack_thread_ = std::thread([this] { PackLoop(); });

  metrics_ = std::make_unique<api::Metrics>();
  RegisterMetrics();
  ho.max_body_bytes = static_cast<size_t>(config_.http.max_body_bytes);
  ho.threads = config_.http.threads;
  MH_ASSIGN_OR_RETURN(int64_t read_timeout, ParseDuration(config_.http.read_timeout));
  if (read_timeout <= 0) return InvalidArgument("http.read_timeout must be positive");
  ho.read_timeout_s = static_cast<int>(read_timeout);
  ho.max_connections = config_.http.max_connections;
  ho.max_connections_per_client = config_.http.max_connections_per_client;
  api::ApiDeps deps;
  MH_ASSIGN_OR_RETURN(deps.access.session_ttl_s, ParseDuration(config_.http.session_ttl));
  if (deps.access.session_ttl_s <= 0) return InvalidArgument("http.session_ttl must be positive");
  deps.metrics_token = config_.http.metrics_token;
  deps.web_root = config_.http.web_root.empty() ? api::DefaultWebRoot() : config_.http.web_root;
  deps.store = store_.get();
  deps.pipeline = pipeline_.get();
  deps.committer = http_committer_.get();
  deps.relay = relay_.get();
  deps.audit = audit_.get();
  deps.water = water_.get();
  deps.clock = clock_;
  deps.metrics = metrics_.get();
  deps.allow_private_webhooks = config_.alerts.webhook.allow_private;
  MH_ASSIGN_OR_RETURN(billing::TariffBook tariffs, TariffBookOf(config_));
  deps.tariffs = std::make_shared<const billing::TariffBook>(std::move(tariffs));
  deps.deliveries_requeued = [d = dispatcher_.get()] { d->Nudge(); };
  AddClusterRouting(deps);
  if (mqtt_) {
    deps.send_command = [this](const std::string& meter_id, const std::string& payload) -> Status {
      return mqtt_->Publish(ingest::DeviceTopic(meter_id, ingest::kCommandSuffix), payload);
    };
  }
  if (config_.mqtt.provisioning == "dynsec") {
    MH_ASSIGN_OR_RETURN(DynsecOptions dynsec_options, DynsecOptionsOf(config_));
    if (dynsec_options.admin_user.empty()) return InvalidArgument("mqtt.provisioning = \"dynsec\" needs mqtt.dynsec_admin_user");
    dynsec_ = std::make_unique<DynsecProvisioner>(std::move(dynsec_options));
    deps.provision_device = [this](const std::string& meter_id, const std::string& password) -> Result<std::string> {
      std::string used = password;
      if (used.empty()) {
        MH_ASSIGN_OR_RETURN(used, NewDevicePassword());
      }
      MH_RETURN_IF_ERROR(dynsec_->Add(meter_id, used));
      return used;
    };
  }
  deps.status = [this] {
    nlohmann::json j;
    j["mqtt"] = mqtt_ ? (mqtt_->connected() ? "connected" : "disconnected") : "off";
    j["alerts_sent"] = dispatcher_->sent();
    j["alerts_failed"] = dispatcher_->failed();
    AddClusterStatus(j);
    return j;
  };
  http_ = std::make_unique<api::HttpApi>(deps, ho);
  Status http_started = http_->Start();
  if (http_started.code() == StatusCode::kAlreadyExists && options_.http_any_port_if_taken) {
    spdlog::warn("{}; serving on a free port instead", http_started.message());
    ho.port = 0;
    http_ = std::make_unique<api::HttpApi>(deps, ho);
    http_started = http_->Start();
  }
  MH_RETURN_IF_ERROR(http_started);
  AdvertiseListen(ho.host, http_->port());  // the bound port: "--listen …:0", or a free one instead
  spdlog::info("http: API on {}://{}:{}/api/v1 (OpenAPI at /api/v1/openapi.json, metrics at /metrics)",
               ho.tls_cert_pem.empty() ? "http" : "https", ho.host, http_->port());
  return Status::Ok();
}

Status Daemon::StartRelay() {
  MH_ASSIGN_OR_RETURN(relay::RelayServiceOptions options, RelayOptionsOf(config_));
  auto send = [this](const std::string& meter_id, const std::string& command) -> Status {
    if (!mqtt_) return Status::Ok();  // no broker: meters learn targets and keys over HTTP only
    return mqtt_->Publish(ingest::DeviceTopic(meter_id, ingest::kCommandSuffix), command);
  };
  // Forwarded readings share commits with posted ones, and return only once durably stored —
  // fenced by the shard whose session (MQTT) or route (HTTP) delivered the batch: the caller's
  // FenceScope, set by both before handing the batch to the relay service.
  auto store_readings = [this](const std::vector<Reading>& readings, const std::string& source) -> Status {
    const std::vector<int>* fence = store::FenceScope::Current();
    return http_committer_->Submit(readings, source, fence ? *fence : std::vector<int>{}).status();
  };
  relay_ = std::make_unique<relay::RelayService>(store_.get(), clock_, &random_, send, store_readings, options);
  if (mqtt_) {
    relay::RelayService* rs = relay_.get();
    mqtt_->AddHandler("relay/report", [rs](const std::string& meter, std::string_view payload) -> Status {
      MH_ASSIGN_OR_RETURN(relay::ReportMessage m, relay::ParseReportMessage(payload));
      if (m.meter_id != meter) return InvalidArgument("relay report of '" + m.meter_id + "' on the topic of '" + meter + "'");
      return rs->Report(m.meter_id, m.reports).status();
    });
    mqtt_->AddHandler("relay/forward", [rs](const std::string& meter, std::string_view payload) -> Status {
      MH_ASSIGN_OR_RETURN(relay::ForwardMessage m, relay::ParseForwardMessage(payload));
      if (m.relay_meter_id != meter)
        return InvalidArgument("forwarded batch of relay '" + m.relay_meter_id + "' on the topic of '" + meter + "'");
      return rs->Forward({m.batch, m.tag, m.relay_meter_id}).status();
    });
    mqtt_->AddHandler("relay/outcome", [rs](const std::string& meter, std::string_view payload) -> Status {
      MH_ASSIGN_OR_RETURN(relay::OutcomeMessage m, relay::ParseOutcomeMessage(payload));
      if (m.meter_id != meter) return InvalidArgument("relay outcome of '" + m.meter_id + "' on the topic of '" + meter + "'");
      return rs->Outcome(m.meter_id, m.outcome).status();
    });
  }
  // Uplink work orders leave through a webhook channel of their own; unsent ones stay "open" and
  // the relay thread tries them again. Its URL is the operator's, so not address-restricted.
  if (!config_.relay.work_order_url.empty()) {
    auto channel = std::make_shared<alerts::WebhookChannel>(OperatorWebhook(config_));
    relay_->SetWorkOrderSink([channel, url = config_.relay.work_order_url](const std::string& order) {
      return channel->Send({url, "relay uplink work order", order, order});
    });
  }
  relay_->SetWorkOrderOpenedHook([this] {
    {
      std::lock_guard lock(key_mu_);
      orders_due_ = true;
    }
    key_cv_.notify_all();
  });
  key_thread_ = std::thread([this] { RelayLoop(); });
  return Status::Ok();
}

Status Daemon::StartAudit() {
  const store::StoreLocation at = StoreLocationOf(config_);
  const std::string& path = at.location;
  std::string key_file = "(none: in-memory store, ephemeral key)";
  if (path == ":memory:" || path.rfind("file::memory:", 0) == 0) {
    // An in-memory database cannot be shared between connections: keep the audit in memory too.
    MH_ASSIGN_OR_RETURN(audit_ledger_, audit::AuditLedger::InMemory(*clock_));
    audit_store_ = store::NewMemoryAuditStore();
  } else {
    MH_ASSIGN_OR_RETURN(key_file, AuditKeyFileOf(config_));
    MH_ASSIGN_OR_RETURN(std::string key, audit::LoadOrCreateLedgerKey(key_file));
    MH_ASSIGN_OR_RETURN(std::unique_ptr<store::LedgerStore> ledger_store, store::OpenLedgerStore(at, /*read_only=*/false));
    MH_ASSIGN_OR_RETURN(audit_ledger_, audit::AuditLedger::Over(std::move(ledger_store), *clock_, key));
    MH_ASSIGN_OR_RETURN(audit_store_, store::OpenAuditStore(at, /*read_only=*/false));
  }
  // Inspection orders leave through a webhook channel of their own (the alert dispatcher's
  // deliveries belong to consumption alerts); unsent ones stay "open" and are retried.
  audit::AuditServiceIo io;
  if (!config_.audit.inspection_webhook.empty()) {
    auto channel = std::make_shared<alerts::WebhookChannel>(OperatorWebhook(config_));
    io.send_order = [channel, url = config_.audit.inspection_webhook](const alerts::Message& m) {
      alerts::Message to = m;
      to.address = url;
      return channel->Send(to);
    };
  }
  // Commands to the meters (their next cycle length, requests for their segments) on their
  // command topic; without a broker the audits use the segments stored.
  if (mqtt_) {
    io.send_command = [this](const std::string& meter_id, const std::string& payload) -> Status {
      return mqtt_->Publish(ingest::DeviceTopic(meter_id, ingest::kCommandSuffix), payload);
    };
  }
  audit_readings_ = std::make_unique<StoreConsumptionSource>(store_.get());
  io.readings = audit_readings_.get();
  MH_ASSIGN_OR_RETURN(audit::AuditServiceOptions so, AuditOptionsOf(config_));
  audit_ = std::make_unique<audit::AuditService>(audit_ledger_.get(), audit_store_.get(), clock_, io, so);
  if (mqtt_) {
    audit::AuditService* as = audit_.get();
    // Acked only after the durable append (the ledger commits before Append returns).
    mqtt_->AddHandler("audit/signal", [as](const std::string& meter, std::string_view payload) -> Status {
      return as->HandleSignal(meter, payload);
    });
    mqtt_->AddHandler("audit/segments", [as](const std::string& meter, std::string_view payload) -> Status {
      return as->HandleSegments(meter, payload);
    });
  }
  MH_ASSIGN_OR_RETURN(int64_t interval, AuditIntervalOf(config_));
  audit_->StartSchedule(interval, [this] { return RunsJob(kJobAudit); });
  spdlog::info("audit: ledger of {} entries, public key {}, key file {}, schedule {}", audit_ledger_->size(),
               crypto::HexEncode(crypto::AsBytes(audit_ledger_->ledger().public_key())), key_file,
               interval > 0 ? config_.audit.interval : "off");
  return Status::Ok();
}

void Daemon::RelayLoop() {
  std::unique_lock lock(key_mu_);
  auto next_rotation = std::chrono::steady_clock::now();
  while (!stopping_) {
    orders_due_ = false;
    lock.unlock();
    if (!RunsJob(kJobRelay)) {  // another worker rotates and sends (scale-out)
      lock.lock();
      key_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_rotation) {
      if (Result<int> rotated = relay_->RotateDueKeys(); !rotated.ok()) {
        spdlog::error("relay: rotating region keys failed: {}", rotated.status().ToString());
      } else if (*rotated > 0) {
        spdlog::info("relay: rotated the keys of {} region(s)", *rotated);
      }
      next_rotation = std::chrono::steady_clock::now() + std::chrono::minutes(10);
    }
    if (int sent = relay_->SendPendingWorkOrders(); sent > 0) spdlog::info("relay: sent {} uplink work order(s)", sent);
    lock.lock();
    // Woken early by a freshly opened work order; undelivered ones are tried again each minute.
    key_cv_.wait_for(lock, std::chrono::minutes(1), [this] { return stopping_ || orders_due_; });
  }
}

Status Daemon::StartGateway() {
  MH_ASSIGN_OR_RETURN(gateway::GatewayOptions options, GatewayOptionsOf(config_));
  if (options.listen.empty() && options.dlms_listen.empty()) return Status::Ok();
  // One path for every reading: the broker, so the shard's owner judges it (docs/gateway.md).
  if (!mqtt_) return InvalidArgument("gateway.listen / gateway.dlms_listen need mqtt.broker: gateway readings go through the broker");
  gateway_directory_ = std::make_unique<StoreMeterDirectory>(store_.get());
  gateway_sink_ = std::make_unique<BrokerReadingSink>(
      [q = mqtt_.get()](const std::string& topic, const std::string& payload) { return q->Publish(topic, payload); });
  // Ciphered DLMS pushes: the keys of [ingest] frame_keys_file, as raw frames over MQTT use them.
  gateway_ = std::make_unique<gateway::Gateway>(options, gateway_directory_.get(), gateway_sink_.get(), *clock_, frame_keys_);
  return gateway_->Start();
}

Status Daemon::StartWater() {
  MH_RETURN_IF_ERROR(CheckWaterConfig(config_));
  MH_ASSIGN_OR_RETURN(water_store_, store::OpenWaterStore(StoreLocationOf(config_)));
  water::WaterServiceOptions o;
  o.window_s = *ParseDuration(config_.water.window);
  o.close_after_s = *ParseDuration(config_.water.close_after);
  o.cases.command_ttl_s = *ParseDuration(config_.water.command_expiry);
  o.pair_tolerance_s = *WaterPairToleranceOf(config_);
  o.precheck.p_min = config_.water.p_min;
  o.precheck.d_lo = config_.water.d_lo;
  o.precheck.d_hi = config_.water.d_hi;
  o.precheck.r2_min = config_.water.r2_min;
  o.precheck.tol_rel = config_.water.tol_rel;
  o.precheck.tol_abs = config_.water.tol_abs;
  o.photo_unit_m3 = config_.water.photo_unit_m3;
  o.photo_digits = config_.water.photo_digits;
  o.photo_min_units = config_.water.photo_min_units;
  o.cases.max_se_a1 = config_.water.max_se_a1;
  o.cases.max_deferred_windows = config_.water.max_deferred_windows;
  o.upload = {.max_bytes = config_.water.max_upload_bytes,
              .max_pixels = config_.water.max_photo_pixels,
              .max_frames = config_.water.max_video_frames,
              .max_seconds = config_.water.max_video_seconds};
  o.upload_url = config_.water.upload_url;
  o.reply_to = config_.water.reply_to;
  photo_reader_ = NewLazyPhotoReader();
  o.photo_reader = photo_reader_.get();
  if (FindVisionModule().empty()) {
    std::string where;
    for (const std::string& path : VisionModulePaths()) where += (where.empty() ? "" : ", ") + path;
    spdlog::warn("water: the vision module is in none of {}: photo and clip uploads will be refused (503)", where);
  }
  auto publish = [this](const std::string& terminal, const std::string& payload) -> Status {
    if (!mqtt_) return Status::Ok();  // no broker: commands are listed over HTTP only
    return mqtt_->Publish(ingest::DeviceTopic(terminal, ingest::kCommandSuffix), payload);
  };
  // Notices go through the alert channels: the phone over the SMS gateway, work orders to a webhook.
  auto sms = std::make_shared<alerts::SmsChannel>(config_.alerts.sms);
  auto webhook = std::make_shared<alerts::WebhookChannel>(OperatorWebhook(config_));
  auto notify = [this, sms, webhook](const std::string& kind, const std::string& address, const std::string& subject,
                                     const std::string& text, const std::string& json) -> Status {
    if (kind == "phone") {
      if (config_.alerts.sms.url.empty()) return FailedPrecondition("no SMS gateway configured ([alerts.sms] url)");
      return sms->Send({address, subject, text, json});
    }
    if (config_.water.work_order_url.empty()) return Status::Ok();
    return webhook->Send({config_.water.work_order_url, subject, text, json});
  };
  MH_ASSIGN_OR_RETURN(water_, water::WaterService::Create(water_store_.get(), clock_, o, publish, notify));
  if (!config_.water.pairs_file.empty()) {
    std::ifstream in(config_.water.pairs_file);
    if (!in) return InvalidArgument("water.pairs_file: cannot open " + config_.water.pairs_file);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#' || (n == 1 && line.rfind("terminal_id", 0) == 0)) continue;
      std::vector<std::string> f;
      size_t start = 0;
      for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1) f.push_back(line.substr(start, comma - start));
      f.push_back(line.substr(start));
      const std::string where = config_.water.pairs_file + ":" + std::to_string(n);
      if (f.size() < 2 || f.size() > 3) return InvalidArgument(where + ": expected terminal_id,flowmeter_id[,phone]");
      MH_RETURN_IF_ERROR(water_->PutPair(f[0], f[1], f.size() == 3 ? f[2] : "").WithContext(where));
    }
  }
  if (mqtt_) {
    water::WaterService* ws = water_.get();
    mqtt_->AddHandler("water/frame", [ws](const std::string& device, std::string_view payload) { return ws->OnFrame(device, payload); });
    mqtt_->AddHandler("water/ack", [ws](const std::string& terminal, std::string_view payload) { return ws->OnAck(terminal, payload); });
  }
  water_thread_ = std::thread([this] { WaterTickLoop(); });
  return Status::Ok();
}

void Daemon::WaterTickLoop() {
  std::unique_lock lock(key_mu_);
  while (!stopping_) {
    lock.unlock();
    if (RunsJob(kJobWater)) water_->Tick();
    lock.lock();
    key_cv_.wait_for(lock, std::chrono::minutes(1), [this] { return stopping_; });
  }
}

void Daemon::Stop() {
  // Reverse order: stop taking input first, then the senders, then the store. A large request
  // in progress stops at its next part instead of holding the shutdown; audits waiting for a
  // meter's segments are woken first, so that the HTTP workers they hold come free at once.
  if (pipeline_) pipeline_->Cancel();
  if (audit_) audit_->Stop();
  if (http_) http_->Stop();
  if (gateway_) gateway_->Stop();
  if (mqtt_) mqtt_->Stop();
  {
    std::lock_guard lock(key_mu_);
    stopping_ = true;
  }
  key_cv_.notify_all();
  if (key_thread_.joinable()) key_thread_.join();
  if (pack_thread_.joinable()) pack_thread_.join();
  if (water_thread_.joinable()) water_thread_.join();
  water_.reset();
  water_store_.reset();
  relay_.reset();
  http_committer_.reset();
  if (dispatcher_) dispatcher_->Stop();
  http_.reset();
  gateway_.reset();
  gateway_sink_.reset();
  gateway_directory_.reset();
  mqtt_.reset();
  dispatcher_.reset();
  pipeline_.reset();
  metrics_.reset();
  audit_.reset();
  audit_readings_.reset();
  audit_store_.reset();
  audit_ledger_.reset();
  if (leases_) leases_->Stop();  // last: give the shards and jobs back at once
  leases_.reset();
  store_.reset();
}

void Daemon::PackLoop() {
  auto interval = ParseDuration(config_.store.pack_interval);
  const int64_t interval_ms = (interval.ok() && *interval > 0 ? *interval : 3600) * 1000;
  int64_t last_pack = clock_->NowMillis();
  std::unique_lock lock(key_mu_);
  while (!stopping_) {
    key_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    const int64_t unpacked = store_->UnpackedReadings();
    if (unpacked == 0 || (unpacked < config_.store.pack_after && clock_->NowMillis() - last_pack < interval_ms)) continue;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    Status packed = store_->Pack();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (packed.ok()) spdlog::info("store: packed {} readings in {:.1f} s", unpacked, secs);
    else spdlog::error("store: packing failed (retried later): {}", packed.ToString());
    last_pack = clock_->NowMillis();
    lock.lock();
  }
}

void Daemon::RegisterMetrics() {
  auto* c = &pipeline_->counters();
  auto& m = *metrics_;
  RegisterClusterMetrics();
  m.AddCounter("meterhub_readings_received_total", "Readings received by the pipeline", {}, [c] { return c->received.load(); });
  m.AddCounter("meterhub_readings_accepted_total", "Readings accepted (verdict ok)", {}, [c] { return c->accepted.load(); });
  m.AddCounter("meterhub_readings_estimated_total", "Estimates stored for gaps and quarantined readings (not in accepted)", {},
               [c] { return c->estimated.load(); });
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
  if (relay_) {
    auto* r = relay_.get();
    auto total = [r](int64_t store::RelayBatchTotals::*field) {
      return [r, field] {
        auto t = r->Totals();
        return t.ok() ? (*t).*field : -1;
      };
    };
    const char* help = "Forwarded relay batches by outcome";
    m.AddCounter("meterhub_relay_batches_total", help, {{"outcome", "accepted"}}, total(&store::RelayBatchTotals::accepted));
    m.AddCounter("meterhub_relay_batches_total", help, {{"outcome", "duplicate"}}, total(&store::RelayBatchTotals::duplicates));
    m.AddCounter("meterhub_relay_batches_total", help, {{"outcome", "rejected"}}, total(&store::RelayBatchTotals::rejected));
    m.AddCounter("meterhub_relay_batches_total", help, {{"outcome", "unknown_origin"}},
                 total(&store::RelayBatchTotals::unknown_origin));
    m.AddCounter("meterhub_relay_readings_total", "Readings delivered through relays", {}, total(&store::RelayBatchTotals::readings));
    // The meters' nightly outcome reports, since the daemon started (REST has the stored totals).
    const relay::OutcomeCounters* o = &r->outcome_counters();
    auto count = [o](const std::atomic<int64_t> relay::OutcomeCounters::*field) {
      return [o, field] { return (o->*field).load(); };
    };
    using OC = relay::OutcomeCounters;
    m.AddCounter("meterhub_relay_outcome_reports_total", "Nightly relay outcome reports stored", {}, count(&OC::reports));
    const char* tries = "Relays tried by meters for a batch, by result (from the outcome reports)";
    m.AddCounter("meterhub_relay_tries_total", tries, {{"result", "success"}}, count(&OC::relay_successes));
    m.AddCounter("meterhub_relay_tries_total", tries, {{"result", "failure"}}, count(&OC::relay_failures));
    m.AddCounter("meterhub_relay_readings_aged_out_total", "Readings the meters dropped unsent after max_retention_days", {},
                 count(&OC::aged_out));
    m.AddCounter("meterhub_relay_uplink_failures_total", "Failed uploads over the meters' own uplinks (from the outcome reports)",
                 {}, count(&OC::uplink_failures));
    m.AddCounter("meterhub_relay_uplink_failed_nights_total", "Meter nights on which every own-uplink upload failed", {},
                 count(&OC::uplink_failed_nights));
    const char* orders = "Uplink maintenance work orders, by event";
    m.AddCounter("meterhub_relay_work_orders_total", orders, {{"event", "opened"}}, count(&OC::work_orders_opened));
    m.AddCounter("meterhub_relay_work_orders_total", orders, {{"event", "sent"}}, count(&OC::work_orders_sent));
    m.AddCounter("meterhub_relay_work_orders_total", orders, {{"event", "failed"}}, count(&OC::work_orders_failed));
  }
  if (audit_) {
    auto* a = audit_.get();
    m.AddCounter("meterhub_audit_runs_total", "Tamper audits run (request and schedule)", {}, [a] { return static_cast<int64_t>(a->audits()); });
    m.AddCounter("meterhub_audit_alarms_total", "Tamper audits that raised an alarm", {}, [a] { return static_cast<int64_t>(a->alarms()); });
    m.AddCounter("meterhub_audit_silent_requests_total", "Segment requests a meter left unanswered", {},
                 [a] { return static_cast<int64_t>(a->silent_requests()); });
    m.AddCounter("meterhub_audit_cycles_sent_total", "Cycle lengths (SPEC 4.1) sent to meters", {},
                 [a] { return static_cast<int64_t>(a->cycles_sent()); });
    m.AddCounter("meterhub_audit_cycle_errors_total", "Cycle lengths that could not be computed or sent", {},
                 [a] { return static_cast<int64_t>(a->cycle_errors()); });
  }
  if (water_) {
    auto* w = water_.get();
    m.AddCounter("meterhub_water_frames_total", "Water flow frames stored", {}, [w] { return w->frames(); });
    m.AddCounter("meterhub_water_late_samples_total", "Water samples of windows already checked (ignored)", {},
                 [w] { return w->late_samples(); });
    m.AddCounter("meterhub_water_notices_sent_total", "Water notices delivered (phone, work orders)", {},
                 [w] { return w->notices_sent(); });
  }
  if (mqtt_) {
    auto* q = mqtt_.get();
    m.AddCounter("meterhub_mqtt_messages_total", "MQTT messages received", {}, [q] { return q->messages(); });
    m.AddCounter("meterhub_mqtt_bad_messages_total", "MQTT messages rejected (bad topic or payload)", {},
                 [q] { return q->bad_messages(); });
    m.AddGauge("meterhub_mqtt_connected", "1 when connected to the broker", {}, [q] { return q->connected() ? 1.0 : 0.0; });
    m.AddCounter("meterhub_mqtt_sessions_lost_total",
                 "Reconnects on which the broker had lost the shard session (and what it held for it)", {},
                 [q] { return q->sessions_lost(); });
    m.AddCounter("meterhub_mqtt_batches_total", "I/O rounds stored in one commit each", {}, [q] { return q->batches(); });
  }
  if (gateway_) {
    const gateway::GatewayCounters* g = &gateway_->counters();
    m.AddGauge("meterhub_gateway_dtus", "Registered DTUs connected to the gateway", {}, [g] { return static_cast<double>(g->dtus.load()); });
    m.AddGauge("meterhub_gateway_dlms_connections", "DLMS meters connected to the gateway", {},
               [g] { return static_cast<double>(g->dlms_connections.load()); });
    m.AddCounter("meterhub_gateway_requests_total", "Read requests sent to meters behind DTUs (retries, follow-ups included)", {},
                 [g] { return g->requests.load(); });
    m.AddCounter("meterhub_gateway_polls_total", "Meter reads completed (answered or not)", {}, [g] { return g->polls.load(); });
    m.AddCounter("meterhub_gateway_silent_total", "Meter reads without an answer after every retry", {}, [g] { return g->silent.load(); });
    m.AddCounter("meterhub_gateway_corrupt_total", "Frames that did not decode (kept as rejected messages)", {},
                 [g] { return g->corrupt.load(); });
    m.AddCounter("meterhub_gateway_late_total", "Meter reads started more than one poll interval late", {}, [g] { return g->late.load(); });
    m.AddCounter("meterhub_gateway_readings_total", "Readings published by the gateway", {}, [g] { return g->readings.load(); });
    m.AddCounter("meterhub_gateway_dlms_pushes_total", "DLMS pushes decoded", {}, [g] { return g->dlms_pushes.load(); });
    m.AddCounter("meterhub_gateway_cut_mid_poll_total", "DTUs that disconnected with a request in flight", {},
                 [g] { return g->cut_mid_poll.load(); });
  }
}

}  // namespace mh::app
