#include "app/demo.h"

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <ostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/auth.h"
#include "api/session.h"
#include "app/daemon.h"
#include "app/demo_audit.h"
#include "app/demo_cluster.h"
#include "app/demo_protocols.h"
#include "app/demo_part.h"
#include "app/demo_water.h"
#include "app/local_broker.h"
#include "app/tls_setup.h"
#include "app/webhook_receiver.h"
#include "store/store_open.h"
#include "base/progress.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "core/time.h"
#include "sim/fleet.h"
#include "sim/load_model.h"

namespace mh::app {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// "N stored (+ E estimates)": the store's readings with its estimates counted apart.
std::string StoredActualAndEstimated(store::Store& st) {
  Result<int64_t> all = st.CountReadings();
  Result<int64_t> estimated = st.CountEstimatedReadings();
  if (!all.ok() || !estimated.ok()) return "unknown (the store did not answer)";
  return std::to_string(*all - *estimated) + " stored (+ " + std::to_string(*estimated) + " estimates)";
}

// The fleet's side of MQTT: one connection publishing every meter's batches at QoS 1, with a
// bound on unacknowledged messages so the simulation never runs far ahead of the daemon.
class FleetPublisher {
 public:
  ~FleetPublisher() {
    if (mosq_) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop_stop(mosq_, false);
      mosquitto_destroy(mosq_);
    }
  }
  Status Connect(int port, const ingest::MqttTls& tls) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new("meterhub-demo-fleet", true, this);
    if (!mosq_) return Internal("mosquitto_new failed");
    MH_RETURN_IF_ERROR(ingest::ApplyMqttTls(mosq_, tls));
    mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) {
      static_cast<FleetPublisher*>(self)->acked_++;
    });
    mosquitto_max_inflight_messages_set(mosq_, 200);
    int rc = mosquitto_connect(mosq_, "127.0.0.1", port, 30);
    if (rc != MOSQ_ERR_SUCCESS) return Unavailable(std::string("fleet: cannot connect: ") + mosquitto_strerror(rc));
    mosquitto_loop_start(mosq_);
    return Status::Ok();
  }
  Status Publish(const std::string& meter_id, const std::string& payload) {
    while (sent_ - acked_ > 2000 && !g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::string topic = "meters/" + std::to_string(ShardOf(meter_id)) + "/" + meter_id + "/readings";
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) return Unavailable(std::string("fleet: publish: ") + mosquitto_strerror(rc));
    ++sent_;
    return Status::Ok();
  }
  void WaitAcked(double timeout_s) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (acked_ < sent_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int64_t sent() const { return sent_; }

 private:
  struct mosquitto* mosq_ = nullptr;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> acked_{0};
};

}  // namespace

