// The one ingest pipeline every source feeds (MQTT, HTTP, import, relay): validate each reading
// against its meter's state (src/vee), keep abnormal ones in the quarantine, check the target
// period against T1 and create alerts, then commit it all in ONE durable transaction. Submit
// returns only after that commit, so a caller may acknowledge (MQTT PUBACK / HTTP 2xx) on return.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "alerts/quiet_hours.h"
#include "base/clock.h"
#include "base/status.h"
#include "codec/reading_csv.h"
#include "core/reading.h"
#include "ingest/estimation_step.h"
#include "ingest/overlapped_commit.h"
#include "store/store.h"
#include "vee/options.h"
#include "vee/validator.h"

namespace mh::ingest {

// What may differ per meter group ([groups.NAME], issue 17): the peak, the alert coefficient and
// limit (in `vee`), and the quiet hours of its alerts.
struct GroupSettings {
  vee::Options vee;
  std::optional<alerts::QuietHours> quiet_hours;  // alerts wait while the meter's local time is inside
};

struct PipelineOptions {
  vee::Options vee;                    // thresholds, coefficients, period, [beyond] options
  std::optional<alerts::QuietHours> quiet_hours;   // alerts.quiet_hours: for meters of no (known) group
  std::map<std::string, GroupSettings> groups;     // by group name; a meter of another group uses the above
  std::map<std::string, int> customer_max_alerts;  // [customers.ID] max_alerts_per_period: wins over the group's
  bool auto_register = false;          // readings of unknown meters: register them (true) or reject them
  std::string auto_register_kind = "electricity";
  vee::MeterParams default_meter;      // interval, time zone for auto-registered meters
  // Readings stamped later than the server's clock + this + the meter's interval are refused
  // (kept as a future_timestamp event): one bad clock must not poison a meter's p.
  int64_t max_future_s = 300;
  // A request with more readings is committed in parts of this size, so that one huge request
  // never holds the pipeline for long and a shutdown can stop between parts.
  size_t max_readings_per_commit = 10000;
  // Bulk loading (`meterhub import`): readings are held in memory until Pack(), and so are the
  // meters' validation states (one write per meter at Pack, not one per batch it appears in).
  bool deferred_commits = false;
  EstimationSettings estimation;       // [vee] estimation, estimate_max_gap (docs/estimation.md)
};

struct SubmitSummary {
  int64_t received = 0;
  int64_t accepted = 0;                // verdict ok, stored as consumption
  int64_t duplicates = 0;              // already stored (redelivery): nothing written
  int64_t late = 0;                    // of `accepted`: older than the meter's newest (retry, relay)
  int64_t quarantined[4] = {0, 0, 0, 0};  // by Verdict (index kOk unused)
  int64_t rejected = 0;                // not a reading of a known meter, or from the future: see issues
  int64_t conflicts = 0;               // a different value for a stored reading: kept as value_conflict events
  int64_t alerts = 0;
  int64_t estimated = 0;               // estimates stored (made for gaps, or given as such: NEM12 E)
  int64_t unestimated_gaps = 0;        // gaps longer than [vee] estimate_max_gap, left as they are
  std::vector<codec::RowIssue> issues; // rejected readings, with why

  int64_t quarantined_total() const { return quarantined[1] + quarantined[2] + quarantined[3]; }
  void Add(const SubmitSummary& other);
};

// Monotonic counters for /metrics.
struct PipelineCounters {
  std::atomic<int64_t> received{0}, accepted{0}, duplicates{0}, rejected{0}, conflicts{0}, alerts{0}, commits{0};
  std::atomic<int64_t> estimated{0};  // estimates stored (never counted in `accepted`)
  std::atomic<int64_t> quarantined[4] = {0, 0, 0, 0};
  std::atomic<int64_t> commit_micros_total{0};
};

// One source's readings in a SubmitAll: judged in order, summarised on their own.
struct SubmitRequest {
  const std::vector<Reading>* readings = nullptr;
  std::string source;
  const std::vector<std::string>* quality = nullptr;  // optional, same length as readings
};

class Pipeline {
 public:
  // "*store" and "*clock" must outlive the pipeline.
  Pipeline(store::Store* store, const Clock* clock, PipelineOptions options);
  ~Pipeline();

  // Validates and durably stores `readings` (a meter's readings are judged in the given order).
  // `quality` (optional, same length) carries per-reading quality flags (NEM12). On error nothing
  // was stored and nothing may be acknowledged.
  Result<SubmitSummary> Submit(const std::vector<Reading>& readings, const std::string& source,
                               const std::vector<std::string>* quality = nullptr);

