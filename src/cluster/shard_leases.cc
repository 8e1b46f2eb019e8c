#include "cluster/shard_leases.h"

#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/meter_id.h"
#include "store/postgres/pg_db.h"

namespace mh::cluster {

using store::pg::Connection;
using store::pg::Params;
using store::pg::Rows;

namespace {

// $2 is always the lease period in milliseconds.
constexpr char kHeartbeat[] =
    "INSERT INTO workers (worker_id, expires_at, listen) VALUES ($1, now() + $2::float8 * interval '1 millisecond', $3) "
    "ON CONFLICT (worker_id) DO UPDATE SET expires_at = excluded.expires_at, listen = excluded.listen";
// Who holds each live shard lease, and where that worker's HTTP API listens (schema 12).
constexpr char kOwners[] =
    "SELECT l.shard, l.worker_id, w.listen FROM shard_leases l JOIN workers w ON w.worker_id = l.worker_id "
    "WHERE l.expires_at > now() AND w.expires_at > now()";
constexpr char kLiveWorkers[] = "SELECT count(*) FROM workers WHERE expires_at > now()";
// What this worker still holds, renewed; a lease that lapsed is not (someone may have it now).
constexpr char kRenew[] =
    "UPDATE shard_leases SET expires_at = now() + $2::float8 * interval '1 millisecond' "
    "WHERE worker_id = $1 AND expires_at > now() RETURNING shard, epoch, "
    "(extract(epoch FROM expires_at) * 1000)::bigint";
constexpr char kGiveBack[] =
    "UPDATE shard_leases SET worker_id = '', expires_at = '-infinity' WHERE worker_id = $1 AND shard = ANY($2::int[])";
// Unowned or lapsed shards, up to $3; a new epoch each (the fence of the former owner).
constexpr char kClaim[] =
    "UPDATE shard_leases l SET worker_id = $1, epoch = l.epoch + 1, expires_at = now() + $2::float8 * interval '1 millisecond' "
    "FROM (SELECT shard FROM shard_leases WHERE expires_at <= now() ORDER BY shard LIMIT $3 FOR UPDATE SKIP LOCKED) c "
    "WHERE l.shard = c.shard RETURNING l.shard, l.epoch, (extract(epoch FROM l.expires_at) * 1000)::bigint";
// A singleton job: renewed by its holder, taken when unowned or lapsed; none returned = another's.
constexpr char kClaimJob[] =
    "INSERT INTO singleton_leases AS s (job, worker_id, expires_at, epoch) "
    "VALUES ($3, $1, now() + $2::float8 * interval '1 millisecond', 1) ON CONFLICT (job) DO UPDATE SET "
    "worker_id = excluded.worker_id, expires_at = excluded.expires_at, "
    "epoch = s.epoch + CASE WHEN s.worker_id = excluded.worker_id THEN 0 ELSE 1 END "
    "WHERE s.worker_id = excluded.worker_id OR s.expires_at <= now() RETURNING s.epoch";
constexpr char kReleaseShards[] = "UPDATE shard_leases SET worker_id = '', expires_at = '-infinity' WHERE worker_id = $1";
constexpr char kReleaseJobs[] = "UPDATE singleton_leases SET worker_id = '', expires_at = '-infinity' WHERE worker_id = $1";
constexpr char kLeaveWorkers[] = "DELETE FROM workers WHERE worker_id = $1 OR expires_at < now() - interval '1 day'";

std::string IntArray(const std::vector<int>& v) {
  std::string out = "{";
  for (int x : v) out += (out.size() > 1 ? "," : "") + std::to_string(x);
  return out + "}";
}

}  // namespace

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "w1";
  return std::string(host) + "-" + std::to_string(getpid());
}

Result<std::shared_ptr<ShardLeases>> ShardLeases::Open(LeaseOptions options) {
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  if (options.lease_period_ms < 300) return InvalidArgument("cluster.lease_period: at least 300 ms");
  std::shared_ptr<ShardLeases> leases(new ShardLeases(std::move(options)));
  MH_ASSIGN_OR_RETURN(leases->db_, Connection::Open(leases->options_.url, "cluster"));
  MH_ASSIGN_OR_RETURN(int version, leases->db_->StoredVersion("store"));
  if (version < 10)
    return FailedPrecondition("postgres cluster: the store's schema is version " + std::to_string(version) +
                              ", shard leases need 10 (open the store first: it migrates)");
  return leases;
}

ShardLeases::ShardLeases(LeaseOptions options) : options_(std::move(options)), listen_(options_.listen) {}

void ShardLeases::SetListen(std::string listen) {
  std::lock_guard lock(mu_);
  listen_ = std::move(listen);
}

ShardLeases::~ShardLeases() { Stop(); }

Status ShardLeases::Start() {
  MH_RETURN_IF_ERROR(Tick());
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void ShardLeases::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (db_) Release();
}

void ShardLeases::Loop() {
  const auto every = std::chrono::milliseconds(std::max<int64_t>(100, options_.lease_period_ms / 3));
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, every, [this] { return stopping_; })) {
    lock.unlock();
    if (Status s = Tick(); !s.ok()) spdlog::error("cluster: renewing the leases of {} failed: {}", options_.worker_id, s.ToString());
    lock.lock();
  }
}

