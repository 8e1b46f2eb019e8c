#include "ingest/pipeline.h"

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_set.h"
#include "alerts/message.h"
#include "codec/meter/channels.h"
#include "core/meter_id.h"
#include "core/time.h"

namespace mh::ingest {
namespace {

const char* UnitOf(const store::MeterInfo& info) { return info.kind == "water" ? "m³" : "kWh"; }

// A meter's readings accepted in this Submit (MeterEntry::fresh) are ordered by ts: the first at or
// after ts, and the first after it.
template <typename List>
auto FirstAtOrAfter(List& list, int64_t ts) {
  return std::lower_bound(list.begin(), list.end(), ts, [](const auto& f, int64_t t) { return f.ts < t; });
}
template <typename List>
auto FirstAfter(List& list, int64_t ts) {
  return std::upper_bound(list.begin(), list.end(), ts, [](int64_t t, const auto& f) { return t < f.ts; });
}

}  // namespace

void SubmitSummary::Add(const SubmitSummary& o) {
  received += o.received;
  accepted += o.accepted;
  conflicts += o.conflicts;
  duplicates += o.duplicates;
  late += o.late;
  for (int i = 0; i < 4; ++i) quarantined[i] += o.quarantined[i];
  rejected += o.rejected;
  alerts += o.alerts;
  estimated += o.estimated;
  unestimated_gaps += o.unestimated_gaps;
  issues.insert(issues.end(), o.issues.begin(), o.issues.end());
}

struct Pipeline::Pending {
  explicit Pending(uint64_t number) : number(number) {}

  const uint64_t number;                                       // of this Submit (MeterEntry::submit)
  store::IngestBatch batch;
  SubmitSummary* summary = nullptr;                            // of the request being judged
  // Entries this Submit used, in first-use order: their states are written with the batch, and
  // a batch that fails forgets them (the next use reloads what the store committed) instead of
  // copying every entry before it is changed.
  std::vector<MeterEntry*> used;
  absl::flat_hash_set<std::string> unknown;                    // meters found missing in this Submit
  std::vector<std::string> registered;                         // auto-registered here (in batch.new_meters)
  absl::flat_hash_set<std::string> absent;                     // looked up by Prefetch: not registered
  // Prefetch's finding per reading of the Submit (all requests in order): the cached entry, or
  // null. At 10^5 meters a batch's entries are long out of the CPU caches by the time a reading
  // is judged; a second hash lookup per reading would pay those misses again.
  std::vector<MeterEntry*> cached;
  MeterEntry* cached_entry = nullptr;                          // of the reading being judged
  // This Submit's accepted readings of other channels than the billing one: (meter, channel) →
  // ts → index in batch.accepted.
  std::map<std::pair<std::string, std::string>, std::map<int64_t, size_t>> channel_fresh;

  // This Submit's accepted readings per meter are the entry's `fresh`, ordered by ts: a late
  // reading's neighbour lookup stays logarithmic however the rows are ordered.
  void Accept(MeterEntry& entry, store::StoredReading reading) {
    const MeterEntry::Fresh fresh{reading.ts, reading.value, batch.accepted.size()};
    auto& list = entry.fresh;
    if (list.empty() || list.back().ts < fresh.ts) {
      list.push_back(fresh);
    } else {
      auto it = FirstAtOrAfter(list, fresh.ts);
      if (it != list.end() && it->ts == fresh.ts) *it = fresh;
      else list.insert(it, fresh);
    }
    batch.accepted.push_back(std::move(reading));
  }
  static void Forget(MeterEntry& entry, int64_t ts) {
    auto& list = entry.fresh;
    auto it = FirstAtOrAfter(list, ts);
    if (it != list.end() && it->ts == ts) list.erase(it);
  }
};

Pipeline::Pipeline(store::Store* store, const Clock* clock, PipelineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), store_estimation_source_(store) {
  default_settings_.vee = options_.vee;
  default_settings_.quiet_hours = options_.quiet_hours;
  if (options_.deferred_commits)
    overlapped_ = std::make_unique<OverlappedCommitter>([this](const store::IngestBatch& b) { return store_->Commit(b); });
}

Pipeline::~Pipeline() = default;

store::Store* Pipeline::Settled() {
  // A failed overlapped commit is answered by the next Hand or Pack; reading meanwhile is harmless.
  if (overlapped_) (void)overlapped_->Settle();
  return store_;
}

// The cached entries as they were before a Submit that failed; meters it registered are forgotten
// (their registration was part of the batch that did not commit).
void Pipeline::RollBack(Pending& pending) {
  std::vector<std::string> ids;
  ids.reserve(pending.used.size());
  for (const MeterEntry* entry : pending.used) {
    // Its state as of the last commit was only in memory: the store cannot give it back.
    if (entry->state_held) held_states_lost_ = true;
    ids.push_back(entry->info.meter_id);
  }
  for (const std::string& id : ids) meters_.erase(id);
  for (const std::string& id : pending.registered) meters_.erase(id);
}

void Pipeline::Forget(absl::flat_hash_map<std::string, std::unique_ptr<MeterEntry>>::iterator it) {
  if (it->second->state_held) {
    // The store hands the entry's next load its state: give it the one held back.
    store::IngestBatch batch;
    batch.deferred = true;
    batch.states.push_back({it->first, it->second->state.Encode()});
    if (Status s = Settled()->Commit(batch); !s.ok()) {
      spdlog::error("storing the validation state of meter {}: {}", it->first, s.ToString());
      held_states_lost_ = true;
    }
  }
  meters_.erase(it);
}

Status Pipeline::Pack() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (overlapped_) {
      if (Status s = overlapped_->Settle(); !s.ok()) {
        held_states_lost_ = true;
        return s.WithContext("a bulk-load commit failed");
      }
    }
    if (held_states_lost_)
      return FailedPrecondition("a bulk-load commit failed: the meters' states held for packing are lost");
    // In parts, so that a fleet's states are never all encoded at once.
    constexpr size_t kStatesPerCommit = 50000;
    size_t next = 0;
    while (next < held_states_.size()) {
      store::IngestBatch batch;
      batch.deferred = true;
      const size_t end = std::min(held_states_.size(), next + kStatesPerCommit);
      for (; next < end; ++next) {
        auto it = meters_.find(held_states_[next]);
        if (it == meters_.end() || !it->second->state_held) continue;  // forgotten: stored by Forget
        batch.states.push_back({it->first, it->second->state.Encode()});
      }
      MH_RETURN_IF_ERROR(Settled()->Commit(batch).WithContext("storing the meters' validation states"));
      for (const store::MeterStateRecord& s : batch.states) {
        auto it = meters_.find(s.meter_id);
        if (it != meters_.end()) it->second->state_held = false;
      }
    }
    held_states_.clear();
  }
  return Settled()->Pack();
}

