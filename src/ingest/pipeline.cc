#include "ingest/pipeline.h"

#include <chrono>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "alerts/message.h"
#include "core/meter_id.h"
#include "core/time.h"

namespace mh::ingest {
namespace {

const char* UnitOf(const store::MeterInfo& info) { return info.kind == "water" ? "m³" : "kWh"; }

}  // namespace

void SubmitSummary::Add(const SubmitSummary& o) {
  received += o.received;
  accepted += o.accepted;
  duplicates += o.duplicates;
  late += o.late;
  for (int i = 0; i < 4; ++i) quarantined[i] += o.quarantined[i];
  rejected += o.rejected;
  alerts += o.alerts;
  issues.insert(issues.end(), o.issues.begin(), o.issues.end());
}

struct Pipeline::Pending {
  store::IngestBatch batch;
  SubmitSummary* summary = nullptr;                            // of the request being judged
  std::unordered_map<std::string, MeterEntry> backup;          // entries as before this Submit
  std::unordered_map<std::string, std::vector<vee::Point>> accepted;  // this Submit's, per meter
  std::unordered_map<std::string, bool> unknown;               // meters found missing in this Submit
  std::set<std::string> touched;                               // meters whose state this Submit changed
};

Pipeline::Pipeline(store::Store* store, const Clock* clock, PipelineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

Status Pipeline::RecordRejected(store::IngestBatch events_only) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_.rejected += static_cast<int64_t>(events_only.events.size());
  return store_->Commit(events_only);
}

void Pipeline::Invalidate(const std::string& meter_id) {
  std::lock_guard<std::mutex> lock(mu_);
  meters_.erase(meter_id);
}

Result<Pipeline::MeterEntry*> Pipeline::Entry(const std::string& meter_id, Pending& pending) {
  auto it = meters_.find(meter_id);
  if (it != meters_.end()) {
    if (!pending.backup.count(meter_id)) pending.backup.emplace(meter_id, it->second);
    return &it->second;
  }
  if (pending.unknown.count(meter_id)) return static_cast<MeterEntry*>(nullptr);
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> info, store_->GetMeter(meter_id));
  if (!info) {
    if (!options_.auto_register) {
      pending.unknown[meter_id] = true;
      return static_cast<MeterEntry*>(nullptr);
    }
    store::MeterInfo fresh;
    fresh.meter_id = meter_id;
    fresh.kind = options_.auto_register_kind;
    fresh.interval_s = options_.default_meter.interval_s;
    fresh.tz_offset_s = options_.default_meter.tz_offset_s;
    fresh.created_at = clock_->NowSeconds();
    MH_RETURN_IF_ERROR(store_->UpsertMeter(fresh).WithContext("auto-registering meter " + meter_id));
    info = fresh;
  }
  MeterEntry entry;
  entry.info = *info;
  entry.params.interval_s = info->interval_s;
  entry.params.tz_offset_s = info->tz_offset_s;
  entry.params.register_max = info->register_max;
  entry.params.customer_t1 = info->customer_t1;
  MH_ASSIGN_OR_RETURN(entry.terminals, store_->ListTerminals(meter_id));
  MH_ASSIGN_OR_RETURN(std::vector<store::MeterStateRecord> states, store_->LoadMeterStates({meter_id}));
  if (!states.empty()) {
    auto state = vee::MeterState::FromJson(states.front().state_json);
    if (!state.ok()) return state.status().WithContext("meter state of " + meter_id);
    entry.state = std::move(state).value();
  }
  auto [pos, inserted] = meters_.emplace(meter_id, std::move(entry));
  pending.backup.emplace(meter_id, pos->second);
  return &pos->second;
}

