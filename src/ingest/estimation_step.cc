#include "ingest/estimation_step.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace mh::ingest {
namespace {

constexpr int64_t kWeekSeconds = 7 * 86400;
// How far back (or on) an actual reading is looked for past estimates, per store query: estimates
// span at most [vee] estimate_max_gap (7 days by default); an import's E run may be longer.
constexpr int64_t kActualSearchWindow = 8 * 86400;

// The gap's instants: its nominal grid, where a quarantined reading's own instant replaces the grid
// instants within half an interval of it.
std::vector<int64_t> Instants(const Gap& gap, std::vector<int64_t> quarantined) {
  const int64_t interval = gap.params->interval_s;
  std::vector<int64_t> grid = vee::MissingInstants(gap.from, gap.to, interval);
  std::erase_if(quarantined, [&](int64_t t) { return t <= gap.from.ts || t >= gap.to.ts; });
  std::sort(quarantined.begin(), quarantined.end());
  quarantined.erase(std::unique(quarantined.begin(), quarantined.end()), quarantined.end());
  std::erase_if(grid, [&](int64_t t) {
    auto near = std::lower_bound(quarantined.begin(), quarantined.end(), t - interval / 2);
    return near != quarantined.end() && 2 * std::abs(*near - t) < interval;
  });
  grid.insert(grid.end(), quarantined.begin(), quarantined.end());
  std::sort(grid.begin(), grid.end());
  return grid;
}

// The meter's actual readings a profile may look at for this gap: the store's and this batch's.
Result<std::vector<vee::Point>> History(const EstimationSettings& settings, EstimationSource& source, const Gap& gap) {
  const int64_t span = gap.to.ts - gap.from.ts;
  const int64_t from = gap.from.ts - settings.method.profile_weeks * kWeekSeconds - span - gap.params->interval_s;
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows, source.Readings(gap.meter_id, {from, gap.from.ts}));
  std::vector<vee::Point> history;
  history.reserve(rows.size());
  for (const store::StoredReading& r : rows)
    if (!r.estimated) history.push_back({r.ts, r.value});
  if (gap.batch_history) {
    std::vector<vee::Point> fresh = gap.batch_history(from, gap.from.ts);
    history.insert(history.end(), fresh.begin(), fresh.end());
    std::stable_sort(history.begin(), history.end(), [](const vee::Point& a, const vee::Point& b) { return a.ts < b.ts; });
    history.erase(std::unique(history.begin(), history.end(),
                              [](const vee::Point& a, const vee::Point& b) { return a.ts == b.ts; }),
                  history.end());
  }
  return history;
}

}  // namespace

Result<std::vector<store::StoredReading>> StoreEstimationSource::Readings(const std::string& meter_id,
                                                                          store::TimeRange range) {
  return store_->QueryReadings(meter_id, range, INT64_MAX);
}

Result<std::vector<int64_t>> StoreEstimationSource::QuarantinedInstants(const std::string& meter_id,
                                                                        store::TimeRange range) {
  MH_ASSIGN_OR_RETURN(std::vector<store::QuarantinedReading> rows, store_->QueryQuarantine(meter_id, range, INT64_MAX));
  std::vector<int64_t> out;
  for (const store::QuarantinedReading& q : rows)
    if (q.channel.empty()) out.push_back(q.ts);
  return out;
}

std::optional<int64_t> ObservedCadence(const std::vector<vee::Point>& points) {
  std::vector<int64_t> spacings;
  const size_t first = points.size() > kCadenceSpacings + 1 ? points.size() - kCadenceSpacings - 1 : 0;
  for (size_t i = first + 1; i < points.size(); ++i)
    if (points[i].ts > points[i - 1].ts) spacings.push_back(points[i].ts - points[i - 1].ts);
  if (spacings.size() < kCadenceMinSpacings) return std::nullopt;
  std::sort(spacings.begin(), spacings.end());
  int64_t best = 0;
  size_t best_count = 0;
  for (size_t i = 0; i < spacings.size();) {
    size_t j = i;
    while (j < spacings.size() && spacings[j] == spacings[i]) ++j;
    if (j - i > best_count) best = spacings[i], best_count = j - i;  // ties: the shorter spacing
    i = j;
  }
  if (2 * best_count < spacings.size()) return std::nullopt;
  return best;
}