Pipeline::MeterEntry* Pipeline::Use(MeterEntry* entry, Pending& pending) {
  if (entry->submit != pending.number) {
    entry->submit = pending.number;
    entry->fresh.clear();
    entry->fresh_estimates.clear();
    entry->touched = false;
    pending.used.push_back(entry);
  }
  return entry;
}

Status Pipeline::RecordRejected(store::IngestBatch events_only) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.rejected += static_cast<int64_t>(events_only.events.size());
  return Settled()->Commit(events_only);
}

void Pipeline::Invalidate(const std::string& meter_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = meters_.find(meter_id); it != meters_.end()) Forget(it);
}

void Pipeline::InvalidateShard(int shard) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = meters_.begin(); it != meters_.end();) {
    if (ShardOf(it->first) == shard) Forget(it++);
    else ++it;
  }
}

Result<Pipeline::MeterEntry> Pipeline::MakeEntry(store::MeterSnapshot snapshot) {
  MeterEntry entry;
  entry.params.interval_s = snapshot.info.interval_s;
  entry.params.tz = store::ZoneOf(snapshot.info);
  entry.params.register_max = snapshot.info.register_max;
  entry.params.customer_t1 = snapshot.info.customer_t1;
  auto group = options_.groups.find(snapshot.info.group);
  entry.settings = group != options_.groups.end() ? &group->second : &default_settings_;
  if (const auto& peak = entry.settings->vee.peak; peak && !peak->yearly().empty() && !(peak->zone() == entry.params.tz))
    entry.zoned_peak = peak->InZone(entry.params.tz);
  entry.max_alerts = entry.settings->vee.max_alerts_per_period;
  if (auto c = options_.customer_max_alerts.find(snapshot.info.customer_id);
      !snapshot.info.customer_id.empty() && c != options_.customer_max_alerts.end())
    entry.max_alerts = c->second;
  entry.info = std::move(snapshot.info);
  entry.terminals = std::move(snapshot.terminals);
  if (snapshot.state) {
    auto state = vee::MeterState::Decode(*snapshot.state);
    if (!state.ok()) return state.status().WithContext("meter state of " + entry.info.meter_id);
    entry.state = std::move(state).value();
  }
  return entry;
}

// The entries of a Submit's meters that are not cached yet, loaded in one store read (and the
// unregistered ones noted), instead of a lookup per meter as each first appears: a fleet's first
// batch names thousands of them. Loaded entries are the store's state, so a failed Submit may
// keep them.
Status Pipeline::Prefetch(const std::vector<SubmitRequest>& requests, Pending& pending) {
  std::vector<std::string> ids;
  std::unordered_set<std::string_view> seen;
  // A fleet's entries are long out of the CPU caches: each lookup fetches the slot a few readings
  // ahead, and each entry found is fetched before JudgeOne reads it.
  constexpr size_t kAhead = 8;
  for (const SubmitRequest& request : requests) {
    const std::vector<Reading>& readings = *request.readings;
    for (size_t i = 0; i < readings.size(); ++i) {
      if (i + kAhead < readings.size()) meters_.prefetch(readings[i + kAhead].meter_id);
      const Reading& r = readings[i];
      MeterEntry* cached = nullptr;
      if (!r.meter_id.empty()) {
        auto it = meters_.find(r.meter_id);
        if (it != meters_.end()) {
          cached = it->second.get();
          __builtin_prefetch(cached);
        } else if (seen.insert(r.meter_id).second) {
          ids.push_back(r.meter_id);
        }
      }
      pending.cached.push_back(cached);
    }
  }
  if (ids.size() < 2) return Status::Ok();
  MH_ASSIGN_OR_RETURN(std::vector<store::MeterSnapshot> found, Settled()->LoadMeters(ids));
  for (store::MeterSnapshot& snapshot : found) {
    std::string id = snapshot.info.meter_id;
    MH_ASSIGN_OR_RETURN(MeterEntry entry, MakeEntry(std::move(snapshot)));
    meters_.emplace(std::move(id), std::make_unique<MeterEntry>(std::move(entry)));
  }
  for (const std::string& id : ids)
    if (!meters_.count(id)) pending.absent.insert(id);
  return Status::Ok();
}

Result<Pipeline::MeterEntry*> Pipeline::Entry(const std::string& meter_id, Pending& pending) {
  if (pending.cached_entry != nullptr && pending.cached_entry->info.meter_id == meter_id)
    return Use(pending.cached_entry, pending);
  auto it = meters_.find(meter_id);
  if (it != meters_.end()) return Use(it->second.get(), pending);
  if (pending.unknown.count(meter_id)) return static_cast<MeterEntry*>(nullptr);
  store::MeterSnapshot snapshot;
  if (!pending.absent.count(meter_id)) {
    MH_ASSIGN_OR_RETURN(std::vector<store::MeterSnapshot> found, Settled()->LoadMeters({meter_id}));
    if (!found.empty()) snapshot = std::move(found.front());
  }
  if (snapshot.info.meter_id.empty()) {
    if (!options_.auto_register) {
      pending.unknown.insert(meter_id);
      return static_cast<MeterEntry*>(nullptr);
    }
    store::MeterInfo fresh;
    fresh.meter_id = meter_id;
    fresh.kind = options_.auto_register_kind;
    fresh.interval_s = options_.default_meter.interval_s;
    store::SetZone(fresh, options_.default_meter.tz);
    fresh.created_at = clock_->NowSeconds();
    // Registered in the batch's own transaction: one commit for a fleet's first readings instead
    // of a durable write per new meter.
    pending.batch.new_meters.push_back(fresh);
    pending.registered.push_back(meter_id);
    snapshot.info = std::move(fresh);
  }
  MH_ASSIGN_OR_RETURN(MeterEntry entry, MakeEntry(std::move(snapshot)));
  auto [pos, inserted] = meters_.emplace(meter_id, std::make_unique<MeterEntry>(std::move(entry)));
  return Use(pos->second.get(), pending);
}

