// The PostgreSQL main store's ingest write path: one transaction per batch. Readings and meter
// states, the bulk of a batch, go by COPY: readings (and new meters) straight into their tables
// when they are all new (as nearly always), else — like states — into session temp tables, merged
// into theirs with
// one INSERT … ON CONFLICT each (the batch's last row per key wins, as the contract says); the other
// parts go as pipelined prepared statements (one round trip per kind). Idempotent: every insert
// is keyed and skips or replaces what a replayed batch wrote before.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "store/postgres/pg_store_internal.h"
#include "store/postgres/pg_store_sql.h"

namespace mh::store::pgstore {

using pg::Params;
using pg::Rows;
namespace sql = pgsql;

namespace {

// Everything Commit refuses, checked before a byte is written (so a refused batch writes nothing).
Status Validate(const IngestBatch& b) {
  for (const MeterInfo& m : b.new_meters)
    if (m.meter_id.empty()) return InvalidArgument("commit batch: new meter without meter_id");
  for (const StoredReading& r : b.accepted) {
    if (r.meter_id.empty()) return InvalidArgument("commit batch: accepted reading without meter_id");
    if (!std::isfinite(r.value) || !std::isfinite(r.consumption)) {
      return InvalidArgument("commit batch: accepted reading " + r.meter_id + "@" + std::to_string(r.ts) +
                             " has a value or consumption that is not finite");
    }
  }
  for (const QuarantinedReading& q : b.quarantined)
    if (q.meter_id.empty()) return InvalidArgument("commit batch: quarantined reading without meter_id");
  for (const ReadingEvent& e : b.events)
    if (e.meter_id.empty()) return InvalidArgument("commit batch: " + e.kind + " event without meter_id");
  for (const MeterStateRecord& s : b.states)
    if (s.meter_id.empty()) return InvalidArgument("commit batch: meter state without meter_id");
  for (const NewAlert& a : b.alerts)
    if (a.alert.meter_id.empty()) return InvalidArgument("commit batch: alert without meter_id");
  for (const ReadingKey& k : b.remove_accepted)
    if (k.meter_id.empty()) return InvalidArgument("commit batch: accepted reading to remove without meter_id");
  for (const ReadingKey& k : b.remove_quarantined)
    if (k.meter_id.empty()) return InvalidArgument("commit batch: quarantine row to remove without meter_id");
  for (const ReadingVersion& v : b.versions)
    if (v.meter_id.empty()) return InvalidArgument("commit batch: reading version without meter_id");
  for (const ReadingEstimate& e : b.estimates)
    if (e.meter_id.empty()) return InvalidArgument("commit batch: reading estimate without meter_id");
  return Status::Ok();
}

// The indexes of `rows` that are the last of their key, in order: one INSERT … ON CONFLICT may
// not touch a row twice.
template <typename T, typename KeyOf>
std::vector<size_t> LastPerKey(const std::vector<T>& rows, KeyOf key_of) {
  std::vector<size_t> keep;
  keep.reserve(rows.size());
  std::unordered_set<std::string> seen;
  seen.reserve(rows.size());
  for (size_t i = rows.size(); i-- > 0;) {
    if (seen.insert(key_of(rows[i])).second) keep.push_back(i);
  }
  std::reverse(keep.begin(), keep.end());
  return keep;
}

// The part of a quarantined reading's key that tells two values apart (as sqlite_store.cc).
std::string QuarantineValueKey(const QuarantinedReading& q) {
  if (!q.value) return "r:" + q.raw_value;
  char digits[40];
  const auto result = std::to_chars(digits, digits + sizeof(digits), *q.value);
  return "v:" + std::string(digits, result.ptr);
}

Params KeyParams(const ReadingKey& k) { return Params().Text(k.meter_id).Text(k.channel).Int(k.ts); }

// Only readings and states of a deferred batch may wait for Pack; anything else in it is durable
// at once, so such a batch commits synchronously.
bool OnlyReadingsAndStates(const IngestBatch& b) {
  return b.new_meters.empty() && b.quarantined.empty() && b.events.empty() && b.alerts.empty() &&
         b.remove_accepted.empty() && b.remove_quarantined.empty() && b.versions.empty() &&
         b.estimates.empty();
}

}  // namespace

Status PostgresStore::SetCommitFence(std::shared_ptr<const CommitFence> fence) {
  std::lock_guard lock(write_mu_);
  fence_ = std::move(fence);
  return Status::Ok();
}

// The fence (SPEC 7): the shards whose sessions delivered this batch (FenceScope) must all still
// be held by this worker, under the epochs it believes it holds — checked, and the lease rows
// share-locked so no takeover commits in between, inside the batch's own transaction.
Status PostgresStore::CheckFence(pg::Connection& db) {
  const std::vector<int>* scope = FenceScope::Current();
  if (!fence_ || scope == nullptr || scope->empty()) return Status::Ok();
  std::map<int, int64_t> epochs;
  for (int shard : *scope) {
    std::optional<int64_t> epoch = fence_->EpochOf(shard);
    if (!epoch) return Unavailable("shard " + std::to_string(shard) + " is no longer leased to worker " + fence_->worker_id());
    epochs[shard] = *epoch;
  }
  std::string shards = "{", values = "{";
  for (const auto& [shard, epoch] : epochs) {
    if (shards.size() > 1) shards += ',', values += ',';
    shards += std::to_string(shard);
    values += std::to_string(epoch);
  }
  shards += '}', values += '}';
  MH_ASSIGN_OR_RETURN(Rows held, db.Run(sql::kCheckLeases, Params().Text(fence_->worker_id()).Text(shards).Text(values),
                                        "check shard leases"));
  if (held.size() != static_cast<int>(epochs.size()))
    return Unavailable("worker " + fence_->worker_id() + " lost the lease of a shard among " + shards +
                       " (lapsed or taken over): nothing of this batch is stored");
  return Status::Ok();
}

Status PostgresStore::CheckJobFence(pg::Connection& db, const std::string& job) {
  if (!fence_) return Status::Ok();
  std::optional<int64_t> epoch = fence_->JobEpochOf(job);
  if (!epoch) return Unavailable("worker " + fence_->worker_id() + " does not hold the lease of job " + job);
  MH_ASSIGN_OR_RETURN(Rows held, db.Run(sql::kCheckJobLease, Params().Text(fence_->worker_id()).Text(job).Int(*epoch),
                                        "check the lease of job " + job));
  if (held.empty())
    return Unavailable("worker " + fence_->worker_id() + " lost the lease of job " + job + " (lapsed or taken over)");
  return Status::Ok();
}

Status PostgresStore::Commit(const IngestBatch& batch) {
  MH_RETURN_IF_ERROR(Validate(batch));
  std::lock_guard lock(write_mu_);
  MH_ASSIGN_OR_RETURN(pg::Connection * db, Writer());
  const bool asynchronous = batch.deferred && OnlyReadingsAndStates(batch);
  auto attempt = [&](WritePath path) {
    return db->Transaction([&]() -> Status {
      // Acknowledged = committed stays true for everything else: a later synchronous commit (the
      // next Pack at the latest) flushes the WAL this one wrote.
      if (asynchronous) MH_RETURN_IF_ERROR(db->Exec("SET LOCAL synchronous_commit = off", "commit batch: defer"));
      MH_RETURN_IF_ERROR(CheckFence(*db));
      return WriteBatch(*db, batch, path);
    });
  };
  // A correction replaces a stored reading: merged at once. Any other batch's readings and new
  // meters are normally all new, and go straight in; when some were there already (a replayed
  // batch, a reading superseding its estimate, a meter registered meanwhile) a unique key refuses
  // the COPY, and the batch is written again, merged. Writing a batch twice is safe: the first
  // attempt rolled back whole.
  const bool direct = batch.versions.empty() && batch.remove_accepted.empty();
  Status status = attempt(direct ? WritePath::kDirect : WritePath::kMerged);
  if (direct && status.code() == StatusCode::kAlreadyExists) status = attempt(WritePath::kMerged);
  if (!status.ok()) return status.WithContext("commit batch");
  unpacked_ += static_cast<int64_t>(batch.accepted.size());
  if (asynchronous) unflushed_ = true;
  return Status::Ok();
}

Status PostgresStore::WriteBatch(pg::Connection& db, const IngestBatch& batch, WritePath path) {
  if (!batch.new_meters.empty() && path == WritePath::kDirect) {
    copy_.Clear();
    for (const MeterInfo& m : batch.new_meters) {
      copy_.Text(m.meter_id).Text(m.kind).Text(m.customer_id).Int(m.tz_offset_s).Int(m.interval_s)
          .OptDouble(m.register_max).OptDouble(m.customer_t1).Int(m.created_at).Text(m.group).Text(m.timezone)
          .Text(m.protocol).Text(m.address).Text(m.gateway).Text(m.billing_channel).End();
    }
    MH_ASSIGN_OR_RETURN(int64_t copied, db.Copy(sql::kCopyMeters, copy_.data(), "copy new meters"));
    (void)copied;
  } else if (!batch.new_meters.empty()) {
    std::vector<Params> rows;
    for (const MeterInfo& m : batch.new_meters) rows.push_back(MeterParams(m));
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kRegisterMeter, rows));
  }
  if (!batch.accepted.empty()) {
    copy_.Clear();
    // In key order, the last write of each key only (one INSERT … ON CONFLICT may not touch a row
    // twice): a stable sort keeps equal keys in batch order, so each run's last is the one kept.
    // The table's B-tree is then filled leaf after leaf, not at random.
    std::vector<size_t> sorted(batch.accepted.size());
    std::iota(sorted.begin(), sorted.end(), size_t{0});
    auto key = [&](size_t i) {
      const StoredReading& r = batch.accepted[i];
      return std::tie(r.meter_id, r.channel, r.ts);
    };
    std::stable_sort(sorted.begin(), sorted.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
    std::vector<size_t> rows;
    rows.reserve(sorted.size());
    for (size_t k = 0; k < sorted.size(); ++k) {
      if (k + 1 < sorted.size() && key(sorted[k]) == key(sorted[k + 1])) continue;
      rows.push_back(sorted[k]);
    }
    for (size_t i : rows) {
      const StoredReading& r = batch.accepted[i];
      copy_.Text(r.meter_id).Text(r.channel).Int(r.ts).Double(r.value).Double(r.consumption).Text(r.source)
          .Text(r.quality).Int(r.version).Bool(r.estimated).End();
    }
    if (path == WritePath::kDirect) {
      MH_ASSIGN_OR_RETURN(int64_t copied, db.Copy(sql::kCopyReadingsDirect, copy_.data(), "copy readings"));
      (void)copied;
    } else {
      MH_ASSIGN_OR_RETURN(int64_t copied, db.Copy(sql::kCopyReadings, copy_.data(), "copy readings"));
      (void)copied;
      MH_RETURN_IF_ERROR(db.Run(sql::kMergeReadings, Params(), "merge readings").status());
    }
  }
  if (!batch.quarantined.empty()) {
    std::vector<Params> rows;
    rows.reserve(batch.quarantined.size());
    for (const QuarantinedReading& q : batch.quarantined) {
      Params p;
      p.Text(q.meter_id).Text(q.channel).Int(q.ts).Text(VerdictName(q.verdict)).Text(QuarantineValueKey(q));
      q.value ? p.Double(*q.value) : p.Null();
      p.Text(q.raw_value).Text(q.reason).Text(q.source).Int(q.received_at);
      rows.push_back(std::move(p));
    }
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kInsertQuarantine, rows));
  }
  auto keys = [](const std::vector<ReadingKey>& ks) {
    std::vector<Params> rows;
    rows.reserve(ks.size());
    for (const ReadingKey& k : ks) rows.push_back(KeyParams(k));
    return rows;
  };
  MH_RETURN_IF_ERROR(db.Pipeline(sql::kRemoveAccepted, keys(batch.remove_accepted)));
  MH_RETURN_IF_ERROR(db.Pipeline(sql::kDeleteRejudged, keys(batch.remove_quarantined)));
  if (!batch.events.empty()) {
    std::vector<Params> rows;
    for (const ReadingEvent& e : batch.events)
      rows.push_back(Params().Text(e.meter_id).Int(e.ts_from).Int(e.ts_to).Text(e.kind).Text(e.detail));
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kInsertEvent, rows));
  }
  if (!batch.versions.empty()) {
    std::vector<Params> rows;
    for (const ReadingVersion& v : batch.versions) {
      rows.push_back(Params().Text(v.meter_id).Text(v.channel).Int(v.ts).Int(v.version).Double(v.value)
                         .Double(v.consumption).Text(v.source).Text(v.quality).Int(v.replaced_at).Text(v.replaced_by)
                         .Text(v.reason));
    }
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kInsertVersion, rows));
  }
  if (!batch.estimates.empty()) {
    std::vector<Params> rows;
    for (const ReadingEstimate& e : batch.estimates) {
      rows.push_back(Params().Text(e.meter_id).Text(e.channel).Int(e.ts).Text(e.method).Text(e.inputs)
                         .Text(e.estimated_by).Int(e.created_at));
    }
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kInsertEstimate, rows));
  }
  if (!batch.states.empty()) {
    copy_.Clear();
    for (size_t i : LastPerKey(batch.states, [](const MeterStateRecord& s) { return s.meter_id; })) {
      copy_.Text(batch.states[i].meter_id).Bytes(batch.states[i].state).End();
    }
    MH_ASSIGN_OR_RETURN(int64_t copied, db.Copy(sql::kCopyStates, copy_.data(), "copy meter states"));
    (void)copied;
    MH_RETURN_IF_ERROR(db.Run(sql::kMergeStates, Params(), "merge meter states").status());
  }
  if (!batch.alerts.empty()) {
    std::vector<Params> rows;
    for (const NewAlert& n : batch.alerts) {
      const AlertRecord& a = n.alert;
      const Delivery& d = n.delivery;
      rows.push_back(Params().Text(a.meter_id).Text(a.terminal_id).Int(a.period_start).Int(a.ts).Double(a.reading)
                         .Double(a.period_consumption).Double(a.threshold).Double(a.excess).Int(a.created_at)
                         .Text(d.terminal_id).Text(d.channel).Text(d.address).Text(d.content)
                         .Text(DeliveryStatusName(d.status)).Int(d.attempts).Int(d.next_attempt_at).Text(d.last_error)
                         .Int(d.updated_at).Double(a.estimated_consumption));
    }
    MH_RETURN_IF_ERROR(db.Pipeline(sql::kInsertAlert, rows));
  }
  return Status::Ok();
}