Result<ClosedGap> CloseGap(const EstimationSettings& settings, EstimationSource& source, const Gap& gap) {
  ClosedGap out;
  // Estimates already in the gap (an import's E intervals, or this gap closed before and its
  // reading redelivered): the closing reading counts from the last, nothing new is made.
  if (gap.batch_estimate) {
    out.last = gap.batch_estimate;
    return out;
  }
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> stored,
                      source.Readings(gap.meter_id, {gap.from.ts + 1, gap.to.ts - 1}));
  for (const store::StoredReading& r : stored)
    if (r.estimated) out.last = vee::Point{r.ts, r.value};
  if (out.last || !settings.enabled) return out;
  if (gap.to.ts - gap.from.ts > settings.max_gap_s) {
    out.too_long = true;
    return out;
  }
  std::vector<int64_t> quarantined = gap.quarantined;
  if (gap.store_may_hold_quarantine) {
    MH_ASSIGN_OR_RETURN(std::vector<int64_t> q, source.QuarantinedInstants(gap.meter_id, {gap.from.ts + 1, gap.to.ts - 1}));
    quarantined.insert(quarantined.end(), q.begin(), q.end());
  }
  const std::vector<int64_t> instants = Instants(gap, std::move(quarantined));
  if (instants.empty()) return out;
  std::vector<vee::Point> history;
  if (gap.to.ts - gap.from.ts > settings.method.linear_max_gap_s) {
    MH_ASSIGN_OR_RETURN(history, History(settings, source, gap));
  }
  const vee::GapEstimate made = vee::EstimateGap(gap.from, gap.to, instants, history, gap.params->interval_s,
                                                 gap.params->tz, settings.method);
  const std::string inputs = made.InputsJson(gap.from, gap.to);
  for (const vee::Estimate& e : made.estimates) {
    store::StoredReading s;
    s.meter_id = gap.meter_id;
    s.ts = e.ts;
    s.value = e.value;
    s.consumption = e.consumption;
    s.source = kEstimatedByMeterhub;
    s.quality = "E";
    s.estimated = true;
    s.known_absent = true;  // later than the meter's last accepted reading, and no estimate stored here
    out.estimates.push_back(std::move(s));
    out.how.push_back({gap.meter_id, "", e.ts, made.method, inputs, kEstimatedByMeterhub, gap.now});
  }
  if (!out.estimates.empty()) out.last = vee::Point{out.estimates.back().ts, out.estimates.back().value};
  return out;
}

Result<std::optional<store::StoredReading>> ActualAtOrBefore(store::Store& store, const std::string& meter_id,
                                                             std::optional<store::StoredReading> found) {
  while (found && found->estimated) {
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                        store.QueryReadings(meter_id, {found->ts - kActualSearchWindow, found->ts - 1}, INT64_MAX));
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
      if (!it->estimated) return std::optional<store::StoredReading>(*it);
    const int64_t before = rows.empty() ? found->ts - kActualSearchWindow - 1 : rows.front().ts - 1;
    MH_ASSIGN_OR_RETURN(found, store.LastReadingAtOrBefore(meter_id, before));
  }
  return found;
}

Result<std::optional<store::StoredReading>> ActualAfter(store::Store& store, const std::string& meter_id,
                                                        std::optional<store::StoredReading> found) {
  while (found && found->estimated) {
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                        store.QueryReadings(meter_id, {found->ts + 1, found->ts + kActualSearchWindow}, INT64_MAX));
    for (const store::StoredReading& r : rows)
      if (!r.estimated) return std::optional<store::StoredReading>(r);
    const int64_t after = rows.empty() ? found->ts + kActualSearchWindow : rows.back().ts;
    MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> next,
                        store.QueryReadings(meter_id, {after + 1, INT64_MAX}, 1));
    found = next.empty() ? std::nullopt : std::optional<store::StoredReading>(next.front());
  }
  return found;
}

store::ReadingVersion SupersededEstimate(const store::StoredReading& estimate, const std::string& by, int64_t now) {
  store::ReadingVersion v;
  v.meter_id = estimate.meter_id;
  v.channel = estimate.channel;
  v.ts = estimate.ts;
  v.version = estimate.version;
  v.value = estimate.value;
  v.consumption = estimate.consumption;
  v.source = estimate.source;
  v.quality = estimate.quality;
  v.replaced_at = now;
  v.replaced_by = by;
  v.reason = "an actual reading superseded the estimate";
  return v;
}

store::ReadingEstimate SourceEstimate(const store::StoredReading& reading, const std::string& quality,
                                      const std::string& estimated_by, int64_t now) {
  const std::string method = quality.substr(0, quality.find(':'));
  const std::string inputs = nlohmann::json{{"quality", quality}, {"source", reading.source}}.dump();
  return {reading.meter_id, reading.channel, reading.ts, method, inputs, estimated_by, now};
}

}  // namespace mh::ingest