Status Pipeline::LearnThresholds(MeterEntry& entry, const std::vector<vee::PeakPeriod>& spans,
                                 const Pending& pending) {
  const vee::Options& options = entry.settings->vee;
  const std::string& id = entry.info.meter_id;
  entry.state.learned_peak = vee::PeakFingerprint(spans);
  if (spans.empty()) {
    // The meter's peak definition changed to none (another group): what it learned no longer holds.
    entry.state.t1.reset();
    entry.state.t2.reset();
    return Status::Ok();
  }
  // Every span with the last accepted reading at or before its start (the base of its first
  // sub-period for T1), this Submit's uncommitted readings included.
  std::vector<vee::Point> points;
  for (const vee::PeakPeriod& span : spans) {
    MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before, Settled()->LastReadingAtOrBefore(id, span.from));
    MH_ASSIGN_OR_RETURN(before, ActualAtOrBefore(*store_, id, std::move(before)));  // estimates teach nothing
    if (before) points.push_back({before->ts, before->value});
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored,
                        Settled()->QueryReadings(id, {span.from + 1, span.to}, INT64_MAX));
    for (const auto& s : stored)
      if (!s.estimated) points.push_back({s.ts, s.value});
  }
  // Readings accepted earlier in this same Submit are not committed yet: add them.
  if (entry.submit == pending.number) {
    for (const MeterEntry::Fresh& accepted : entry.fresh) points.push_back({accepted.ts, accepted.value});
  }
  std::sort(points.begin(), points.end(), [](const vee::Point& a, const vee::Point& b) { return a.ts < b.ts; });
  points.erase(std::unique(points.begin(), points.end(),
                           [](const vee::Point& a, const vee::Point& b) { return a.ts == b.ts; }),
               points.end());
  // Keep the spans' readings and each span's base only (this Submit's other readings taught nothing).
  std::vector<vee::Point> kept, in_peak;
  for (size_t i = 0; i < points.size(); ++i) {
    const vee::Point& p = points[i];
    const bool inside = std::any_of(spans.begin(), spans.end(), [&](const vee::PeakPeriod& s) { return s.Contains(p.ts); });
    const bool base = !inside && i + 1 < points.size() &&
                      std::any_of(spans.begin(), spans.end(), [&](const vee::PeakPeriod& s) {
                        return p.ts <= s.from && s.Contains(points[i + 1].ts);
                      });
    if (inside) in_peak.push_back(p);
    if (inside || base) kept.push_back(p);
  }
  const vee::Peak learned(spans, {}, entry.params.tz);
  entry.state.t2 = vee::LearnT2(in_peak, entry.params.interval_s, options, &learned);
  entry.state.t1 = vee::LearnT1(kept, learned, options.period, entry.params.tz, options);
  spdlog::debug("thresholds of {}: T2={} T1={} from {} peak readings in {} spans", id,
                entry.state.t2 ? fmt::format("{:.6g}", *entry.state.t2) : "unset",
                entry.state.t1 ? fmt::format("{:.6g}", *entry.state.t1) : "unset", in_peak.size(), spans.size());
  return Status::Ok();
}

Result<std::optional<vee::Point>> Pipeline::PeriodAgo(const MeterEntry& entry, const Reading& r, Pending& pending) {
  const int64_t ago = vee::SameTimeLastPeriod(r.ts, entry.settings->vee.period, entry.params.tz);
  std::optional<vee::Point> found;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored, Settled()->LastReadingAtOrBefore(r.meter_id, ago));
  MH_ASSIGN_OR_RETURN(stored, ActualAtOrBefore(*store_, r.meter_id, std::move(stored)));
  if (stored) found = vee::Point{stored->ts, stored->value};
  if (entry.submit == pending.number) {
    // This Submit's accepted readings are not committed yet.
    const auto& fresh = entry.fresh;
    auto it = FirstAfter(fresh, ago);
    if (it != fresh.begin()) {
      --it;
      if (!found || it->ts > found->ts) found = vee::Point{it->ts, it->value};
    }
  }
  if (found && !vee::StandsFor(found->ts, ago, entry.params.interval_s)) found.reset();
  return found;
}

void Pipeline::Quarantine(MeterEntry& entry, store::QuarantinedReading q, Pending& pending) {
  if (entry.quarantine_horizon) entry.quarantine_horizon = std::max(*entry.quarantine_horizon, q.ts);
  pending.batch.quarantined.push_back(std::move(q));
}

Result<bool> Pipeline::IsQuarantineDuplicate(MeterEntry& entry, const Reading& r) {
  if (entry.quarantine_horizon && r.ts > *entry.quarantine_horizon) return false;
  // Rows at r.ts come first (the index orders a meter's rows by time); one row later than r.ts is
  // enough to know the horizon is not below r.ts.
  constexpr int64_t kRowsAtOneTime = 16;
  MH_ASSIGN_OR_RETURN(std::vector<store::QuarantinedReading> q,
                      Settled()->QueryQuarantine(r.meter_id, {r.ts, INT64_MAX}, kRowsAtOneTime + 1));
  if (q.empty()) entry.quarantine_horizon = std::min(entry.quarantine_horizon.value_or(INT64_MAX), r.ts - 1);
  for (const auto& row : q) {
    if (row.ts == r.ts && row.channel.empty() && row.value.has_value() == r.value.has_value() &&
        (!row.value || *row.value == *r.value) && row.raw_value == r.raw_value)
      return true;
  }
  return false;
}

Result<std::optional<store::StoredReading>> Pipeline::AcceptedAt(const MeterEntry& entry, int64_t ts,
                                                                 Pending& pending) {
  const auto& fresh = entry.fresh;
  auto it = FirstAtOrAfter(fresh, ts);
  if (it != fresh.end() && it->ts == ts) return std::optional<store::StoredReading>(pending.batch.accepted[it->index]);
  const auto& estimates = entry.fresh_estimates;
  auto e = FirstAtOrAfter(estimates, ts);
  if (e != estimates.end() && e->ts == ts) return std::optional<store::StoredReading>(pending.batch.accepted[e->index]);
  return Settled()->GetReading(entry.info.meter_id, ts);
}

// The first accepted value of a reading stays: a different one (a meter's own retry with another
// value, a relay, or a device trying to rewrite its billed history) is kept as an event naming
// both values, never written over the stored one. Corrections go through Correct().
Status Pipeline::RecordConflict(const Reading& r, const store::StoredReading& stored, const std::string& source,
                                Pending& pending) {
  store::ReadingEvent ev;
  ev.meter_id = r.meter_id;
  ev.ts_from = ev.ts_to = r.ts;
  ev.kind = "value_conflict";
  ev.detail = nlohmann::json{{"stored", stored.value},
                             {"received", r.value ? nlohmann::json(*r.value) : nlohmann::json(r.raw_value)},
                             {"source", source},
                             {"stored_source", stored.source}}
                  .dump();
  pending.batch.events.push_back(std::move(ev));
  ++pending.summary->conflicts;
  return Status::Ok();
}

Status Pipeline::RejectFuture(const Reading& r, size_t index, const std::string& source, int64_t limit,
                              Pending& pending) {
  const std::string why = "timestamp " + FormatIsoUtc(r.ts) + " is in the future (later than " +
                          FormatIsoUtc(limit) + ", ingest.max_future past the server's clock)";
  ++pending.summary->rejected;
  pending.summary->issues.push_back({static_cast<int64_t>(index), "timestamp", why, ""});
  store::ReadingEvent ev;
  ev.meter_id = r.meter_id;
  ev.ts_from = ev.ts_to = r.ts;
  ev.kind = "future_timestamp";
  ev.detail = nlohmann::json{{"reason", why},
                             {"source", source},
                             {"value", r.value ? nlohmann::json(*r.value) : nlohmann::json(r.raw_value)}}
                  .dump();
  pending.batch.events.push_back(std::move(ev));
  return Status::Ok();
}

