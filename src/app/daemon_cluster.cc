// The daemon's part in the scale-out (SPEC 7, docs/scale.md), kept apart from daemon.cc: on
// PostgreSQL every worker takes shard and singleton leases (cluster/shard_leases), fences its
// commits with them, consumes only its shards' MQTT sessions, runs a singleton job only while
// it holds that job's lease, and shows all of it in /api/v1/status and /metrics.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/session.h"
#include "app/daemon.h"
#include "core/meter_id.h"
#include "core/time.h"
#include "store/postgres/pg_store.h"

namespace mh::app {

namespace {

// The address other workers reach this one's API at: `listen`, with a wildcard host replaced by
// this machine's name.
std::string AdvertisedListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return listen;
  const std::string host = listen.substr(0, colon);
  if (host != "0.0.0.0" && host != "[::]" && host != "::" && !host.empty()) return listen;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return listen;
  return std::string(name) + listen.substr(colon);
}

// Sends a posted batch on to its owner over plain HTTP, with the caller's credentials, and
// returns the owner's answer as it is.
Result<http::Response> ForwardTo(const std::string& self, const std::string& listen, const http::Request& req) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("worker address '" + listen + "' has no port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  httplib::Client client(host, std::atoi(listen.c_str() + colon + 1));
  client.set_connection_timeout(5);
  client.set_read_timeout(120);  // the owner answers once the batch is durably stored
  httplib::Headers headers{{api::kForwardedByHeader, self}};
  for (const char* name : {"Authorization", "Cookie", api::kCsrfHeader})
    if (req.has_header(name)) headers.emplace(name, req.get_header_value(name));
  std::string type = req.get_header_value("Content-Type");
  auto r = client.Post(req.path, headers, req.body, type.empty() ? "application/json" : type);
  if (!r) return Unavailable(httplib::to_string(r.error()));
  http::Response out;
  out.status = r->status;
  out.set_content(r->body, r->get_header_value("Content-Type"));
  if (r->has_header("Retry-After")) out.set_header("Retry-After", r->get_header_value("Retry-After"));
  return out;
}

}  // namespace

Result<std::shared_ptr<cluster::ShardLeases>> HoldShardsForImport(const Config& config, store::Store& store) {
  if (config.store.backend != "postgres") return std::shared_ptr<cluster::ShardLeases>();
  cluster::LeaseOptions o;
  o.url = config.store.url;
  o.worker_id = "import-" + cluster::DefaultWorkerId();
  MH_ASSIGN_OR_RETURN(int64_t period_s, ParseDuration(config.cluster.lease_period));
  o.lease_period_ms = period_s * 1000;
  o.hold_all = true;
  MH_ASSIGN_OR_RETURN(std::shared_ptr<cluster::ShardLeases> leases, cluster::ShardLeases::Open(o));
  MH_RETURN_IF_ERROR(leases->Start());
  if (leases->Owned().size() < static_cast<size_t>(kShardCount)) {
    std::map<std::string, std::vector<int>> by_worker;
    for (int shard = 0; shard < kShardCount; ++shard) {
      if (leases->Owns(shard)) continue;
      std::optional<cluster::ShardOwner> owner = leases->OwnerOf(shard);
      by_worker[owner ? owner->worker_id : "(being released)"].push_back(shard);
    }
    leases->Stop();  // gives back what it took
    std::string held;
    for (const auto& [worker, shards] : by_worker)
      held += (held.empty() ? "" : ", ") + worker + " (" + std::to_string(shards.size()) + " shard(s))";
    return FailedPrecondition(
        "live workers hold shard leases in this database: " + held +
        ". An import writes every shard it meets and must not bypass a worker's pipeline: stop the workers "
        "(SIGTERM; they give their leases back), run the import, start them again — or post the file to a worker "
        "instead (POST /api/v1/readings, Content-Type: text/csv)");
  }
  MH_RETURN_IF_ERROR(store::SetCommitFence(store, leases));
  return leases;
}

void Daemon::AddClusterRouting(api::ApiDeps& deps) const {
  if (!leases_) return;
  using Kind = api::ShardRoute::Kind;
  const cluster::ShardLeases* l = leases_.get();
  deps.shard_route = [l](int shard) -> api::ShardRoute {
    if (l->Owns(shard)) return {Kind::kHere, "", ""};
    std::optional<cluster::ShardOwner> o = l->OwnerOf(shard);
    if (!o || o->worker_id == l->worker_id()) return {Kind::kNobody, "", ""};  // ours lapsed: nobody's yet
    return {Kind::kOther, o->worker_id, o->listen};
  };
  // Over HTTPS the owner is named in a 421 instead (the client posts there): no certificate to check it with here.
  if (config_.http.tls_cert.empty())
    deps.forward = [self = l->worker_id()](const std::string& listen, const http::Request& req) {
      return ForwardTo(self, listen, req);
    };
  deps.retry_after_s = static_cast<int>(std::max<int64_t>(1, l->lease_period_ms() / 1000));
}

Status Daemon::StartCluster() {
  if (config_.store.backend != "postgres") return Status::Ok();  // SQLite: one worker, every shard
  cluster::LeaseOptions o;
  o.url = config_.store.url;
  o.worker_id = config_.cluster.worker_id;
  MH_ASSIGN_OR_RETURN(int64_t period_s, ParseDuration(config_.cluster.lease_period));
  o.lease_period_ms = period_s * 1000;
  o.jobs = {kJobAlerts, kJobRelay, kJobAudit, kJobWater};
  // Port 0 (any free port): not known before the API is bound; AdvertiseListen says it then.
  o.listen = config_.http.listen.ends_with(":0") ? std::string() : AdvertisedListen(config_.http.listen);
  MH_ASSIGN_OR_RETURN(leases_, cluster::ShardLeases::Open(o));
  // A shard that changed hands may have had readings stored by another worker meanwhile.
  leases_->SetChangeHook([p = pipeline_.get()](int shard, bool) { p->InvalidateShard(shard); });
  MH_RETURN_IF_ERROR(leases_->Start());
  MH_RETURN_IF_ERROR(store::SetCommitFence(*store_, leases_));
  spdlog::info("cluster: worker {} (lease period {}) owns {} shard(s)", leases_->worker_id(), config_.cluster.lease_period,
               leases_->Owned().size());
  return Status::Ok();
}

void Daemon::AdvertiseListen(const std::string& host, int port) {
  if (!leases_) return;
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;  // IPv6
  leases_->SetListen(AdvertisedListen(bracketed + ":" + std::to_string(port)));
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
