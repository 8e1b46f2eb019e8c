// The running daemon (`meterhub serve`): store, pipeline, alert dispatcher, MQTT ingestion, the
// method services (relay head-end, audit server, water maintenance) and the HTTP API, built from a
// Config and torn down in reverse order.
//
// Threads: the MQTT network threads run the pipeline for readings and the method services for
// their device topics (relay/report, relay/forward, relay/outcome, audit/signal, audit/segments,
// water/frame, water/ack), each message acknowledged only after its durable write; HTTP worker
// threads run the same for posted ones (Pipeline::Submit serialises readings); dispatcher threads
// send alerts; the relay thread rotates region keys when due and sends uplink work orders (woken
// when one is opened, else every minute); the audit schedule thread runs audits every
// [audit] interval (a requested audit waits on its HTTP worker for the meter's segments, at most
// [audit] max_waiting_runs at once); the water tick thread closes windows and expires commands;
// the gateway thread ([gateway], docs/gateway.md) polls DTUs and hears DLMS pushes, publishing
// what it reads on the broker; everything else only reads the store. docs/architecture.md draws it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "alerts/dispatcher.h"
#include "api/http_api.h"
#include "api/metrics.h"
#include "app/config.h"
#include "app/dynsec.h"
#include "app/store_consumption.h"
#include "app/gateway_wiring.h"
#include "audit/audit_service.h"
#include "base/clock.h"
#include "cluster/shard_leases.h"
#include "ingest/mqtt_ingest.h"
#include "ingest/pipeline.h"
#include "meter/radio.h"
#include "relay/relay_service.h"
#include "store/store.h"
#include "store/water_store.h"
#include "water/water_service.h"

namespace mh::app {

// Opens the store the [store] section names.
Result<std::unique_ptr<store::Store>> OpenStore(const Config& config);

// `meterhub import` on PostgreSQL (docs/scale.md): takes the lease of every shard for the import's
// duration — refused, naming the workers and what to do, while a live worker holds any — and
// fences `store`'s commits with them. Null on SQLite (one process, nothing to coordinate).
Result<std::shared_ptr<cluster::ShardLeases>> HoldShardsForImport(const Config& config, store::Store& store);

// Registers the channels the [alerts] section configures (webhook always; SMS when a gateway URL
// is set; e-mail always, to [alerts.email] url).
void AddChannels(alerts::Dispatcher& dispatcher, const Config& config, const Clock* clock);

// How the daemon is run, beyond its configuration file.
struct DaemonOptions {
  // `meterhub demo`: when http.listen is taken, serve on any free port instead of failing.
  bool http_any_port_if_taken = false;
};

class Daemon {
 public:
  explicit Daemon(Config config, const Clock* clock = &SystemClock::Instance(), DaemonOptions options = {});
  ~Daemon();

  Status Start();
  void Stop();

  int http_port() const { return http_ ? http_->port() : 0; }
  const api::HttpApi* http_api() const { return http_.get(); }
  store::Store* store() { return store_.get(); }
  ingest::Pipeline* pipeline() { return pipeline_.get(); }
  alerts::Dispatcher* dispatcher() { return dispatcher_.get(); }
  ingest::MqttIngest* mqtt() { return mqtt_.get(); }
  relay::RelayService* relay() { return relay_.get(); }
  audit::AuditService* audit() { return audit_.get(); }
  water::WaterService* water() { return water_.get(); }
  gateway::Gateway* gateway() { return gateway_.get(); }
  const Config& config() const { return config_; }
  cluster::ShardLeases* leases() { return leases_.get(); }  // null on SQLite

  // The singleton jobs a worker runs only while it holds their lease (daemon_cluster.cc).
  static constexpr const char* kJobAlerts = "alerts";
  static constexpr const char* kJobRelay = "relay";
  static constexpr const char* kJobAudit = "audit";
  static constexpr const char* kJobWater = "water";

 private:
  void RegisterMetrics();
  // Scale-out (daemon_cluster.cc): leases and fence on PostgreSQL; nothing on SQLite.
  Status StartCluster();
  // Tells the other workers where this one's API is bound (the leases' next heartbeat).
  void AdvertiseListen(const std::string& host, int port);
  bool RunsJob(const char* job) const;
  void AddClusterStatus(nlohmann::json& j) const;
  // PostgreSQL: posted readings go to their shards' lease holder (api/readings_routing.h).
  void AddClusterRouting(api::ApiDeps& deps) const;
  void RegisterClusterMetrics();
  Status StartRelay();
  void RelayLoop();
  Status StartAudit();
  Status StartWater();
  Status StartGateway();
  void WaterTickLoop();
  // Folds the reading log into the packed blocks when it has grown or aged (store.pack_*).
  void PackLoop();

  const Config config_;
  const Clock* const clock_;
  const DaemonOptions options_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<cluster::ShardLeases> leases_;  // PostgreSQL only: this worker's shards and jobs
  std::unique_ptr<ingest::Pipeline> pipeline_;
  std::unique_ptr<ingest::GroupCommitter> http_committer_;
  std::unique_ptr<alerts::Dispatcher> dispatcher_;
  std::unique_ptr<ingest::MqttIngest> mqtt_;
  // The TCP gateway ([gateway], issue 16): polls DTUs, hears DLMS pushes, publishes on the broker.
  std::unique_ptr<StoreMeterDirectory> gateway_directory_;
  std::unique_ptr<BrokerReadingSink> gateway_sink_;
  std::unique_ptr<gateway::Gateway> gateway_;
  // [ingest] frame_keys_file: decrypts raw frames over MQTT and the gateway's DLMS pushes.
  std::shared_ptr<const codec::DecodeKeys> frame_keys_;
  meter::CryptoRandomSource random_;
  std::unique_ptr<relay::RelayService> relay_;
  std::thread key_thread_;
  std::mutex key_mu_;
  std::condition_variable key_cv_;
  bool stopping_ = false;     // guarded by key_mu_
  bool orders_due_ = false;   // guarded by key_mu_: a relay work order was opened
  // The tamper-audit server ([audit]): its ledger and store on the main database file.
  std::unique_ptr<audit::AuditLedger> audit_ledger_;
  std::unique_ptr<store::AuditStore> audit_store_;
  std::unique_ptr<StoreConsumptionSource> audit_readings_;  // the readings store as the audit sees it
  std::unique_ptr<audit::AuditService> audit_;
  // Water remote maintenance (seed 001): its own store connection, the loop, a tick thread (shares
  // key_mu_/key_cv_/stopping_ with the relay key thread for shutdown).
  std::unique_ptr<store::WaterStore> water_store_;
  // Reads customers' photos and clips through the vision module, loaded on the first upload;
  // declared before water_, which uses it.
  std::unique_ptr<water::PhotoReader> photo_reader_;
  std::unique_ptr<water::WaterService> water_;
  std::thread water_thread_;
  std::thread pack_thread_;  // shares key_mu_/key_cv_/stopping_ for shutdown
  std::unique_ptr<api::Metrics> metrics_;
  // [mqtt] provisioning = "dynsec": meters registered over REST become broker devices.
  std::unique_ptr<DynsecProvisioner> dynsec_;
  std::unique_ptr<api::HttpApi> http_;
};

}  // namespace mh::app