// The estimated part of an alert's period consumption (docs/estimation.md): the consumption of
// the estimated readings in the period up to r, the store's with this Submit's laid over them (an
// actual reading of this Submit at an estimated instant supersedes the estimate).
Result<double> Pipeline::EstimatedInPeriod(const MeterEntry& entry, int64_t period_start, int64_t to,
                                           const Pending& pending) {
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored,
                      Settled()->QueryReadings(entry.info.meter_id, {period_start + 1, to}, INT64_MAX));
  std::map<int64_t, double> estimated;  // ts → consumption of the estimate there
  for (const store::StoredReading& s : stored)
    if (s.estimated) estimated[s.ts] = s.consumption;
  for (const auto* list : {&entry.fresh_estimates, &entry.fresh}) {
    for (auto it = FirstAfter(*list, period_start); it != list->end() && it->ts <= to; ++it) {
      const store::StoredReading& s = pending.batch.accepted[it->index];
      if (s.estimated) estimated[s.ts] = s.consumption;
      else estimated.erase(s.ts);
    }
  }
  double sum = 0;
  for (const auto& [ts, consumption] : estimated) sum += consumption;
  return sum;
}

Status Pipeline::AddAlerts(MeterEntry& entry, const Reading& r, const vee::PeriodCheck& check, Pending& pending) {
  if (entry.alert_period_start != check.period.start) {
    entry.alert_period_start = check.period.start;
    entry.alert_counts.clear();
    for (const auto& t : entry.terminals) {
      MH_ASSIGN_OR_RETURN(int64_t n, Settled()->CountAlerts(entry.info.meter_id, t.terminal_id, check.period.start));
      entry.alert_counts[t.terminal_id] = n;
    }
  }
  std::optional<double> estimated;  // asked once, for the first terminal that gets the alert
  for (const auto& t : entry.terminals) {
    int64_t& sent = entry.alert_counts[t.terminal_id];
    if (sent >= entry.max_alerts) continue;  // claim 7: no message bombing
    if (!estimated) {
      MH_ASSIGN_OR_RETURN(estimated, EstimatedInPeriod(entry, check.period.start, r.ts, pending));
    }
    ++sent;
    store::NewAlert na;
    na.alert.meter_id = entry.info.meter_id;
    na.alert.terminal_id = t.terminal_id;
    na.alert.period_start = check.period.start;
    na.alert.ts = r.ts;
    na.alert.reading = *r.value;
    na.alert.period_consumption = check.consumption;
    na.alert.threshold = *check.t1;
    na.alert.excess = check.consumption - *check.t1;
    na.alert.created_at = clock_->NowSeconds();
    na.alert.estimated_consumption = *estimated;
    na.delivery.terminal_id = t.terminal_id;
    na.delivery.channel = t.channel;
    na.delivery.address = t.address;
    na.delivery.content = alerts::FormatAlert(na.alert, UnitOf(entry.info)).json;
    na.delivery.status = store::DeliveryStatus::kPending;
    na.delivery.next_attempt_at = clock_->NowMillis();
    if (const auto& quiet = entry.settings->quiet_hours) {
      // Quiet hours in the meter's zone: the alert is recorded now and delivered after them.
      const int64_t now_s = clock_->NowSeconds();
      const int64_t allowed = quiet->NextAllowed(now_s, entry.params.tz);
      if (allowed > now_s) na.delivery.next_attempt_at = allowed * 1000;
    }
    na.delivery.updated_at = clock_->NowMillis();
    pending.batch.alerts.push_back(std::move(na));
    ++pending.summary->alerts;
  }
  return Status::Ok();
}

Result<SubmitSummary> Pipeline::Submit(const std::vector<Reading>& readings, const std::string& source,
                                       const std::vector<std::string>* quality) {
  MH_ASSIGN_OR_RETURN(std::vector<SubmitSummary> summaries, SubmitAll({{&readings, source, quality}}));
  return std::move(summaries.front());
}

// A late reading: older than the meter's newest accepted one — a plain retry or a relay
// delivering what failed to upload earlier (seed 000). It cannot move p, so it is judged against
// its accepted neighbours instead: a register value between the one before and the one after is
// accepted (its consumption from the one before, and the one after's consumption recomputed from
// it); anything else is kept in the quarantine as an error naming the neighbours.
Status Pipeline::JudgeLate(MeterEntry& entry, const Reading& r, size_t i, const SubmitRequest& request,
                           Pending& pending, int64_t now, const store::StoredReading* estimate) {
  const std::string& source = request.source;
  SubmitSummary& summary = *pending.summary;
  if (!r.value) {
    Quarantine(entry,
               {r.meter_id, r.ts, r.value, r.raw_value, Verdict::kNull, "null: no usable value (late reading)",
                source, now},
               pending);
    ++summary.quarantined[static_cast<int>(Verdict::kNull)];
    return Status::Ok();
  }
  // Judged against its accepted actual neighbours (estimates never judge a reading), among the
  // stored readings and this Submit's not yet committed ones; its consumption counts from the row
  // right before it, an estimate or not.
  std::optional<vee::Point> before, after, base;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored_before,
                      Settled()->LastReadingAtOrBefore(r.meter_id, r.ts - 1));
  if (stored_before) base = vee::Point{stored_before->ts, stored_before->value};
  MH_ASSIGN_OR_RETURN(stored_before, ActualAtOrBefore(*store_, r.meter_id, std::move(stored_before)));
  if (stored_before) before = vee::Point{stored_before->ts, stored_before->value};
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored_after,
                      Settled()->QueryReadings(r.meter_id, store::TimeRange{r.ts + 1, INT64_MAX}, 1));
  std::optional<store::StoredReading> next_row;  // the row right after, whose consumption follows this one
  if (!stored_after.empty()) next_row = stored_after.front();
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> actual_after, ActualAfter(*store_, r.meter_id, next_row));
  if (actual_after) after = vee::Point{actual_after->ts, actual_after->value};
  const auto& fresh = entry.fresh;
  std::optional<size_t> after_in_batch;
  if (auto it = FirstAtOrAfter(fresh, r.ts); it != fresh.begin()) {
    auto prev = std::prev(it);
    if (!before || prev->ts > before->ts) before = vee::Point{prev->ts, prev->value};
    if (!base || prev->ts > base->ts) base = vee::Point{prev->ts, prev->value};
  }
  if (auto it = FirstAfter(fresh, r.ts); it != fresh.end()) {
    if (!after || it->ts <= after->ts) after = vee::Point{it->ts, it->value};
    if (!next_row || it->ts <= next_row->ts) after_in_batch = it->index;
  }
  const double v = *r.value;
  if ((before && v < before->value) || (after && v > after->value)) {
    std::string reason = "late reading not between its accepted neighbours:";
    if (before) reason += " " + vee::DescribePoint(*before);
    if (after) reason += (before ? ", " : " ") + vee::DescribePoint(*after);
    Quarantine(entry, {r.meter_id, r.ts, r.value, r.raw_value, Verdict::kError, reason, source, now}, pending);
    ++summary.quarantined[static_cast<int>(Verdict::kError)];
    return Status::Ok();
  }
  const std::vector<std::string>* quality = request.quality;
  store::StoredReading late;
  late.meter_id = r.meter_id;
  late.ts = r.ts;
  late.value = v;
  late.consumption = base ? v - base->value : 0.0;
  late.source = source;
  late.quality = quality && i < quality->size() ? (*quality)[i] : std::string();
  if (estimate) {
    // An actual reading at an estimated instant: a new version of the reading; the estimate is kept
    // as the version before (one made in this same Submit was never stored: it is replaced).
    auto& estimates = entry.fresh_estimates;
    if (auto e = FirstAtOrAfter(estimates, r.ts); e != estimates.end() && e->ts == r.ts) {
      const size_t index = e->index;
      estimates.erase(e);
      std::erase_if(pending.batch.estimates,
                    [&](const store::ReadingEstimate& how) { return how.meter_id == r.meter_id && how.ts == r.ts; });
      pending.batch.accepted[index] = late;
      auto at = FirstAtOrAfter(entry.fresh, r.ts);
      entry.fresh.insert(at, MeterEntry::Fresh{r.ts, v, index});
    } else {
      late.version = estimate->version + 1;
      pending.batch.versions.push_back(SupersededEstimate(*estimate, source, now));
      pending.Accept(entry, std::move(late));
    }
  } else {
    pending.Accept(entry, std::move(late));
  }
  if (after_in_batch) {
    // The reading after now follows this one: its consumption shrinks by what this one took.
    store::StoredReading& s = pending.batch.accepted[*after_in_batch];
    s.consumption = s.value - v;
  } else if (next_row) {
    store::StoredReading rewritten = *next_row;
    rewritten.consumption = rewritten.value - v;
    if (rewritten.estimated) {
      pending.batch.accepted.push_back(std::move(rewritten));  // an estimate stays out of `fresh`
    } else {
      pending.Accept(entry, std::move(rewritten));
    }
  }
  ++summary.accepted;
  ++summary.late;
  return Status::Ok();
}