Status Pipeline::LearnThresholds(MeterEntry& entry, const Pending& pending) {
  const auto& peak = *options_.vee.peak;
  std::vector<vee::Point> points;
  const std::string& id = entry.info.meter_id;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before, store_->LastReadingAtOrBefore(id, peak.from));
  if (before) points.push_back({before->ts, before->value});
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored,
                      store_->QueryReadings(id, {peak.from + 1, peak.to}, INT64_MAX));
  for (const auto& s : stored) points.push_back({s.ts, s.value});
  // Readings accepted earlier in this same Submit are not committed yet: add them.
  if (auto it = pending.accepted.find(id); it != pending.accepted.end()) {
    for (const auto& p : it->second) {
      if (p.ts <= peak.from) {
        if (points.empty() || points.front().ts < p.ts) {
          if (!points.empty() && points.front().ts <= peak.from) points.front() = p;
          else points.insert(points.begin(), p);
        }
      } else if (p.ts <= peak.to) {
        points.push_back(p);
      }
    }
    std::sort(points.begin(), points.end(), [](const vee::Point& a, const vee::Point& b) { return a.ts < b.ts; });
    points.erase(std::unique(points.begin(), points.end(),
                             [](const vee::Point& a, const vee::Point& b) { return a.ts == b.ts; }),
                 points.end());
  }
  std::vector<vee::Point> in_peak;
  for (const auto& p : points)
    if (peak.Contains(p.ts)) in_peak.push_back(p);
  entry.state.t2 = vee::LearnT2(in_peak, entry.params.interval_s, options_.vee);
  entry.state.t1 = vee::LearnT1(points, peak, options_.vee.period, entry.params.tz_offset_s, options_.vee);
  entry.thresholds_learned = true;
  spdlog::debug("thresholds of {}: T2={} T1={} from {} peak readings", id,
                entry.state.t2 ? fmt::format("{:.6g}", *entry.state.t2) : "unset",
                entry.state.t1 ? fmt::format("{:.6g}", *entry.state.t1) : "unset", in_peak.size());
  return Status::Ok();
}

Result<bool> Pipeline::IsStoredDuplicate(const std::string& meter_id, const Reading& r) {
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> same, store_->QueryReadings(meter_id, {r.ts, r.ts}, 1));
  if (!same.empty()) return r.value.has_value() && *r.value == same.front().value;
  MH_ASSIGN_OR_RETURN(std::vector<store::QuarantinedReading> q, store_->QueryQuarantine(meter_id, {r.ts, r.ts}, 16));
  for (const auto& row : q) {
    if (row.value.has_value() == r.value.has_value() && (!row.value || *row.value == *r.value) &&
        row.raw_value == r.raw_value)
      return true;
  }
  return false;
}