Status ShardLeases::Tick() {
  const std::map<int, int64_t> before = [this] {
    std::lock_guard lock(mu_);
    return shards_;
  }();
  Status s = Round();
  std::map<int, int64_t> after;
  {
    std::lock_guard lock(mu_);
    if (!s.ok() && Clock::now() >= valid_until_) shards_.clear(), jobs_.clear();  // lapsed: we are nobody
    after = shards_;
  }
  if (hook_) {
    for (const auto& [shard, epoch] : before) {
      auto it = after.find(shard);
      if (it == after.end() || it->second != epoch) hook_(shard, false);
    }
    for (const auto& [shard, epoch] : after) {
      auto it = before.find(shard);
      if (it == before.end() || it->second != epoch) hook_(shard, true);
    }
  }
  if (before.size() != after.size())
    spdlog::info("cluster: worker {} owns {} shard(s)", options_.worker_id, after.size());
  return s;
}

Status ShardLeases::Round() {
  const Clock::time_point start = Clock::now();
  const int64_t period = options_.lease_period_ms;
  std::map<int, int64_t> held;
  std::map<std::string, int64_t> jobs;
  std::map<int, ShardOwner> owners;
  int64_t expires = 0;
  auto take = [&](const Rows& r) {
    for (int i = 0; i < r.size(); ++i) {
      held[static_cast<int>(r.Int(i, 0))] = r.Int(i, 1);
      expires = std::max(expires, r.Int(i, 2));
    }
  };
  Status s = db_->Transaction([&]() -> Status {
    const Params me = Params().Text(options_.worker_id).Int(period);
    std::string listen;
    {
      std::lock_guard lock(mu_);
      listen = listen_;
    }
    MH_RETURN_IF_ERROR(db_->Query(kHeartbeat, Params(me).Text(listen), "heartbeat").status());
    MH_ASSIGN_OR_RETURN(Rows live, db_->Query(kLiveWorkers, Params(), "count live workers"));
    const int64_t workers = std::max<int64_t>(1, live.Int(0, 0));
    const int64_t share = options_.hold_all ? kShardCount : (kShardCount + workers - 1) / workers;
    MH_ASSIGN_OR_RETURN(Rows renewed, db_->Query(kRenew, me, "renew shard leases"));
    take(renewed);
    if (static_cast<int64_t>(held.size()) > share) {
      // A worker joined: give back the highest shards above the share (it claims them next round).
      std::vector<int> excess;
      for (auto it = held.rbegin(); it != held.rend() && static_cast<int64_t>(held.size() - excess.size()) > share; ++it)
        excess.push_back(it->first);
      MH_RETURN_IF_ERROR(db_->Query(kGiveBack, Params().Text(options_.worker_id).Text(IntArray(excess)), "give back shards").status());
      for (int shard : excess) held.erase(shard);
    } else if (static_cast<int64_t>(held.size()) < share) {
      MH_ASSIGN_OR_RETURN(Rows claimed, db_->Query(kClaim, Params(me).Int(share - static_cast<int64_t>(held.size())), "claim shards"));
      take(claimed);
    }
    for (const std::string& job : options_.jobs) {
      MH_ASSIGN_OR_RETURN(Rows r, db_->Query(kClaimJob, Params(me).Text(job), "claim job " + job));
      if (!r.empty()) jobs[job] = r.Int(0, 0);
    }
    MH_ASSIGN_OR_RETURN(Rows o, db_->Query(kOwners, Params(), "list shard owners"));
    owners.clear();
    for (int i = 0; i < o.size(); ++i) owners[static_cast<int>(o.Int(i, 0))] = ShardOwner{o.Text(i, 1), o.Text(i, 2)};
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::lock_guard lock(mu_);
  owners_ = std::move(owners);
  shards_ = std::move(held);
  jobs_ = std::move(jobs);
  valid_until_ = start + std::chrono::milliseconds(period - period / 10);
  if (expires > 0) expires_ms_ = expires;
  ++renewals_;
  return Status::Ok();
}

void ShardLeases::Release() {
  {
    std::lock_guard lock(mu_);
    shards_.clear();
    jobs_.clear();
  }
  const Params me = Params().Text(options_.worker_id);
  Status s = db_->Transaction([&]() -> Status {
    MH_RETURN_IF_ERROR(db_->Query(kReleaseShards, me, "release shards").status());
    MH_RETURN_IF_ERROR(db_->Query(kReleaseJobs, me, "release jobs").status());
    return db_->Query(kLeaveWorkers, me, "leave").status();
  });
  if (!s.ok()) spdlog::warn("cluster: releasing the leases of {} failed (they lapse by themselves): {}", options_.worker_id, s.ToString());
}

std::optional<int64_t> ShardLeases::EpochOf(int shard) const {
  std::lock_guard lock(mu_);
  if (Clock::now() >= valid_until_) return std::nullopt;
  auto it = shards_.find(shard);
  if (it == shards_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> ShardLeases::Owned() const {
  std::vector<int> out;
  std::lock_guard lock(mu_);
  if (Clock::now() >= valid_until_) return out;
  for (const auto& [shard, epoch] : shards_) out.push_back(shard);
  return out;
}

bool ShardLeases::HoldsJob(const std::string& job) const { return JobEpochOf(job).has_value(); }

std::optional<int64_t> ShardLeases::JobEpochOf(const std::string& job) const {
  std::lock_guard lock(mu_);
  if (Clock::now() >= valid_until_) return std::nullopt;
  auto it = jobs_.find(job);
  if (it == jobs_.end()) return std::nullopt;
  return it->second;
}

std::optional<ShardOwner> ShardLeases::OwnerOf(int shard) const {
  std::lock_guard lock(mu_);
  auto it = owners_.find(shard);
  if (it == owners_.end()) return std::nullopt;
  return it->second;
}

int64_t ShardLeases::lease_expires_ms() const {
  std::lock_guard lock(mu_);
  return expires_ms_;
}

}  // namespace mh::cluster
