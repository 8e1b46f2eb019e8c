// The daemon's part in the scale-out (SPEC 7, docs/scale.md), kept apart from daemon.cc: on
// PostgreSQL every worker takes shard and singleton leases (cluster/shard_leases), fences its
// commits with them, consumes only its shards' MQTT sessions, runs a singleton job only while
// it holds that job's lease, and shows all of it in /api/v1/status and /metrics.
#include <spdlog/spdlog.h>

#include "app/daemon.h"
#include "core/time.h"
#include "store/postgres/pg_store.h"

namespace mh::app {

Status Daemon::StartCluster() {
  if (config_.store.backend != "postgres") return Status::Ok();  // SQLite: one worker, every shard
  cluster::LeaseOptions o;
  o.url = config_.store.url;
  o.worker_id = config_.cluster.worker_id;
  MH_ASSIGN_OR_RETURN(int64_t period_s, ParseDuration(config_.cluster.lease_period));
  o.lease_period_ms = period_s * 1000;
  o.jobs = {kJobAlerts, kJobRelay, kJobAudit, kJobWater};
  MH_ASSIGN_OR_RETURN(leases_, cluster::ShardLeases::Open(o));
  // A shard that changed hands may have had readings stored by another worker meanwhile.
  leases_->SetChangeHook([p = pipeline_.get()](int shard, bool) { p->InvalidateShard(shard); });
  MH_RETURN_IF_ERROR(leases_->Start());
  MH_RETURN_IF_ERROR(store::SetCommitFence(*store_, leases_));
  spdlog::info("cluster: worker {} (lease period {}) owns {} shard(s)", leases_->worker_id(), config_.cluster.lease_period,
               leases_->Owned().size());
  return Status::Ok();
}

bool Daemon::RunsJob(const char* job) const { return !leases_ || leases_->HoldsJob(job); }

void Daemon::AddClusterStatus(nlohmann::json& j) const {
  if (!leases_) {
    j["worker_id"] = config_.cluster.worker_id.empty() ? cluster::DefaultWorkerId() : config_.cluster.worker_id;
    j["shards"] = nlohmann::json::array();
    for (int s = 0; s < 64; ++s) j["shards"].push_back(s);
    j["lease_expires"] = nullptr;  // SQLite: no leases, the one worker owns everything
    return;
  }
  j["worker_id"] = leases_->worker_id();
  j["shards"] = leases_->Owned();
  const int64_t ms = leases_->lease_expires_ms();
  j["lease_expires"] = ms > 0 ? nlohmann::json(FormatIsoUtc(ms / 1000)) : nlohmann::json(nullptr);
  nlohmann::json jobs = nlohmann::json::array();
  for (const char* job : {kJobAlerts, kJobRelay, kJobAudit, kJobWater})
    if (leases_->HoldsJob(job)) jobs.push_back(job);
  j["singleton_jobs"] = jobs;
}

void Daemon::RegisterClusterMetrics() {
  auto& m = *metrics_;
  cluster::ShardLeases* l = leases_.get();
  m.AddGauge("meterhub_shards_owned", "Shards this worker holds the lease of", {},
             [l] { return l ? static_cast<double>(l->Owned().size()) : 64.0; });
  m.AddCounter("meterhub_lease_renewals_total", "Lease rounds (heartbeat, renew, claim) completed by this worker", {},
               [l] { return l ? l->renewals() : int64_t{0}; });
}

}  // namespace mh::app