Status PostgresStore::Pack() {
  // Readings are rows in their final place already: packing only makes deferred batches durable.
  std::lock_guard lock(write_mu_);
  if (unflushed_) {
    MH_ASSIGN_OR_RETURN(pg::Connection * db, Writer());
    MH_RETURN_IF_ERROR(db->Transaction([&] { return db->Run(sql::kFlush, Params(), "pack: flush").status(); }));
    unflushed_ = false;
  }
  unpacked_ = 0;
  return Status::Ok();
}

Result<std::vector<MeterStateRecord>> PostgresStore::LoadMeterStates(const std::vector<std::string>& meter_ids) {
  if (meter_ids.empty()) return std::vector<MeterStateRecord>{};
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kStatesOf, Params().TextArray(meter_ids), "load meter states"));
  std::unordered_map<std::string, std::string> found;
  for (int i = 0; i < r.size(); ++i) found.emplace(r.Text(i, 0), r.Bytes(i, 1));
  std::vector<MeterStateRecord> out;
  for (const std::string& id : meter_ids) {
    auto it = found.find(id);
    if (it != found.end()) out.push_back({id, it->second});
  }
  return out;
}

Result<std::vector<MeterSnapshot>> PostgresStore::LoadMeters(const std::vector<std::string>& meter_ids) {
  if (meter_ids.empty()) return std::vector<MeterSnapshot>{};
  // Three statements in one snapshot: registration, terminals and state agree.
  return WithReader<std::vector<MeterSnapshot>>([&](pg::Connection& c) -> Result<std::vector<MeterSnapshot>> {
    std::unordered_map<std::string, MeterSnapshot> found;
    const Params ids = Params().TextArray(meter_ids);
    Status status = c.Transaction([&]() -> Status {
      MH_RETURN_IF_ERROR(c.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", "load meters"));
      MH_ASSIGN_OR_RETURN(Rows meters, c.Run(sql::kGetMeters, ids, "load meters"));
      for (int i = 0; i < meters.size(); ++i) {
        MeterSnapshot s;
        s.info = MeterAt(meters, i);
        found.emplace(s.info.meter_id, std::move(s));
      }
      if (found.empty()) return Status::Ok();
      MH_ASSIGN_OR_RETURN(Rows terminals, c.Run(sql::kTerminalsOf, ids, "load meters: terminals"));
      for (int i = 0; i < terminals.size(); ++i) {
        Terminal t = TerminalAt(terminals, i);
        if (auto it = found.find(t.meter_id); it != found.end()) it->second.terminals.push_back(std::move(t));
      }
      MH_ASSIGN_OR_RETURN(Rows states, c.Run(sql::kStatesOf, ids, "load meters: states"));
      for (int i = 0; i < states.size(); ++i) {
        if (auto it = found.find(states.Text(i, 0)); it != found.end()) it->second.state = states.Bytes(i, 1);
      }
      return Status::Ok();
    });
    MH_RETURN_IF_ERROR(status);
    std::vector<MeterSnapshot> out;
    for (const std::string& id : meter_ids) {
      auto it = found.find(id);
      if (it != found.end()) out.push_back(std::move(it->second)), found.erase(it);
    }
    return out;
  });
}

}  // namespace mh::store::pgstore