int RunDemo(const DemoArgs& args, std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  g_stop = false;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto wall_start = std::chrono::steady_clock::now();
  auto out_of_time = [&] {
    return args.duration_s > 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count() >= args.duration_s;
  };

  std::error_code ec;
  fs::create_directories(args.dir, ec);
  for (const char* f : {"meterhub.db", "meterhub.db-wal", "meterhub.db-shm"}) fs::remove(fs::path(args.dir) / f, ec);
  fs::remove_all(fs::path(args.dir) / "broker", ec);

  // The daemon serves plain HTTP on loopback only (tls_setup.h); the demo has no config file to
  // allow it elsewhere, so say what does.
  if (api::HttpOptions listen; !args.tls && api::ParseListenAddress(args.listen, &listen).ok() && !IsLoopbackHost(listen.host)) {
    err << "demo: --listen " << args.listen << " is not a loopback address: add --tls to serve HTTPS there\n";
    return 2;
  }
  LocalBroker broker;
  // --tls: a CA made for this run signs the broker's and the API's certificate; the simulated
  // devices and API clients trust only it. Its key is never written down.
  ingest::MqttTls device_tls;
  TlsFiles tls_files;
  if (args.tls) {
    Result<TlsFiles> made = MakeThrowAwayTls((fs::path(args.dir) / "tls").string());
    if (!made.ok()) {
      err << "demo: " << made.status().ToString() << "\n";
      return 1;
    }
    tls_files = *made;
    broker.SetTlsFiles(tls_files.ca_file, tls_files.cert_file, tls_files.key_file);
    device_tls.ca_file = tls_files.ca_file;
  }
  if (Status s = broker.Start((fs::path(args.dir) / "broker").string()); !s.ok()) {
    err << "demo: " << s.message() << "\n";
    return 1;
  }
  // Stands in for the customers' phones (/alerts) and the parts' outside systems.
  WebhookReceiver receiver;
  if (Status s = receiver.Start(); !s.ok()) {
    err << "demo: " << s.message() << "\n";
    return 1;
  }

  // Simulated time: the replay ends at the start of today (UTC+8), the peak is its first days.
  const int32_t tz = 8 * 3600;
  const int64_t today = PeriodOf(SystemClock::Instance().NowSeconds(), PeriodKind::kDay, TimeZone::Fixed(tz)).start;
  const int64_t sim_start = today - static_cast<int64_t>(args.days) * 86400;
  const int64_t peak_end = sim_start + static_cast<int64_t>(args.peak_days) * 86400;

  Config config;
  config.store.path = (fs::path(args.dir) / "meterhub.db").string();
  config.mqtt.broker = broker.address();
  config.mqtt.client_id = "meterhub-demo-ingest";
  if (args.tls) {
    config.mqtt.tls_ca = tls_files.ca_file;
    config.http.tls_cert = tls_files.cert_file;
    config.http.tls_key = tls_files.key_file;
  }
  config.http.listen = args.listen;
  config.vee.peak = {FormatIsoUtc(sim_start) + ".." + FormatIsoUtc(peak_end)};
  config.alerts.dispatcher.initial_backoff_ms = 200;
  // The customers' phones are the demo's receiver on 127.0.0.1: a production daemon refuses to
  // deliver to loopback and private addresses (alerts/terminal_address.h).
  config.alerts.webhook.allow_private = true;
  // What a utility would switch on for a fleet: a spike that slips in while T2 is still unknown
  // (during the peak period) would otherwise stay p, and every later reading would be `error`.
  config.vee.reset_after = 3;
  // After the replay the fleet runs ahead of the wall clock (--speed simulated seconds per
  // second): its readings are from the server's future on purpose.
  config.ingest.max_future = "3650d";
  // The demo's database is scratch (removed at each start): WAL with synchronous = normal still
  // survives a crash of the process, only not a power loss. With full, every ledger append and
  // water frame is its own fsync and the default demo ran ~35 s longer on a loaded 2-core machine.
  // `meterhub serve` keeps the default, full.
  config.store.synchronous = "normal";
  // --postgres: the database (and --workers: more workers) of the scale-out (demo_cluster.h).
  DemoCluster cluster;
  if (args.postgres) {
    if (Status s = cluster.StartDatabase(args.dir, &config); !s.ok()) {
      err << "demo: " << s.ToString() << "\n";
      return 1;
    }
  }
  // The method areas' devices beside the consumption fleet (they read the SQLite file: not on --postgres).
  std::vector<std::unique_ptr<DemoPart>> parts;
  if (args.audit_meters > 0 && !args.postgres) parts.push_back(MakeAuditDemoPart(args));
  if (args.water_meters > 0 && !args.postgres) parts.push_back(MakeWaterDemoPart(args.water_meters, args.seed));
  // Issue 16: a share of the fleet on real protocols, through the TCP gateway (the first worker's,
  // so not with --postgres); the rest of --meters publish JSON readings.
  const int protocol_meters = args.postgres ? 0 : ProtocolMeterCount(args.meters);
  if (protocol_meters > 0) {
    parts.push_back(MakeProtocolDemoPart(protocol_meters, args.meters - protocol_meters, (fs::path(args.dir) / "protocols").string()));
  }
  for (auto& part : parts) part->Configure(config, receiver);
  DaemonOptions daemon_options;
  daemon_options.http_any_port_if_taken = true;  // a taken --listen port: any free one, printed below
  Daemon daemon(config, &SystemClock::Instance(), daemon_options);
  if (Status s = daemon.Start(); !s.ok()) {
    err << "demo: " << s.ToString() << "\n";
    return 1;
  }

  sim::FleetOptions fo;
  fo.meters = args.meters - protocol_meters;
  fo.seed = args.seed;
  fo.utc_offset_s = tz;
  fo.faults.null_reading = args.null_rate;
  fo.faults.backward_step = args.backward_rate;
  fo.faults.spike = args.spike_rate;
  fo.faults.forgotten_appliance = args.appliance_rate;
  sim::Fleet fleet(sim::DefaultLoadModel(), fo, sim_start);

  // Register the fleet and bind each meter's customer terminal (a webhook to the receiver).
  store::Store& st = *daemon.store();
  for (const auto& m : fleet.meters()) {
    store::MeterInfo info;
    info.meter_id = m.id;
    info.kind = m.kind == sim::MeterKind::kWater ? "water" : "electricity";
    info.customer_id = "C" + m.id.substr(1);
    info.interval_s = m.interval_s;
    info.tz_offset_s = tz;
    info.created_at = sim_start;
    Status s = st.UpsertMeter(info);
    if (s.ok()) s = st.BindTerminal({"T" + m.id.substr(1), m.id, "webhook", receiver.url("/alerts")});
    if (!s.ok()) {
      err << "demo: registering " << m.id << ": " << s.ToString() << "\n";
      return 1;
    }
  }
  auto token = api::CreateToken(st, api::Role::kAdmin, "demo-admin", "");
  // Dashboard accounts, one per role, sharing one password made for this run; the customer owns
  // the fleet's first meter.
  const std::string password = api::NewToken().substr(3, 16);
  const std::string first_customer = fleet.meters().empty() ? "C0" : "C" + fleet.meters().front().id.substr(1);
  for (auto [name, role] : {std::pair{"operator", api::Role::kOperator}, {"supervisor", api::Role::kSupervisor},
                            {"auditor", api::Role::kAuditor}, {"customer", api::Role::kCustomer}}) {
    Status s = api::AddUser(st, {name, role, role == api::Role::kCustomer ? first_customer : "", password},
                            SystemClock::Instance().NowSeconds());
    if (!s.ok()) err << "demo: dashboard account " << name << ": " << s.message() << "\n";
  }
  if (args.postgres && args.workers > 1) {
    if (Status s = cluster.StartWorkers(config, args.dir, args.workers, daemon.http_port()); !s.ok()) {
      err << "demo: " << s.ToString() << "\n";
      return 1;
    }
  }
  const std::string scheme = args.tls ? "https" : "http";
  const std::string base = scheme + "://127.0.0.1:" + std::to_string(daemon.http_port());
  DemoContext ctx{daemon, receiver, args, broker.port(), base, device_tls, token.ok() ? *token : std::string(), sim_start, tz};
  for (auto& part : parts) {
    if (Status s = part->Start(ctx); !s.ok()) {
      err << "demo: " << s.ToString() << "\n";
      return 1;
    }
  }
  out << "MeterHub demo\n"
      << "  HTTP API:   " << base << "/api/v1  (OpenAPI: /api/v1/openapi.json, metrics: /metrics)\n"
      << "  dashboard:  " << base << "/  (log in as operator, supervisor, auditor or customer"
      << " [" << first_customer << "], password " << password << "; or with the admin token)\n"
      << "  admin token: " << (token.ok() ? *token : std::string("(failed)")) << "\n"
      << "  MQTT broker: " << broker.address() << (args.tls ? " over TLS" : "") << " (topic meters/<shard>/<meter_id>/readings)\n"
      << (args.tls ? "  TLS:        throw-away CA " + tls_files.ca_file + " (curl --cacert it; mosquitto_sub --cafile it)\n" : "")
      << "  database:   " << store::Describe(StoreLocationOf(config))
      << (args.postgres ? " (" + std::to_string(args.workers) + " worker(s); their logs: " + args.dir + "/worker-*.log)" : "") << "\n"
      << "  fleet:      " << fleet.meters().size() << " meters publishing JSON"
      << (protocol_meters > 0 ? " + " + std::to_string(protocol_meters) + " on real protocols" : std::string()) << ", " << args.days << " simulated days from "
      << FormatIsoOffset(sim_start, tz) << ", peak period " << config.vee.peak.front() << "\n"
      << "  try: curl " << (args.tls ? "--cacert " + tls_files.ca_file + " " : "") << "-H 'Authorization: Bearer <token>' "
      << base << "/api/v1/alerts?limit=5\n";
  for (auto& part : parts) out << "  " << part->Banner() << "\n";
  out << std::flush;

  // A first start has no broker session yet: readings published before the daemon's
  // subscriptions are acknowledged would be routed nowhere.
  for (int i = 0; i < 300 && daemon.mqtt() && !daemon.mqtt()->connected() && !g_stop; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (daemon.mqtt() && !daemon.mqtt()->connected()) {
    err << "demo: the daemon's MQTT subscriptions were not acknowledged within 30 s\n";
    return 1;
  }
  FleetPublisher publisher;
  if (Status s = publisher.Connect(broker.port(), device_tls); !s.ok()) {
    err << "demo: " << s.message() << "\n";
    return 1;
  }

  // Every 6 simulated hours each meter uploads the readings it took (an array per message).
  const int64_t kUploadEvery = 6 * 3600;
  int64_t published_readings = 0;
  std::map<std::string, std::vector<Reading>> per_meter;
  auto upload_window = [&](int64_t next) {
    per_meter.clear();
    fleet.AdvanceTo(next, [&](const Reading& r) { per_meter[r.meter_id].push_back(r); });
    for (auto& [id, readings] : per_meter) {
      std::string payload = "[";
      for (size_t i = 0; i < readings.size(); ++i) {
        if (i) payload += ",";
        payload += codec::ReadingToJson(readings[i]);
      }
      payload += "]";
      published_readings += static_cast<int64_t>(readings.size());
      if (Status s = publisher.Publish(id, payload); !s.ok()) {
        err << "demo: " << s.message() << "\n";
        g_stop = true;
        return;
      }
    }
    for (auto& part : parts) {
      if (Status s = part->AdvanceTo(next); !s.ok()) {
        err << "demo: " << s.ToString() << "\n";
        g_stop = true;
        return;
      }
    }
  };

  // 1. Replay the simulated days as fast as the daemon takes them.
  {
    Progress progress("replaying simulated days", static_cast<uint64_t>(args.days) * 4);
    uint64_t windows = 0;
    for (int64_t t = sim_start; t < today && !g_stop && !out_of_time(); t = std::min(today, t + kUploadEvery)) {
      upload_window(std::min(today, t + kUploadEvery));
      progress.Update(++windows);
    }
  }
  publisher.WaitAcked(30);
  // Let the daemon drain what the broker holds, then the dispatcher send what is pending.
  auto drain = [&] {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (daemon.pipeline()->counters().received.load() + daemon.pipeline()->counters().rejected.load() +
                   cluster.ReceivedByOthers() <
               published_readings &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (int i = 0; i < 100 && daemon.dispatcher()->sent() + daemon.dispatcher()->failed() <
                                   daemon.pipeline()->counters().alerts.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& part : parts) part->Drain(30);
  };
  drain();

  // 2. Live: the fleet goes on at `speed` simulated seconds per second until Ctrl-C / --duration.
  if (!args.exit_after_replay && !out_of_time() && !g_stop) {
    out << "replay done; the fleet goes on live (" << args.speed
        << " simulated s per s, uploads every 6 simulated h) — Ctrl-C to stop and print the summary\n"
        << std::flush;
    const auto live_start = std::chrono::steady_clock::now();
    int64_t t = today;
    while (!g_stop && !out_of_time()) {
      double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - live_start).count();
      if (today + static_cast<int64_t>(wall * args.speed) >= t + kUploadEvery) {
        upload_window(t + kUploadEvery);
        t += kUploadEvery;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    publisher.WaitAcked(30);
    drain();
  }

  // Ground truth next to the database, for anyone who wants to check the verdicts.
  {
    std::ofstream gt(fs::path(args.dir) / "ground_truth.csv");
    sim::WriteGroundTruthCsv(fleet.ground_truth(), gt);
  }
  std::map<std::string, int64_t> injected;
  for (const auto& f : fleet.ground_truth()) injected[sim::FaultKindName(f.kind)]++;

  // The final verdicts are the store's (reset detection may re-judge earlier readings).
  int64_t by_verdict[4] = {0, 0, 0, 0};
  if (auto q = st.QueryQuarantine("", {}, 0); q.ok())
    for (const auto& row : *q) by_verdict[static_cast<int>(row.verdict)]++;
  // Forgotten-appliance days after the peak (before it, T1 is not known yet): how many alerted?
  int64_t appliance_days = 0, appliance_alerted = 0, other_alerts = 0;
  std::set<std::pair<std::string, int64_t>> appliance;
  for (const auto& f : fleet.ground_truth())
    if (f.kind == sim::FaultKind::kForgottenAppliance && f.ts >= peak_end) {
      ++appliance_days;
      appliance.insert({f.meter_id, f.ts});
    }
  std::set<std::pair<std::string, int64_t>> alerted;
  if (auto alerts = st.ListAlerts("", {}, 0); alerts.ok())
    for (const auto& a : *alerts) alerted.insert({a.meter_id, a.period_start});
  for (const auto& key : alerted) {
    if (appliance.count(key)) ++appliance_alerted;
    else ++other_alerts;
  }
  const auto& c = daemon.pipeline()->counters();
  const int64_t received_elsewhere = cluster.ReceivedByOthers();  // --workers: the other workers' part
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  out << "\nsummary\n"
      << "  readings published:   " << published_readings << " in " << publisher.sent() << " MQTT messages ("
      << secs << " s)\n"
      << "  readings received:    " << c.received.load() << " by the daemon (accepted " << c.accepted.load()
      << ", quarantined " << c.quarantined[1].load() + c.quarantined[2].load() + c.quarantined[3].load()
      << ", duplicates " << c.duplicates.load() << ", rejected " << c.rejected.load() << "); still queued in the broker: "
      << std::max<int64_t>(0, published_readings - c.received.load() - received_elsewhere)
      << (published_readings > c.received.load() + received_elsewhere ? " (the run stopped before the daemon took them; not stored)" : "")
      << "\n"
      << "  readings accepted:    " << StoredActualAndEstimated(st) << "\n"
      << "  quarantined:          null " << by_verdict[static_cast<int>(Verdict::kNull)] << ", error "
      << by_verdict[static_cast<int>(Verdict::kError)] << ", sudden " << by_verdict[static_cast<int>(Verdict::kSudden)]
      << "\n"
      << "  duplicates:           " << c.duplicates.load() << "\n"
      << "  injected faults:     ";
  for (const auto& [kind, n] : injected) out << " " << kind << " " << n;
  out << "\n"
      << "  alerts created:       " << c.alerts.load() << " (meter-days alerted: " << alerted.size()
      << "; forgotten-appliance days after the peak: " << appliance_days << ", alerted " << appliance_alerted
      << "; other days alerted: " << other_alerts << ")\n"
      << "  alerts sent:          " << daemon.dispatcher()->sent() << " (failed " << daemon.dispatcher()->failed()
      << "), received by the customers' webhook: " << receiver.received("/alerts") << "\n"
      << "  ground truth:         " << (fs::path(args.dir) / "ground_truth.csv").string() << "\n";
  auto samples = receiver.samples("/alerts");
  if (!samples.empty()) out << "  an alert as received: " << samples.front() << "\n";
  if (args.postgres) {
    out << "  (readings received and alerts created above: worker w1's; the other workers received " << received_elsewhere << ")\n";
    cluster.PrintWorkers(out, daemon, token.ok() ? *token : std::string());
  }
  for (auto& part : parts) part->PrintSummary(out);
  out << std::flush;
  daemon.Stop();
  cluster.Stop();
  receiver.Stop();
  broker.Stop();
  return 0;
}

}  // namespace mh::app