  // Several requests judged in order and stored in ONE commit (group commit: one fsync for all),
  // each with its own summary. On error nothing was stored.
  Result<std::vector<SubmitSummary>> SubmitAll(const std::vector<SubmitRequest>& requests);

  // Durably records input that is not a reading at all (a malformed message), so it stays visible.
  Status RecordRejected(store::IngestBatch events_only);

  // A deliberate correction (an operator's, or a trusted revision file's): the accepted reading of
  // `meter_id` at `ts` takes `value` as a new version; the value it had is kept as a version with
  // who, when and why. The value must lie between its accepted neighbours. NotFound when there is
  // no accepted reading at ts.
  struct Correction {
    std::string meter_id;
    int64_t ts = 0;
    double value = 0;
    std::string reason;
    std::string by;           // who: a token's name, "import"
    std::string quality;      // the new version's quality flag ("" = keep)
  };
  Result<store::StoredReading> Correct(const Correction& correction);

  // Bulk loading (deferred_commits): makes everything submitted so far durable — the validation
  // states held back since the last Pack, then the store's deferred readings (Store::Pack). After
  // a failed deferred Submit it answers FailedPrecondition (the states held back are gone).
  Status Pack();

  // From now on every Submit answers Unavailable, and one in progress stops before its next part.
  void Cancel() { cancelled_ = true; }

  // Drops the cached state of a meter (after its registration or thresholds changed).
  void Invalidate(const std::string& meter_id);
  // Drops the cached state of every meter of `shard` (scale-out: the shard changed hands, and
  // another worker may have stored its readings meanwhile).
  void InvalidateShard(int shard);
  // Where gap estimation reads the meter's stored history (default: the store); must outlive the pipeline.
  void SetEstimationSource(EstimationSource* source) { estimation_source_ = source; }
  // Called after every commit that created alert deliveries (wakes the dispatcher).
  void SetAlertsCreatedHook(std::function<void()> hook) { alerts_hook_ = std::move(hook); }

  const PipelineCounters& counters() const { return counters_; }
  const PipelineOptions& options() const { return options_; }

 private:
  struct MeterEntry {
    store::MeterInfo info;
    vee::MeterParams params;
    vee::MeterState state;
    std::vector<store::Terminal> terminals;
    const GroupSettings* settings = nullptr;          // the meter's group's, or the defaults
    // The settings' peak with its yearly ranges in the meter's own zone, when that is not the zone
    // the configuration was read in (unset: settings->vee.peak as it is).
    std::optional<vee::Peak> zoned_peak;
    int max_alerts = 1;                               // per terminal and period: customer's, else group's
    int64_t alert_period_start = INT64_MIN;           // the period alert_counts refer to
    std::map<std::string, int64_t> alert_counts;      // terminal_id → alerts sent this period
    // No quarantined reading of this meter is stored later than this (unset = not known yet). It
    // only ever errs high (a rolled-back batch), which costs a store query, never a wrong answer.
    std::optional<int64_t> quarantine_horizon;
    // The meter's observed cadence (estimation_step.h ObservedCadence) as learned from its actual
    // readings up to p at cadence_learned_at (INT64_MIN: not yet); learned again a day later.
    std::optional<int64_t> cadence_s;
    int64_t cadence_learned_at = INT64_MIN;

    // Scratch of the Submit numbered `submit` (stale, and reset on first use, otherwise): kept in
    // the entry so judging a fleet's batch allocates nothing per meter.
    struct Fresh {
      int64_t ts;
      double value;
      size_t index;  // in the batch's accepted readings
    };
    uint64_t submit = 0;
    std::vector<Fresh> fresh;  // accepted in this Submit, by ts
    std::vector<Fresh> fresh_estimates;  // estimates stored by this Submit, by ts (never in `fresh`)
    bool touched = false;      // this Submit changed the state
    bool state_held = false;   // deferred_commits: the state changed since it was last written
  };
  struct Pending;  // per-Submit scratch