// The gap before an accepted reading (docs/estimation.md): CloseGap makes the estimates; they go
// into the batch ahead of the closing reading, whose consumption then counts from the last of them.
Status Pipeline::EstimateGap(MeterEntry& entry, const vee::Point& from, int64_t interval_s,
                             store::StoredReading& closing, Pending& pending, int64_t now) {
  vee::MeterParams params = entry.params;
  params.interval_s = interval_s;
  Gap gap;
  gap.meter_id = entry.info.meter_id;
  gap.params = &params;
  gap.from = from;
  gap.to = vee::Point{closing.ts, closing.value};
  gap.source = closing.source;
  gap.now = now;
  for (const store::QuarantinedReading& q : pending.batch.quarantined)
    if (q.meter_id == gap.meter_id && q.channel.empty() && q.ts > from.ts && q.ts < closing.ts) gap.quarantined.push_back(q.ts);
  gap.store_may_hold_quarantine = !entry.quarantine_horizon || *entry.quarantine_horizon > from.ts;
  const auto& estimates = entry.fresh_estimates;
  if (auto it = FirstAfter(estimates, from.ts); it != estimates.end() && it->ts < closing.ts) {
    auto last = FirstAtOrAfter(estimates, closing.ts);
    --last;
    gap.batch_estimate = vee::Point{last->ts, last->value};
  }
  gap.batch_history = [&entry](int64_t a, int64_t b) {
    std::vector<vee::Point> out;
    for (auto it = FirstAtOrAfter(entry.fresh, a); it != entry.fresh.end() && it->ts <= b; ++it)
      out.push_back({it->ts, it->value});
    return out;
  };
  Settled();  // the gap's history may be in the batch in flight
  Result<ClosedGap> made = CloseGap(options_.estimation, *estimation_source_, gap);
  if (!made.ok()) return made.status().WithContext("estimating the gap of " + gap.meter_id + " before " + FormatIsoUtc(closing.ts));
  ClosedGap closed = std::move(made).value();
  if (closed.too_long) ++pending.summary->unestimated_gaps;
  if (closed.last) closing.consumption -= closed.last->value - from.value;
  for (store::StoredReading& e : closed.estimates) {
    entry.fresh_estimates.push_back({e.ts, e.value, pending.batch.accepted.size()});
    pending.batch.accepted.push_back(std::move(e));
  }
  std::sort(entry.fresh_estimates.begin(), entry.fresh_estimates.end(),
            [](const MeterEntry::Fresh& a, const MeterEntry::Fresh& b) { return a.ts < b.ts; });
  pending.summary->estimated += static_cast<int64_t>(closed.how.size());
  pending.batch.estimates.insert(pending.batch.estimates.end(), closed.how.begin(), closed.how.end());
  return Status::Ok();
}

Result<int64_t> Pipeline::GapIntervalAfter(MeterEntry& entry, const vee::Point& p, const Pending& pending) {
  const int64_t registered = entry.params.interval_s;
  if (!options_.estimation.enabled) return registered;
  constexpr int64_t kRelearnAfter = 86400;
  constexpr int64_t kCadenceWindow = 8 * 86400;  // a daily meter's last week still shows its cadence
  // Not learnable yet (too few readings) is asked again at the next suspected gap.
  if (!entry.cadence_s || p.ts < entry.cadence_learned_at || p.ts - entry.cadence_learned_at >= kRelearnAfter) {
    const int64_t from = p.ts - kCadenceWindow;
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                        Settled()->QueryReadings(entry.info.meter_id, {from, p.ts}, INT64_MAX));
    std::vector<vee::Point> points;
    for (const store::StoredReading& s : rows)
      if (!s.estimated) points.push_back({s.ts, s.value});
    if (entry.submit == pending.number) {
      for (auto it = FirstAtOrAfter(entry.fresh, from); it != entry.fresh.end() && it->ts <= p.ts; ++it)
        points.push_back({it->ts, it->value});
      std::stable_sort(points.begin(), points.end(), [](const vee::Point& a, const vee::Point& b) { return a.ts < b.ts; });
      points.erase(std::unique(points.begin(), points.end(),
                               [](const vee::Point& a, const vee::Point& b) { return a.ts == b.ts; }),
                   points.end());
    }
    entry.cadence_s = ObservedCadence(points);
    entry.cadence_learned_at = p.ts;
  }
  return GapInterval(registered, entry.cadence_s);
}