Status Pipeline::AddAlerts(MeterEntry& entry, const Reading& r, const vee::PeriodCheck& check, Pending& pending) {
  if (entry.alert_period_start != check.period.start) {
    entry.alert_period_start = check.period.start;
    entry.alert_counts.clear();
    for (const auto& t : entry.terminals) {
      MH_ASSIGN_OR_RETURN(int64_t n, store_->CountAlerts(entry.info.meter_id, t.terminal_id, check.period.start));
      entry.alert_counts[t.terminal_id] = n;
    }
  }
  for (const auto& t : entry.terminals) {
    int64_t& sent = entry.alert_counts[t.terminal_id];
    if (sent >= options_.vee.max_alerts_per_period) continue;  // claim 7: no message bombing
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
    na.delivery.terminal_id = t.terminal_id;
    na.delivery.channel = t.channel;
    na.delivery.address = t.address;
    na.delivery.content = alerts::FormatAlert(na.alert, UnitOf(entry.info)).json;
    na.delivery.status = store::DeliveryStatus::kPending;
    na.delivery.next_attempt_at = clock_->NowMillis();
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
Status Pipeline::JudgeLate(const Reading& r, size_t i, const SubmitRequest& request, Pending& pending,
                           int64_t now) {
  const std::string& source = request.source;
  SubmitSummary& summary = *pending.summary;
  if (!r.value) {
    pending.batch.quarantined.push_back({r.meter_id, r.ts, r.value, r.raw_value, Verdict::kNull,
                                         "null: no usable value (late reading)", source, now});
    ++summary.quarantined[static_cast<int>(Verdict::kNull)];
    return Status::Ok();
  }
  // Neighbours among the stored readings and this Submit's not yet committed ones.
  std::optional<vee::Point> before, after;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> stored_before,
                      store_->LastReadingAtOrBefore(r.meter_id, r.ts - 1));
  if (stored_before) before = vee::Point{stored_before->ts, stored_before->value};
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored_after,
                      store_->QueryReadings(r.meter_id, store::TimeRange{r.ts + 1, INT64_MAX}, 1));
  std::optional<store::StoredReading> next_row;
  if (!stored_after.empty()) {
    next_row = stored_after.front();
    after = vee::Point{next_row->ts, next_row->value};
  }
  std::vector<vee::Point>& fresh = pending.accepted[r.meter_id];
  for (const vee::Point& p : fresh) {
    if (p.ts < r.ts && (!before || p.ts > before->ts)) before = p;
    if (p.ts > r.ts && (!after || p.ts < after->ts)) after = p;
  }
  const double v = *r.value;
  if ((before && v < before->value) || (after && v > after->value)) {
    std::string reason = "late reading not between its accepted neighbours:";
    if (before) reason += " " + vee::DescribePoint(*before);
    if (after) reason += (before ? ", " : " ") + vee::DescribePoint(*after);
    pending.batch.quarantined.push_back({r.meter_id, r.ts, r.value, r.raw_value, Verdict::kError, reason, source, now});
    ++summary.quarantined[static_cast<int>(Verdict::kError)];
    return Status::Ok();
  }
  const std::vector<std::string>* quality = request.quality;
  pending.batch.accepted.push_back({r.meter_id, r.ts, v, before ? v - before->value : 0.0, source,
                                    quality && i < quality->size() ? (*quality)[i] : std::string()});
  if (after) {
    // The reading after now follows this one: its consumption shrinks by what this one took.
    bool in_batch = false;
    for (store::StoredReading& s : pending.batch.accepted) {
      if (s.meter_id == r.meter_id && s.ts == after->ts) {
        s.consumption = s.value - v;
        in_batch = true;
      }
    }
    if (!in_batch && next_row) {
      store::StoredReading rewritten = *next_row;
      rewritten.consumption = rewritten.value - v;
      pending.batch.accepted.push_back(std::move(rewritten));
    }
  }
  fresh.insert(std::upper_bound(fresh.begin(), fresh.end(), r.ts,
                                [](int64_t ts, const vee::Point& p) { return ts < p.ts; }),
               vee::Point{r.ts, v});
  ++summary.accepted;
  ++summary.late;
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
  pending.touched.insert(r.meter_id);
  vee::MeterState& st = entry->state;

  // Redelivery (MQTT after a crash, a retried POST): a reading at or before p is either already
  // stored — nothing to do — or an out-of-order reading, which is kept in the quarantine.
  if (st.last && r.ts <= st.last->ts) {
    bool dup = false;
    if (r.ts == st.last->ts && r.value && *r.value == st.last->value) {
      dup = true;
    } else {
      MH_ASSIGN_OR_RETURN(dup, IsStoredDuplicate(r.meter_id, r));
    }
    if (dup) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
    return JudgeLate(r, i, request, pending, now);
  }

  if (options_.vee.peak && !entry->thresholds_learned && r.ts > options_.vee.peak->to) {
    MH_RETURN_IF_ERROR(LearnThresholds(*entry, pending).WithContext("learning thresholds of " + r.meter_id));
  }

  std::optional<vee::Point> previous_p = st.last;
  vee::Judgement j = vee::Judge(st, r, entry->params, options_.vee);
  if (j.verdict != Verdict::kOk) {
    // An abnormal reading redelivered: it is in the quarantine already.
    MH_ASSIGN_OR_RETURN(bool dup, IsStoredDuplicate(r.meter_id, r));
    if (dup) {
      ++pending.summary->duplicates;
      return Status::Ok();
    }
  }
  vee::ResetOutcome reset = vee::Advance(st, r, j, entry->params, options_.vee);

  if (j.verdict != Verdict::kOk) {
    pending.batch.quarantined.push_back(
        {r.meter_id, r.ts, r.value, r.raw_value, j.verdict, j.reason, source, now});
    ++pending.summary->quarantined[static_cast<int>(j.verdict)];
  } else {
    store::StoredReading s{r.meter_id, r.ts, *r.value, j.consumption, source,
                           quality && i < quality->size() ? (*quality)[i] : std::string()};
    pending.batch.accepted.push_back(std::move(s));
    pending.accepted[r.meter_id].push_back({r.ts, *r.value});
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
      pending.batch.remove_accepted.push_back({r.meter_id, reset.requarantined->ts});
      pending.batch.quarantined.push_back({r.meter_id, reset.requarantined->ts, reset.requarantined->value, "",
                                           Verdict::kSudden, "re-judged: " + reset.detail, source, now});
    }
    for (const auto& [pt, consumption] : reset.reaccepted) {
      pending.batch.accepted.push_back({r.meter_id, pt.ts, pt.value, consumption, source, ""});
      pending.batch.remove_quarantined.push_back({r.meter_id, pt.ts});
      pending.accepted[r.meter_id].push_back(pt);
    }
    // The re-judged series ends at the current reading: check its period now.
    if (st.last && st.last->ts == r.ts) {
      auto check = vee::CheckPeriod(st, *st.last, nullptr, entry->params, options_.vee);
      if (check && check->exceeded) MH_RETURN_IF_ERROR(AddAlerts(*entry, r, *check, pending));
    }
  }

  if (j.verdict == Verdict::kOk && !j.jitter) {
    const vee::Point now_p{r.ts, *r.value};
    auto check = vee::CheckPeriod(st, now_p, previous_p ? &*previous_p : nullptr, entry->params, options_.vee);
    if (check && check->exceeded) MH_RETURN_IF_ERROR(AddAlerts(*entry, r, *check, pending));
  }
  return Status::Ok();
}