  // Judges one reading of `request` into `pending` (SPEC 1.1, then the period check of 1.2).
  Status JudgeOne(const Reading& r, size_t index, const SubmitRequest& request, Pending& pending, int64_t now);
  // A reading of a channel other than the meter's billing channel: stored, not judged.
  Status JudgeChannel(const Reading& r, size_t index, const SubmitRequest& request, Pending& pending, int64_t now);
  // `estimate`: the estimate stored at r.ts, which r supersedes when accepted.
  Status JudgeLate(MeterEntry& entry, const Reading& r, size_t index, const SubmitRequest& request,
                   Pending& pending, int64_t now, const store::StoredReading* estimate = nullptr);
  // Estimation (estimation_step.h): `closing` closes a gap after `from`; the gap's estimates go
  // into the batch before it and its consumption counts from the last of them.
  // `interval_s`: the gap's nominal interval (GapInterval).
  Status EstimateGap(MeterEntry& entry, const vee::Point& from, int64_t interval_s, store::StoredReading& closing,
                     Pending& pending, int64_t now);
  // The interval a gap after p is measured against: the registered one, or the meter's observed
  // cadence when it reports less often (learned from the store and this Submit, cached a day).
  Result<int64_t> GapIntervalAfter(MeterEntry& entry, const vee::Point& p, const Pending& pending);
  // The consumption of the estimated readings with period_start < ts <= to (an alert's estimated part).
  Result<double> EstimatedInPeriod(const MeterEntry& entry, int64_t period_start, int64_t to, const Pending& pending);
  // A reading its source flags as an estimate (NEM12 E): stored as an estimate, never judged.
  Status JudgeSourceEstimate(MeterEntry& entry, const Reading& r, const std::string& quality,
                             const SubmitRequest& request, Pending& pending, int64_t now);
  // Keeps a reading in the quarantine with this batch; the meter's horizon moves up to it.
  static void Quarantine(MeterEntry& entry, store::QuarantinedReading q, Pending& pending);
  Result<MeterEntry*> Entry(const std::string& meter_id, Pending& pending);
  // Marks an entry as used by this Submit (its scratch reset the first time).
  static MeterEntry* Use(MeterEntry* entry, Pending& pending);
  void RollBack(Pending& pending);
  // Drops a cached entry; a state held back for Pack goes to the store first (deferred), where
  // the entry's next load finds it.
  void Forget(absl::flat_hash_map<std::string, std::unique_ptr<MeterEntry>>::iterator it);
  Result<MeterEntry> MakeEntry(store::MeterSnapshot snapshot);
  Status Prefetch(const std::vector<SubmitRequest>& requests, Pending& pending);
  // Learns T1/T2 from the peak spans that ended before `now_ts` (or clears them when there are
  // none and the meter had learned some: its peak definition changed).
  Status LearnThresholds(MeterEntry& entry, const std::vector<vee::PeakPeriod>& spans, const Pending& pending);
  // The accepted reading standing for the same time one period before r (the "same time last
  // period" check), this Submit's or the store's.
  Result<std::optional<vee::Point>> PeriodAgo(const MeterEntry& entry, const Reading& r, Pending& pending);
  // Whether r is already in the quarantine (a redelivery). The store is asked only when r is not
  // later than everything the meter has there.
  Result<bool> IsQuarantineDuplicate(MeterEntry& entry, const Reading& r);
  // The accepted reading of meter_id at ts: this Submit's, else the store's.
  Result<std::optional<store::StoredReading>> AcceptedAt(const MeterEntry& entry, int64_t ts, Pending& pending);
  Status RecordConflict(const Reading& r, const store::StoredReading& stored, const std::string& source,
                        Pending& pending);
  Status RejectFuture(const Reading& r, size_t index, const std::string& source, int64_t limit, Pending& pending);
  // The store, once no overlapped commit is in flight (what is read includes every batch before).
  store::Store* Settled();
  Result<std::vector<SubmitSummary>> SubmitAllLocked(const std::vector<SubmitRequest>& requests);
  Status AddAlerts(MeterEntry& entry, const Reading& r, const vee::PeriodCheck& check, Pending& pending);

  store::Store* const store_;
  const Clock* const clock_;
  const PipelineOptions options_;
  std::function<void()> alerts_hook_;

  std::atomic<bool> cancelled_{false};
  std::mutex mu_;  // serialises Submit: one writer keeps every meter's readings in order
  // guarded by mu_; authoritative cache. Flat, with the entries behind pointers: a fleet's meters
  // are looked up once or twice per reading, and a node-based map's chains cost several cache
  // (and TLB) misses per lookup at 10^5–10^6 entries; the entries themselves must not move.
  absl::flat_hash_map<std::string, std::unique_ptr<MeterEntry>> meters_;
  uint64_t submits_ = 0;                                 // guarded by mu_; numbers each Submit
  // deferred_commits, guarded by mu_: meters whose state is held back for Pack (their entries'
  // state_held), and whether a deferred Submit failed (its rollback forgot states never written).
  std::vector<std::string> held_states_;
  bool held_states_lost_ = false;
  PipelineCounters counters_;
  GroupSettings default_settings_;  // options_.vee and options_.quiet_hours
  StoreEstimationSource store_estimation_source_;
  EstimationSource* estimation_source_ = &store_estimation_source_;
  // deferred_commits: the store writes a batch while the next is judged. Last: stopped first.
  std::unique_ptr<OverlappedCommitter> overlapped_;
};

}  // namespace mh::ingest