// What another system estimated (a NEM12 interval flagged E) is stored as its estimate: never
// judged, never p, and never written over a stored reading (the same value again is a duplicate,
// another a conflict). Its consumption counts from the row right before it.
Status Pipeline::JudgeSourceEstimate(MeterEntry& entry, const Reading& r, const std::string& quality,
                                     const SubmitRequest& request, Pending& pending, int64_t now) {
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored, AcceptedAt(entry, r.ts, pending));
  if (stored) {
    if (*r.value == stored->value) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
    return RecordConflict(r, *stored, request.source, pending);
  }
  std::optional<vee::Point> base;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before, Settled()->LastReadingAtOrBefore(r.meter_id, r.ts - 1));
  if (before) base = vee::Point{before->ts, before->value};
  for (const auto* list : {&entry.fresh, &entry.fresh_estimates}) {
    if (auto it = FirstAtOrAfter(*list, r.ts); it != list->begin()) {
      --it;
      if (!base || it->ts > base->ts) base = vee::Point{it->ts, it->value};
    }
  }
  store::StoredReading s;
  s.meter_id = r.meter_id;
  s.ts = r.ts;
  s.value = *r.value;
  s.consumption = base ? s.value - base->value : 0.0;
  s.source = request.source;
  s.quality = quality;
  s.estimated = true;
  auto& estimates = entry.fresh_estimates;
  estimates.insert(FirstAtOrAfter(estimates, r.ts), MeterEntry::Fresh{r.ts, s.value, pending.batch.accepted.size()});
  pending.batch.estimates.push_back(SourceEstimate(s, quality, request.source, now));
  pending.batch.accepted.push_back(std::move(s));
  ++pending.summary->accepted;
  ++pending.summary->estimated;
  return Status::Ok();
}

// Other channels than the billing one (issue 16, docs/channels.md) are stored as they come: no
// validation, thresholds or alerts run on them. A cumulative channel's consumption is the
// difference to the channel's previous stored reading (0 for its first; other channels: 0). A
// reading without a value is quarantined as null; the same value again is a duplicate, another
// value at a stored time a conflict (the first stays), as on the billing channel.
Status Pipeline::JudgeChannel(const Reading& r, size_t i, const SubmitRequest& request, Pending& pending,
                              int64_t now) {
  auto& fresh = pending.channel_fresh[{r.meter_id, r.channel}];
  std::optional<store::StoredReading> stored;
  if (auto it = fresh.find(r.ts); it != fresh.end()) {
    stored = pending.batch.accepted[it->second];
  } else {
    MH_ASSIGN_OR_RETURN(stored, Settled()->GetReading(r.meter_id, r.ts, r.channel));
  }
  if (stored) {
    if (r.value && *r.value == stored->value) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
    return RecordConflict(r, *stored, request.source, pending);
  }
  if (!r.value) {
    store::QuarantinedReading q{r.meter_id, r.ts, r.value, r.raw_value, Verdict::kNull,
                                "no value on channel " + r.channel, request.source, now, r.channel};
    pending.batch.quarantined.push_back(std::move(q));
    ++pending.summary->quarantined[static_cast<int>(Verdict::kNull)];
    return Status::Ok();
  }
  store::StoredReading s;
  s.meter_id = r.meter_id;
  s.channel = r.channel;
  s.ts = r.ts;
  s.value = *r.value;
  s.source = request.source;
  if (request.quality && i < request.quality->size()) s.quality = (*request.quality)[i];
  if (codec::IsCumulativeChannel(r.channel)) {
    std::optional<std::pair<int64_t, double>> previous;
    if (auto it = fresh.lower_bound(r.ts); it != fresh.begin()) {
      --it;
      previous = {it->first, pending.batch.accepted[it->second].value};
    }
    MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before,
                        Settled()->LastReadingAtOrBefore(r.meter_id, r.ts - 1, r.channel));
    if (before && (!previous || before->ts > previous->first)) previous = {before->ts, before->value};
    if (previous) s.consumption = s.value - previous->second;
  }
  fresh[r.ts] = pending.batch.accepted.size();
  pending.batch.accepted.push_back(std::move(s));
  ++pending.summary->accepted;
  return Status::Ok();
}

