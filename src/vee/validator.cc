#include "vee/validator.h"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace mh::vee {
std::string DescribePoint(const Point& p);

namespace {

// Numbers in reasons and audit texts: short, but exact enough to recognise the reading.
std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string At(const Point& p) { return DescribePoint(p); }

// Nominal upload intervals between two readings, rounded, at least 1 (SPEC 1.1 gaps).
int64_t Intervals(int64_t from_ts, int64_t to_ts, int64_t interval_s) {
  if (interval_s <= 0 || to_ts <= from_ts) return 1;
  double k = std::round(static_cast<double>(to_ts - from_ts) / static_cast<double>(interval_s));
  return std::max<int64_t>(1, static_cast<int64_t>(k));
}

// "Greater than" with a little slack: 110.4 − 100 is 10.400000000000006 in binary, which must
// not count as more than a threshold of 10.4.
bool Above(double x, double limit) { return x > limit + 1e-9 * std::max(1.0, std::abs(limit)); }

bool IsRollover(double p, double r, const MeterParams& meter) {
  if (!meter.register_max || *meter.register_max <= 0) return false;
  const double max = *meter.register_max;
  return p >= 0.99 * max && r >= 0 && r < 0.01 * max;
}

// Period bookkeeping shared by CheckPeriod and the re-judgements of Advance: moves the tracked
// period to the one of `r`, taking as its base the last accepted reading at or before its start.
// Returns false when r lies in a period older than the tracked one (out-of-order input).
bool TrackPeriod(MeterState& state, const Point& r, const Point* previous_p, const MeterParams& meter,
                 const Options& options) {
  const Period per = PeriodOf(r.ts, options.period, meter.tz);
  if (per.start == state.period_start && per.end == state.period_end) return true;
  if (state.period_end != 0 && per.end <= state.period_start) return false;
  state.period_start = per.start;
  state.period_end = per.end;
  if (previous_p != nullptr && previous_p->ts <= per.start) {
    state.period_base = previous_p->value;
  } else {
    state.period_base.reset();
  }
  return true;
}

Reading AsReading(const Point& p) {
  Reading r;
  r.ts = p.ts;
  r.value = p.value;
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Persisted form of MeterState: binary now, JSON up to schema 3 (still read).

namespace {

Result<Point> PointFrom(const nlohmann::json& j, const char* what) {
  if (!j.is_object() || !j.contains("ts") || !j.contains("value") || !j["ts"].is_number_integer() ||
      !j["value"].is_number())
    return InvalidArgument(std::string("meter state: bad point '") + what + "'");
  return Point{j["ts"].get<int64_t>(), j["value"].get<double>()};
}

Result<MeterState> FromLegacyJson(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("meter state: not JSON: ") + e.what());
  }
  if (!j.is_object()) return InvalidArgument("meter state: not a JSON object");
  if (j.contains("v") && (!j["v"].is_number_integer() || j["v"].get<int>() != 1))
    return InvalidArgument("meter state: unsupported version");
  MeterState s;
  auto opt_number = [&](const char* key, std::optional<double>* out) -> Status {
    if (!j.contains(key) || j[key].is_null()) return Status::Ok();
    if (!j[key].is_number()) return InvalidArgument(std::string("meter state: '") + key + "' is not a number");
    *out = j[key].get<double>();
    return Status::Ok();
  };
  auto int_field = [&](const char* key, int64_t* out) -> Status {
    if (!j.contains(key)) return Status::Ok();
    if (!j[key].is_number_integer()) return InvalidArgument(std::string("meter state: '") + key + "' is not an integer");
    *out = j[key].get<int64_t>();
    return Status::Ok();
  };
  for (const char* key : {"last", "before_last"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    MH_ASSIGN_OR_RETURN(Point p, PointFrom(j[key], key));
    (std::string_view(key) == "last" ? s.last : s.before_last) = p;
  }
  MH_RETURN_IF_ERROR(opt_number("t2", &s.t2));
  MH_RETURN_IF_ERROR(opt_number("t1", &s.t1));
  MH_RETURN_IF_ERROR(opt_number("period_base", &s.period_base));
  MH_RETURN_IF_ERROR(int_field("period_start", &s.period_start));
  MH_RETURN_IF_ERROR(int_field("period_end", &s.period_end));
  if (j.contains("below")) {
    if (!j["below"].is_array()) return InvalidArgument("meter state: 'below' is not an array");
    for (const auto& e : j["below"]) {
      MH_ASSIGN_OR_RETURN(Point p, PointFrom(e, "below"));
      s.below.push_back(p);
    }
  }
  if (j.contains("above")) {
    if (!j["above"].is_array()) return InvalidArgument("meter state: 'above' is not an array");
    for (const auto& e : j["above"]) {
      MH_ASSIGN_OR_RETURN(Point p, PointFrom(e, "above"));
      s.above.push_back(p);
    }
  }
  return s;
}

constexpr uint8_t kStateFormat = 2;  // 1 was the JSON form ({"v":1,...})

void PutI64(std::string& out, int64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
}
void PutF64(std::string& out, double d) {
  int64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  PutI64(out, bits);
}
void PutPoint(std::string& out, const Point& p) {
  PutI64(out, p.ts);
  PutF64(out, p.value);
}

class StateReader {
 public:
  explicit StateReader(std::string_view b) : b_(b) {}
  Result<int64_t> I64(const char* field) {
    if (b_.size() - pos_ < 8) return InvalidArgument(std::string("meter state: ends inside '") + field + "'");
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return static_cast<int64_t>(v);
  }
  Result<double> F64(const char* field) {
    MH_ASSIGN_OR_RETURN(int64_t bits, I64(field));
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  Result<Point> Pt(const char* field) {
    MH_ASSIGN_OR_RETURN(int64_t ts, I64(field));
    MH_ASSIGN_OR_RETURN(double v, F64(field));
    return Point{ts, v};
  }
  Result<uint8_t> Byte(const char* field) {
    if (pos_ >= b_.size()) return InvalidArgument(std::string("meter state: ends before '") + field + "'");
    return static_cast<uint8_t>(b_[pos_++]);
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

}  // namespace

std::string MeterState::Encode() const {
  std::string out;
  out.reserve(64 + 16 * (below.size() + above.size()));
  out.push_back(static_cast<char>(kStateFormat));
  const uint8_t present = (last ? 1 : 0) | (before_last ? 2 : 0) | (t2 ? 4 : 0) | (t1 ? 8 : 0) | (period_base ? 16 : 0) |
                          (learned_peak != 0 ? 32 : 0);
  out.push_back(static_cast<char>(present));
  if (last) PutPoint(out, *last);
  if (before_last) PutPoint(out, *before_last);
  if (t2) PutF64(out, *t2);
  if (t1) PutF64(out, *t1);
  PutI64(out, period_start);
  PutI64(out, period_end);
  if (period_base) PutF64(out, *period_base);
  if (learned_peak != 0) PutI64(out, static_cast<int64_t>(learned_peak));
  out.push_back(static_cast<char>(std::min<size_t>(below.size(), 255)));
  for (size_t i = 0; i < below.size() && i < 255; ++i) PutPoint(out, below[i]);
  out.push_back(static_cast<char>(std::min<size_t>(above.size(), 255)));
  for (size_t i = 0; i < above.size() && i < 255; ++i) PutPoint(out, above[i]);
  return out;
}

Result<MeterState> MeterState::Decode(std::string_view bytes) {
  if (!bytes.empty() && bytes.front() == '{') return FromLegacyJson(bytes);
  StateReader r(bytes);
  MH_ASSIGN_OR_RETURN(uint8_t format, r.Byte("format"));
  if (format != kStateFormat) return InvalidArgument("meter state: unknown format " + std::to_string(format));
  MH_ASSIGN_OR_RETURN(uint8_t present, r.Byte("fields"));
  MeterState s;
  if (present & 1) { MH_ASSIGN_OR_RETURN(s.last, r.Pt("last")); }
  if (present & 2) { MH_ASSIGN_OR_RETURN(s.before_last, r.Pt("before_last")); }
  if (present & 4) { MH_ASSIGN_OR_RETURN(s.t2, r.F64("t2")); }
  if (present & 8) { MH_ASSIGN_OR_RETURN(s.t1, r.F64("t1")); }
  MH_ASSIGN_OR_RETURN(s.period_start, r.I64("period_start"));
  MH_ASSIGN_OR_RETURN(s.period_end, r.I64("period_end"));
  if (present & 16) { MH_ASSIGN_OR_RETURN(s.period_base, r.F64("period_base")); }
  if (present & 32) {
    MH_ASSIGN_OR_RETURN(int64_t fp, r.I64("learned_peak"));
    s.learned_peak = static_cast<uint64_t>(fp);
  }
  for (std::vector<Point>* list : {&s.below, &s.above}) {
    MH_ASSIGN_OR_RETURN(uint8_t n, r.Byte(list == &s.below ? "below" : "above"));
    for (int i = 0; i < n; ++i) {
      MH_ASSIGN_OR_RETURN(Point p, r.Pt("point"));
      list->push_back(p);
    }
  }
  if (!r.done()) return InvalidArgument("meter state: trailing bytes");
  return s;
}

// ---------------------------------------------------------------------------------------------
// SPEC 1.1 checks 1–4.

int64_t SameTimeLastPeriod(int64_t ts, PeriodKind kind, const TimeZone& tz) {
  // Local wall-clock time: across a DST change "yesterday at 10:00" is 23 or 25 hours back.
  const int64_t local = ts + tz.OffsetAt(ts);
  if (kind == PeriodKind::kDay) return tz.ToUtc(local - 86400);
  if (kind == PeriodKind::kWeek) return tz.ToUtc(local - 7 * 86400);
  const int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  const int64_t second_of_day = local - days * 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  int py = m == 1 ? y - 1 : y;
  unsigned pm = m == 1 ? 12 : m - 1;
  unsigned pd = d;
  while (pd > 28 && !IsValidCivilTime(py, static_cast<int>(pm), static_cast<int>(pd), 0, 0, 0)) --pd;
  return tz.ToUtc(DaysFromCivil(py, pm, pd) * 86400 + second_of_day);
}

Judgement Judge(const MeterState& state, const Reading& r, const MeterParams& meter, const Options& options,
                bool use_t2, const Point* period_ago) {
  Judgement j;
  if (!r.value || !std::isfinite(*r.value)) {
    j.verdict = Verdict::kNull;
    j.reason = r.raw_value.empty() ? "value missing" : "value not a number: '" + r.raw_value + "'";
    return j;
  }
  const double v = *r.value;
  if (!state.last) {
    j.first = true;
    return j;
  }
  const Point& p = *state.last;
  double d = v - p.value;
  if (d < 0 && IsRollover(p.value, v, meter)) {
    d = v + *meter.register_max - p.value;
    j.rollover = true;
  } else if (v == 0 && p.value > 0) {
    j.verdict = Verdict::kNull;
    j.reason = "0 while accepted " + At(p);
    return j;
  }
  if (d < 0) {
    // Tolerance compared with a little slack: 634.001 − 634.002 is not exactly −0.001 in binary.
    const double tol = options.negative_tolerance;
    if (tol > 0 && d >= -(tol + 1e-9 * std::max(1.0, std::abs(p.value)))) {
      j.jitter = true;
      j.consumption = 0;
      return j;
    }
    j.verdict = Verdict::kError;
    j.reason = "d=" + Num(d) + " < 0 against accepted " + At(p);
    return j;
  }
  const int64_t k = Intervals(p.ts, r.ts, meter.interval_s);
  if (use_t2 && state.t2 && Above(d, static_cast<double>(k) * *state.t2)) {
    j.verdict = Verdict::kSudden;
    j.reason = "d=" + Num(d) + " > " + std::to_string(k) + " x T2=" + Num(*state.t2) + " against accepted " + At(p);
    return j;
  }
  if (options.max_interval_consumption > 0 && Above(d, static_cast<double>(k) * options.max_interval_consumption)) {
    j.verdict = Verdict::kSudden;
    j.reason = "d=" + Num(d) + " > " + std::to_string(k) + " x max_interval_consumption=" +
               Num(options.max_interval_consumption) + " against accepted " + At(p);
    return j;
  }
  // The seed's "same time last period" check: the third difference against the accepted reading
  // one period earlier spans one whole period, so the learned T1 (the most a peak period used)
  // bounds it.
  if (use_t2 && options.same_period_coefficient > 0 && period_ago != nullptr && state.t1 && !j.rollover) {
    const double d3 = v - period_ago->value;
    const double limit = options.same_period_coefficient * *state.t1;
    if (Above(d3, limit)) {
      j.verdict = Verdict::kSudden;
      j.reason = "d3=" + Num(d3) + " > " + Num(options.same_period_coefficient) + " x T1=" + Num(*state.t1) +
                 " against accepted " + At(*period_ago) + " one period earlier";
      return j;
    }
  }
  j.consumption = d;
  return j;
}

// ---------------------------------------------------------------------------------------------
// State transitions and reset / spike detection.

namespace {

// Accepts `run` as the register's new series after old_p: the first reading counts no
// consumption (the register jumped, down or up, without energy flowing), the rest their steps.
void Rebase(MeterState& state, const std::vector<Point>& run, const Point& old_p, const MeterParams& meter,
            const Options& options, ResetOutcome* out) {
  const double shift = old_p.value - run.front().value;
  if (state.period_base) *state.period_base -= shift;
  Point prev{old_p.ts, run.front().value};
  state.last.reset();
  state.before_last.reset();
  for (size_t i = 0; i < run.size(); ++i) {
    const Point& f = run[i];
    out->reaccepted.emplace_back(f, i == 0 ? 0.0 : f.value - prev.value);
    TrackPeriod(state, f, &prev, meter, options);
    state.before_last = state.last;
    state.last = f;
    prev = f;
  }
}

// The per-interval ceiling that made readings `sudden`: the smaller of T2 and the physical one.
std::optional<double> PerIntervalLimit(const MeterState& state, const Options& options) {
  std::optional<double> limit = state.t2;
  if (options.max_interval_consumption > 0 && (!limit || options.max_interval_consumption < *limit))
    limit = options.max_interval_consumption;
  return limit;
}

// [beyond] A run of `sudden` readings is not always a spike. When reset_after of them in a row
// keep rising, the seed's rule would leave p where it was for good (each later reading is further
// above it), quarantining a whole day of real use — a forgotten heater's day would raise no alert.
// If every step inside the run is itself above the per-interval limit, the load really is that
// high: accept the run. If the steps are normal, the register jumped once: rebase at the jump.
ResetOutcome AdvanceAbove(MeterState& state, const Reading& r, const MeterParams& meter, const Options& options) {
  ResetOutcome out;
  if (options.reset_after <= 0 || !state.last || !r.value) return out;
  const Point cur{r.ts, *r.value};
  if (!state.above.empty() && cur.value < state.above.back().value) state.above.clear();
  state.above.push_back(cur);
  if (static_cast<int>(state.above.size()) < options.reset_after) return out;
  std::vector<Point> run = std::move(state.above);
  state.above.clear();
  const Point old_p = *state.last;
  const std::optional<double> limit = PerIntervalLimit(state, options);
  bool steps_high = run.size() > 1;
  for (size_t i = 1; i < run.size(); ++i) {
    double step = run[i].value - run[i - 1].value;
    double k = static_cast<double>(Intervals(run[i - 1].ts, run[i].ts, meter.interval_s));
    if (!limit || step <= k * *limit * (1 + 1e-9)) steps_high = false;
  }
  if (steps_high) {
    out.kind = ResetOutcome::kSustainedLoad;
    Point prev = old_p;
    for (const Point& f : run) {
      out.reaccepted.emplace_back(f, f.value - prev.value);
      TrackPeriod(state, f, &prev, meter, options);
      state.before_last = state.last;
      state.last = f;
      prev = f;
    }
    out.detail = "sustained load: " + std::to_string(run.size()) + " rising readings from " + At(run.front()) +
                 ", each step above the per-interval limit, after accepted " + At(old_p) + "; accepted, p = " +
                 At(*state.last);
    return out;
  }
  out.kind = ResetOutcome::kRegisterStep;
  Rebase(state, run, old_p, meter, options, &out);
  out.detail = "register step: jump from accepted " + At(old_p) + " to " + At(run.front()) + ", then " +
               std::to_string(run.size() - 1) + " readings at a normal rate; rebased, p = " + At(*state.last);
  return out;
}

}  // namespace

ResetOutcome Advance(MeterState& state, const Reading& r, const Judgement& j, const MeterParams& meter,
                     const Options& options) {
  ResetOutcome out;
  if (j.verdict == Verdict::kOk) {
    state.below.clear();
    state.above.clear();
    if (!j.jitter) {
      state.before_last = state.last;
      state.last = Point{r.ts, *r.value};
    }
    return out;
  }
  if (j.verdict == Verdict::kSudden) {
    // The register is above p: it did not stay below it.
    state.below.clear();
    return AdvanceAbove(state, r, meter, options);
  }
  if (j.verdict == Verdict::kError) state.above.clear();
  if (j.verdict != Verdict::kError || options.reset_after <= 0 || !state.last || !r.value) return out;

  // Consecutive readings below p, mutually consistent (non-decreasing among themselves).
  const Point cur{r.ts, *r.value};
  if (!state.below.empty() && cur.value < state.below.back().value) state.below.clear();
  state.below.push_back(cur);
  if (static_cast<int>(state.below.size()) < options.reset_after) return out;

  std::vector<Point> run = std::move(state.below);
  state.below.clear();
  const Point old_p = *state.last;

  if (state.before_last && run.front().value >= state.before_last->value) {
    // p was an undetected spike: the followers continue the series from before it.
    const Point back_to = *state.before_last;
    out.kind = ResetOutcome::kSpike;
    out.requarantined = old_p;
    if (state.period_base && old_p.ts <= state.period_start) state.period_base = back_to.value;
    state.last = back_to;
    state.before_last.reset();
    int kept_out = 0;
    for (const Point& f : run) {
      Judgement fj = Judge(state, AsReading(f), meter, options);
      if (fj.verdict != Verdict::kOk) {
        ++kept_out;
        continue;
      }
      out.reaccepted.emplace_back(f, fj.consumption);
      if (fj.jitter) continue;
      const Point prev = *state.last;
      TrackPeriod(state, f, &prev, meter, options);
      state.before_last = state.last;
      state.last = f;
    }
    out.detail = "spike: accepted " + At(old_p) + " was an undetected spike; " + std::to_string(run.size()) +
                 " readings from " + At(run.front()) + " continue the series from " + At(back_to) +
                 "; moved it to quarantine as sudden, re-accepted " + std::to_string(out.reaccepted.size());
    if (kept_out > 0) out.detail += ", " + std::to_string(kept_out) + " stay quarantined";
    return out;
  }

  // Meter exchange or reset: the register restarted; rebase so consumption continues from p.
  out.kind = ResetOutcome::kMeterReset;
  Rebase(state, run, old_p, meter, options, &out);
  out.detail = "meter reset: " + std::to_string(run.size()) + " consecutive readings below accepted " + At(old_p) +
               ", restarting at " + At(run.front()) + "; rebased, p = " + At(*state.last);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Thresholds.

std::vector<double> PeakDifferences(const std::vector<Point>& accepted_peak, int64_t interval_s) {
  std::vector<double> out;
  for (size_t i = 1; i < accepted_peak.size(); ++i) {
    const Point& a = accepted_peak[i - 1];
    const Point& b = accepted_peak[i];
    out.push_back((b.value - a.value) / static_cast<double>(Intervals(a.ts, b.ts, interval_s)));
  }
  return out;
}

void T2Learner::Add(const Point& p) {
  last_had_diff_ = false;
  if (last_) {
    const double d = (p.value - last_->value) / static_cast<double>(Intervals(last_->ts, p.ts, interval_s_));
    max_before_ = max_;
    max_ = n_ == 0 ? d : std::max(max_, d);
    ++n_;
    if (quantile_ < 1.0) diffs_.push_back(d);
    last_had_diff_ = true;
  }
  prev_last_ = last_;
  last_ = p;
  can_undo_ = true;
}

void T2Learner::Undo() {
  if (!can_undo_) return;
  can_undo_ = false;
  last_ = prev_last_;
  prev_last_.reset();
  if (last_had_diff_) {
    max_ = max_before_;
    --n_;
    if (quantile_ < 1.0) diffs_.pop_back();
  }
}

std::optional<double> T2Learner::Threshold(double spike_coefficient) const {
  if (n_ == 0) return std::nullopt;
  double m = max_;
  if (quantile_ < 1.0) {
    std::vector<double> sorted = diffs_;
    std::sort(sorted.begin(), sorted.end());
    const double q = std::max(0.0, quantile_);
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    m = sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
  }
  if (!(m > 0)) return std::nullopt;
  return m * spike_coefficient;
}

std::optional<double> LearnT2(const std::vector<Point>& accepted_peak, int64_t interval_s, const Options& options,
                              const Peak* peak) {
  T2Learner learner(interval_s, options.t2_quantile);
  std::optional<PeakPeriod> run;
  for (const Point& p : accepted_peak) {
    if (peak != nullptr) {
      std::optional<PeakPeriod> occurrence = peak->OccurrenceOf(p.ts);
      if (occurrence != run) learner.Break();
      run = occurrence;
    }
    learner.Add(p);
  }
  return learner.Threshold(options.spike_coefficient);
}

void T1Learner::Add(const Point& p) {
  undo_ = s_;
  const Period per = PeriodOf(p.ts, kind_, tz_);
  if (!s_.has_cur || per != s_.cur) {
    if (s_.has_cur && Inside(s_.cur) && s_.base && s_.last) {
      const double c = *s_.last - *s_.base;
      s_.completed_max = s_.completed_max ? std::max(*s_.completed_max, c) : c;
    }
    s_.cur = per;
    s_.has_cur = true;
    s_.last.reset();
    if (s_.last_point && s_.last_point->ts <= per.start) {
      s_.base = s_.last_point->value;
    } else {
      s_.base.reset();
    }
  }
  s_.last = p.value;
  s_.last_point = p;
}

std::optional<double> T1Learner::Threshold(double alert_coefficient) const {
  std::optional<double> m = s_.completed_max;
  if (s_.has_cur && Inside(s_.cur) && s_.base && s_.last) {
    const double c = *s_.last - *s_.base;
    m = m ? std::max(*m, c) : c;
  }
  if (!m) return std::nullopt;
  return *m * alert_coefficient;
}

std::optional<double> LearnT1(const std::vector<Point>& accepted, const Peak& peak, PeriodKind kind,
                              const TimeZone& tz, const Options& options) {
  T1Learner learner(peak, kind, tz);
  const std::optional<int64_t> last_end = peak.LastEnd();
  for (const Point& p : accepted) {
    if (last_end && p.ts > *last_end) break;
    learner.Add(p);
  }
  return learner.Threshold(options.alert_coefficient);
}

// ---------------------------------------------------------------------------------------------
// SPEC 1.2: consumption over the target period.

std::optional<PeriodCheck> CheckPeriod(MeterState& state, const Point& r, const Point* previous_p,
                                       const MeterParams& meter, const Options& options) {
  if (!TrackPeriod(state, r, previous_p, meter, options)) return std::nullopt;
  if (!state.period_base) return std::nullopt;
  // A reading accepted as jitter is below p, which keeps the higher value: measure from p.
  double value = r.value;
  if (state.last && state.last->ts <= r.ts && state.last->value > value) value = state.last->value;
  PeriodCheck c;
  c.period = Period{state.period_start, state.period_end};
  c.consumption = value - *state.period_base;
  if (c.consumption < 0 && meter.register_max && *meter.register_max > 0) c.consumption += *meter.register_max;
  c.t1 = meter.customer_t1 ? meter.customer_t1 : state.t1;
  c.exceeded = c.t1.has_value() && Above(c.consumption, *c.t1);
  return c;
}

std::string DescribePoint(const Point& p) { return Num(p.value) + " at " + FormatIsoUtc(p.ts); }

}  // namespace mh::vee