Result<std::vector<SubmitSummary>> Pipeline::SubmitAll(const std::vector<SubmitRequest>& requests) {
  std::lock_guard<std::mutex> lock(mu_);
  Pending pending;
  std::vector<SubmitSummary> summaries(requests.size());
  const int64_t now = clock_->NowSeconds();
  size_t total = 0;
  for (size_t k = 0; k < requests.size(); ++k) {
    const std::vector<Reading>& readings = *requests[k].readings;
    pending.summary = &summaries[k];
    pending.summary->received = static_cast<int64_t>(readings.size());
    total += readings.size();
    for (size_t i = 0; i < readings.size(); ++i) {
      Status judged = JudgeOne(readings[i], i, requests[k], pending, now);
      if (!judged.ok()) {
        for (auto& [id, entry] : pending.backup) meters_[id] = std::move(entry);
        return judged;
      }
    }
  }

  for (const auto& id : pending.touched) {
    pending.batch.states.push_back({id, meters_.at(id).state.ToJson()});
  }

  auto t0 = std::chrono::steady_clock::now();
  Status committed = store_->Commit(pending.batch);
  if (!committed.ok()) {
    for (auto& [id, entry] : pending.backup) meters_[id] = std::move(entry);
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
    counters_.alerts += s.alerts;
    for (int v = 0; v < 4; ++v) counters_.quarantined[v] += s.quarantined[v];
    alerts += s.alerts;
  }
  counters_.commits += 1;
  counters_.commit_micros_total += micros;
  if (alerts > 0 && alerts_hook_) alerts_hook_();
  return summaries;
}

}  // namespace mh::ingest