Status Pipeline::JudgeOne(const Reading& r, size_t i, const SubmitRequest& request, Pending& pending,
                          int64_t now) {
  const std::string& source = request.source;
  const std::vector<std::string>* quality = request.quality;
  if (!IsValidMeterId(r.meter_id)) {
    ++pending.summary->rejected;
    pending.summary->issues.push_back({static_cast<int64_t>(i), "meter", "invalid meter id '" + r.meter_id.substr(0, 40) + "'", ""});
    return Status::Ok();
  }
  MH_ASSIGN_OR_RETURN(MeterEntry * entry, Entry(r.meter_id, pending));
  if (entry == nullptr) {
    ++pending.summary->rejected;
    pending.summary->issues.push_back({static_cast<int64_t>(i), "meter", "unknown meter '" + r.meter_id + "'", ""});
    store::ReadingEvent ev;
    ev.meter_id = r.meter_id;
    ev.ts_from = ev.ts_to = r.ts;
    ev.kind = "rejected_unknown_meter";
    ev.detail = nlohmann::json{{"reason", "unknown meter"}, {"source", source},
                               {"value", r.value ? nlohmann::json(*r.value) : nlohmann::json(r.raw_value)}}
                    .dump();
    pending.batch.events.push_back(std::move(ev));
    return Status::Ok();
  }
  // A reading from the future (a meter with a bad clock) would become p and make every genuine
  // reading after it look late: refused, and kept as an event.
  const int64_t latest = now + options_.max_future_s + entry->params.interval_s;
  if (r.ts > latest) return RejectFuture(r, i, source, latest, pending);

  if (!r.channel.empty() && r.channel != store::BillingChannelOf(entry->info))
    return JudgeChannel(r, i, request, pending, now);

  entry->touched = true;
  vee::MeterState& st = entry->state;
  if (quality && i < quality->size() && r.value && IsEstimateQuality((*quality)[i]))
    return JudgeSourceEstimate(*entry, r, (*quality)[i], request, pending, now);

  // Redelivery (MQTT after a crash, a retried POST), a retry, a relay: a reading at or before p.
  // The same value at a stored reading's ts is a duplicate, a different one a conflict (the first
  // value stays); at a new ts it is a late reading, judged against its neighbours.
  if (st.last && r.ts <= st.last->ts) {
    if (r.ts == st.last->ts && r.value && *r.value == st.last->value) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
    MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored, AcceptedAt(*entry, r.ts, pending));
    if (stored && stored->estimated) {
      // An actual reading at an estimated instant supersedes the estimate, unless it is the
      // quarantined reading the estimate stands for, delivered again.
      MH_ASSIGN_OR_RETURN(bool dup, IsQuarantineDuplicate(*entry, r));
      if (dup) {
        ++pending.summary->duplicates;
        return Status::Ok();
      }
      return JudgeLate(*entry, r, i, request, pending, now, &*stored);
    }
    if (stored) {
      if (r.value && *r.value == stored->value) {
        ++pending.summary->duplicates;
        return Status::Ok();
      }
      return RecordConflict(r, *stored, source, pending);
    }
    MH_ASSIGN_OR_RETURN(bool dup, IsQuarantineDuplicate(*entry, r));
    if (dup) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
    return JudgeLate(*entry, r, i, request, pending, now);
  }

  const vee::Options& options = entry->settings->vee;
  {
    // T1/T2 come from the peak spans that ended before this reading; learned again when those
    // change (a range ended, or the meter's group and with it its peak changed).
    const std::optional<vee::Peak>& peak = entry->zoned_peak ? entry->zoned_peak : options.peak;
    std::vector<vee::PeakPeriod> spans;
    if (peak) spans = peak->EndedBefore(r.ts);
    if (vee::PeakFingerprint(spans) != st.learned_peak)
      MH_RETURN_IF_ERROR(LearnThresholds(*entry, spans, pending).WithContext("learning thresholds of " + r.meter_id));
  }

  std::optional<vee::Point> period_ago;
  if (options.same_period_coefficient > 0 && st.t1 && r.value) {
    MH_ASSIGN_OR_RETURN(period_ago, PeriodAgo(*entry, r, pending));
  }
  std::optional<vee::Point> previous_p = st.last;
  vee::Judgement j = vee::Judge(st, r, entry->params, options, /*use_t2=*/true, period_ago ? &*period_ago : nullptr);
  if (j.verdict != Verdict::kOk) {
    // An abnormal reading redelivered: it is in the quarantine already.
    MH_ASSIGN_OR_RETURN(bool dup, IsQuarantineDuplicate(*entry, r));
    if (dup) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
  }
  vee::ResetOutcome reset = vee::Advance(st, r, j, entry->params, options);

  if (j.verdict != Verdict::kOk) {
    Quarantine(*entry, {r.meter_id, r.ts, r.value, r.raw_value, j.verdict, j.reason, source, now}, pending);
    ++pending.summary->quarantined[static_cast<int>(j.verdict)];
  } else {
    store::StoredReading s;
    s.meter_id = r.meter_id;
    s.ts = r.ts;
    s.value = *r.value;
    s.consumption = j.consumption;
    s.source = source;
    // Later than p, the meter's newest accepted reading: nothing is stored at its ts.
    s.known_absent = previous_p && r.ts > previous_p->ts;
    if (quality && i < quality->size()) s.quality = (*quality)[i];
    if (previous_p && reset.kind == vee::ResetOutcome::kNone &&
        IsGap(previous_p->ts, r.ts, entry->params.interval_s)) {
      MH_ASSIGN_OR_RETURN(const int64_t interval, GapIntervalAfter(*entry, *previous_p, pending));
      if (IsGap(previous_p->ts, r.ts, interval))
        MH_RETURN_IF_ERROR(EstimateGap(*entry, *previous_p, interval, s, pending, now));
    }
    pending.Accept(*entry, std::move(s));
    ++pending.summary->accepted;
  }

  if (reset.kind != vee::ResetOutcome::kNone) {
    store::ReadingEvent ev;
    ev.meter_id = r.meter_id;
    ev.ts_from = reset.reaccepted.empty() ? r.ts : reset.reaccepted.front().first.ts;
    ev.ts_to = r.ts;
    switch (reset.kind) {
      case vee::ResetOutcome::kMeterReset: ev.kind = "reset"; break;
      case vee::ResetOutcome::kSpike: ev.kind = "requarantine"; break;
      case vee::ResetOutcome::kSustainedLoad: ev.kind = "sustained_load"; break;
      case vee::ResetOutcome::kRegisterStep: ev.kind = "register_step"; break;
      case vee::ResetOutcome::kNone: break;
    }
    ev.detail = reset.detail;
    pending.batch.events.push_back(std::move(ev));
    if (reset.requarantined) {
      pending.batch.remove_accepted.push_back({r.meter_id, reset.requarantined->ts, ""});
      Pending::Forget(*entry, reset.requarantined->ts);
      Quarantine(*entry,
                 {r.meter_id, reset.requarantined->ts, reset.requarantined->value, "", Verdict::kSudden,
                  "re-judged: " + reset.detail, source, now},
                 pending);
    }
    for (const auto& [pt, consumption] : reset.reaccepted) {
      store::StoredReading re;
      re.meter_id = r.meter_id;
      re.ts = pt.ts;
      re.value = pt.value;
      re.consumption = consumption;
      re.source = source;
      pending.Accept(*entry, std::move(re));
      pending.batch.remove_quarantined.push_back({r.meter_id, pt.ts, ""});
    }
    // The re-judged series ends at the current reading: check its period now.
    if (st.last && st.last->ts == r.ts) {
      auto check = vee::CheckPeriod(st, *st.last, nullptr, entry->params, options);
      if (check && check->exceeded) MH_RETURN_IF_ERROR(AddAlerts(*entry, r, *check, pending));
    }
  }

  if (j.verdict == Verdict::kOk && !j.jitter) {
    const vee::Point now_p{r.ts, *r.value};
    auto check = vee::CheckPeriod(st, now_p, previous_p ? &*previous_p : nullptr, entry->params, options);
    if (check && check->exceeded) MH_RETURN_IF_ERROR(AddAlerts(*entry, r, *check, pending));
  }
  return Status::Ok();
}

Result<std::vector<SubmitSummary>> Pipeline::SubmitAll(const std::vector<SubmitRequest>& requests) {
  size_t total = 0;
  for (const SubmitRequest& r : requests) total += r.readings->size();
  if (total <= options_.max_readings_per_commit || requests.size() != 1) {
    std::lock_guard<std::mutex> lock(mu_);
    return SubmitAllLocked(requests);
  }
  // One large request: committed in parts, each under the lock on its own, so that other sources
  // (MQTT) commit in between and a shutdown stops it at a part's end. Row numbers stay the
  // request's own.
  const SubmitRequest& whole = requests.front();
  const std::vector<Reading>& all = *whole.readings;
  SubmitSummary summary;
  for (size_t start = 0; start < all.size(); start += options_.max_readings_per_commit) {
    const size_t end = std::min(all.size(), start + options_.max_readings_per_commit);
    std::vector<Reading> part(all.begin() + static_cast<std::ptrdiff_t>(start), all.begin() + static_cast<std::ptrdiff_t>(end));
    std::vector<std::string> quality_part;
    if (whole.quality != nullptr) {
      quality_part.assign(whole.quality->begin() + static_cast<std::ptrdiff_t>(std::min(start, whole.quality->size())),
                          whole.quality->begin() + static_cast<std::ptrdiff_t>(std::min(end, whole.quality->size())));
    }
    SubmitRequest request{&part, whole.source, whole.quality ? &quality_part : nullptr};
    std::lock_guard<std::mutex> lock(mu_);
    MH_ASSIGN_OR_RETURN(std::vector<SubmitSummary> done, SubmitAllLocked({request}));
    for (auto& issue : done.front().issues) issue.line += static_cast<int64_t>(start);
    summary.Add(done.front());
  }
  return std::vector<SubmitSummary>{std::move(summary)};
}

