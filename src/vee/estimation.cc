#include "vee/estimation.h"

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

namespace mh::vee {
namespace {

constexpr int64_t kWeekSeconds = 7 * 86400;

// The register at `t` read off the history: a reading at t, or the straight line between the
// readings either side when they are at most `max_span_s` apart and do not run backwards.
std::optional<double> RegisterAt(const std::vector<Point>& history, int64_t t, int64_t max_span_s) {
  auto next = std::lower_bound(history.begin(), history.end(), t, [](const Point& p, int64_t ts) { return p.ts < ts; });
  if (next != history.end() && next->ts == t) return next->value;
  if (next == history.end() || next == history.begin()) return std::nullopt;
  const Point& prev = *(next - 1);
  if (next->ts - prev.ts > max_span_s || next->value < prev.value) return std::nullopt;
  const double f = static_cast<double>(t - prev.ts) / static_cast<double>(next->ts - prev.ts);
  return prev.value + f * (next->value - prev.value);
}

// Registers at the gap's instants given each slot's share of the gap's consumption.
std::vector<Estimate> Distribute(const Point& from, const Point& to, const std::vector<int64_t>& instants,
                                 const std::vector<double>& shares) {
  const double total = std::max(0.0, to.value - from.value);
  double sum = 0;
  for (double s : shares) sum += s;
  std::vector<Estimate> out;
  out.reserve(instants.size());
  double cum = 0, previous = from.value;
  for (size_t i = 0; i < instants.size(); ++i) {
    cum += shares[i];
    const double value = from.value + (sum > 0 ? total * cum / sum : 0.0);
    out.push_back({instants[i], value, value - previous});
    previous = value;
  }
  return out;
}

}  // namespace

std::string GapEstimate::InputsJson(const Point& from, const Point& to) const {
  nlohmann::json j{{"from", {{"ts", from.ts}, {"value", from.value}}}, {"to", {{"ts", to.ts}, {"value", to.value}}}};
  if (method == "profile") j["weeks"] = profile_weeks;
  return j.dump();
}

std::vector<int64_t> MissingInstants(const Point& from, const Point& to, int64_t interval_s) {
  std::vector<int64_t> out;
  if (interval_s <= 0) return out;
  for (int64_t t = from.ts + interval_s; 2 * (to.ts - t) >= interval_s; t += interval_s) out.push_back(t);
  return out;
}

GapEstimate InterpolateLinear(const Point& from, const Point& to, const std::vector<int64_t>& instants) {
  // Shares proportional to the slots' lengths: the register moves at a constant rate.
  std::vector<double> shares;
  int64_t previous = from.ts;
  for (int64_t t : instants) {
    shares.push_back(static_cast<double>(t - previous));
    previous = t;
  }
  shares.push_back(static_cast<double>(to.ts - previous));
  GapEstimate g;
  g.method = "linear";
  g.estimates = Distribute(from, to, instants, shares);
  return g;
}

GapEstimate EstimateGap(const Point& from, const Point& to, const std::vector<int64_t>& instants,
                        const std::vector<Point>& history, int64_t interval_s, const TimeZone& tz,
                        const EstimationOptions& options) {
  if (instants.empty() || to.ts - from.ts <= options.linear_max_gap_s) return InterpolateLinear(from, to, instants);
  // Slot j runs from bounds[j] to bounds[j + 1]; the profile is the mean, over the complete weeks
  // before, of each slot's consumption at the same local weekday and time.
  std::vector<int64_t> bounds;
  bounds.push_back(from.ts);
  bounds.insert(bounds.end(), instants.begin(), instants.end());
  bounds.push_back(to.ts);
  const int64_t max_span = std::max<int64_t>(1, options.history_max_span_intervals) * interval_s;
  std::vector<double> shares(bounds.size() - 1, 0.0), week(bounds.size() - 1);
  int weeks = 0;
  for (int w = 1; w <= options.profile_weeks; ++w) {
    std::optional<double> previous;
    bool complete = true;
    for (size_t j = 0; j < bounds.size() && complete; ++j) {
      const int64_t local = bounds[j] + tz.OffsetAt(bounds[j]);
      const std::optional<double> r = RegisterAt(history, tz.ToUtc(local - w * kWeekSeconds), max_span);
      if (!r || (previous && *r < *previous)) complete = false;
      else if (previous) week[j - 1] = *r - *previous;
      previous = r;
    }
    if (!complete) continue;
    for (size_t j = 0; j < week.size(); ++j) shares[j] += week[j];
    ++weeks;
  }
  double sum = 0;
  for (double s : shares) sum += s;
  if (weeks == 0 || !(sum > 0)) return InterpolateLinear(from, to, instants);
  GapEstimate g;
  g.method = "profile";
  g.profile_weeks = weeks;
  g.estimates = Distribute(from, to, instants, shares);
  return g;
}

}  // namespace mh::vee