Result<std::vector<SubmitSummary>> Pipeline::SubmitAllLocked(const std::vector<SubmitRequest>& requests) {
  if (cancelled_) return Unavailable("ingest is shutting down");
  Pending pending(++submits_);
  pending.batch.deferred = options_.deferred_commits;
  std::vector<SubmitSummary> summaries(requests.size());
  // Sized once for the whole Submit: a time-ordered fleet batch names as many meters as readings.
  size_t readings_in = 0;
  for (const SubmitRequest& r : requests) readings_in += r.readings->size();
  pending.batch.accepted.reserve(readings_in);
  pending.used.reserve(readings_in);
  pending.cached.reserve(readings_in);
  MH_RETURN_IF_ERROR(Prefetch(requests, pending));
  if (options_.auto_register) pending.batch.new_meters.reserve(pending.absent.size());
  const int64_t now = clock_->NowSeconds();
  size_t total = 0;
  for (size_t k = 0; k < requests.size(); ++k) {
    const std::vector<Reading>& readings = *requests[k].readings;
    pending.summary = &summaries[k];
    pending.summary->received = static_cast<int64_t>(readings.size());
    for (size_t i = 0; i < readings.size(); ++i) {
      pending.cached_entry = pending.cached[total + i];
      Status judged = JudgeOne(readings[i], i, requests[k], pending, now);
      if (!judged.ok()) {
        RollBack(pending);
        return judged;
      }
    }
    total += readings.size();
  }
  pending.cached_entry = nullptr;

  for (MeterEntry* entry : pending.used) {
    if (!entry->touched) continue;
    if (!options_.deferred_commits) {
      pending.batch.states.push_back({entry->info.meter_id, entry->state.Encode()});
    } else if (!entry->state_held) {
      // Held for Pack: a bulk load's meter appears in batch after batch, and only its last
      // state is ever read back.
      entry->state_held = true;
      held_states_.push_back(entry->info.meter_id);
    }
  }

  auto t0 = std::chrono::steady_clock::now();
  Status committed = overlapped_ ? overlapped_->Hand(std::move(pending.batch)) : store_->Commit(pending.batch);
  if (!committed.ok()) {
    RollBack(pending);
    if (overlapped_) {
      // An earlier batch, already judged into the cache, did not commit: nothing cached is what
      // the store holds any more, and the states held for Pack are lost.
      held_states_lost_ = true;
      held_states_.clear();
      meters_.clear();
    }
    return committed.WithContext("committing " + std::to_string(total) + " readings of " +
                                 std::to_string(requests.size()) + " requests");
  }
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();

  int64_t alerts = 0;
  for (const SubmitSummary& s : summaries) {
    counters_.received += s.received;
    counters_.accepted += s.accepted;
    counters_.duplicates += s.duplicates;
    counters_.rejected += s.rejected;
    counters_.conflicts += s.conflicts;
    counters_.alerts += s.alerts;
    counters_.estimated += s.estimated;
    for (int v = 0; v < 4; ++v) counters_.quarantined[v] += s.quarantined[v];
    alerts += s.alerts;
  }
  counters_.commits += 1;
  counters_.commit_micros_total += micros;
  if (alerts > 0 && alerts_hook_) alerts_hook_();
  return summaries;
}

Result<store::StoredReading> Pipeline::Correct(const Correction& c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return Unavailable("ingest is shutting down");
  if (!std::isfinite(c.value)) return InvalidArgument("a corrected value must be a finite number");
  Pending pending(++submits_);
  SubmitSummary summary;
  pending.summary = &summary;
  MH_ASSIGN_OR_RETURN(MeterEntry * entry, Entry(c.meter_id, pending));
  auto restore = [&] { RollBack(pending); };
  if (entry == nullptr) return NotFound("no meter '" + c.meter_id + "'");
  const std::string at = c.meter_id + " at " + FormatIsoUtc(c.ts);
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored, Settled()->GetReading(c.meter_id, c.ts));
  if (!stored) {
    restore();
    return NotFound("no accepted reading of " + at + " (a quarantined reading is not corrected: post it again)");
  }
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before, Settled()->LastReadingAtOrBefore(c.meter_id, c.ts - 1));
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> after,
                      Settled()->QueryReadings(c.meter_id, store::TimeRange{c.ts + 1, INT64_MAX}, 1));
  if ((before && c.value < before->value) || (!after.empty() && c.value > after.front().value)) {
    restore();
    std::string why = "a corrected value must lie between its accepted neighbours:";
    if (before) why += " " + vee::DescribePoint({before->ts, before->value});
    if (!after.empty()) why += (before ? ", " : " ") + vee::DescribePoint({after.front().ts, after.front().value});
    return FailedPrecondition(why);
  }
  store::ReadingVersion old;
  old.meter_id = stored->meter_id;
  old.channel = stored->channel;
  old.ts = stored->ts;
  old.version = stored->version;
  old.value = stored->value;
  old.consumption = stored->consumption;
  old.source = stored->source;
  old.quality = stored->quality;
  old.replaced_at = clock_->NowSeconds();
  old.replaced_by = c.by;
  old.reason = c.reason;
  pending.batch.versions.push_back(old);
  store::StoredReading revised = *stored;
  revised.value = c.value;
  revised.consumption = before ? c.value - before->value : stored->consumption;
  revised.version = stored->version + 1;
  revised.estimated = false;
  if (!c.quality.empty()) revised.quality = c.quality;
  pending.Accept(*entry, revised);
  if (!after.empty()) {
    store::StoredReading next = after.front();
    next.consumption = next.value - c.value;
    pending.Accept(*entry, std::move(next));
  }
  // The register now reads the corrected value: p follows when it was p.
  vee::MeterState& st = entry->state;
  if (st.last && st.last->ts == c.ts) {
    st.last->value = c.value;
    pending.batch.states.push_back({c.meter_id, st.Encode()});
  }
  store::ReadingEvent ev;
  ev.meter_id = c.meter_id;
  ev.ts_from = ev.ts_to = c.ts;
  ev.kind = "correction";
  ev.detail = nlohmann::json{{"from", stored->value}, {"to", c.value}, {"version", revised.version}, {"by", c.by},
                             {"reason", c.reason}}
                  .dump();
  pending.batch.events.push_back(std::move(ev));
  pending.batch.deferred = options_.deferred_commits;
  if (Status s = Settled()->Commit(pending.batch); !s.ok()) {
    restore();
    return s.WithContext("correcting " + at);
  }
  return revised;
}

}  // namespace mh::ingest
