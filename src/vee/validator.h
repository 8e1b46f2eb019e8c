// Validation of every reading against the meter's last accepted reading p (SPEC 1.1, seed 003
// claims 1, 3–6): null / error / sudden / ok, with rollover, gaps, negative tolerance, the
// physical ceiling and reset/spike detection. Pure domain logic: no store, no transport.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/reading.h"
#include "vee/options.h"

namespace mh::vee {

struct Point {
  int64_t ts = 0;
  double value = 0;
  bool operator==(const Point&) const = default;
};

// "203 at 2020-10-29T15:00:00Z": how reasons and audit texts name a reading.
std::string DescribePoint(const Point& p);

// Everything validation and alerting remember about one meter between readings.
struct MeterState {
  std::optional<Point> last;              // p: the last accepted reading
  std::optional<Point> before_last;       // the accepted reading before p (spike re-judgement)
  std::optional<double> t2;               // sudden-change threshold, once learned
  std::optional<double> t1;               // learned first threshold (a customer's T1 wins over it)
  // PeakFingerprint of the peak spans t1/t2 were learned from (0 = none): the daemon relearns when
  // the spans in force differ (a new range ended, or the meter's peak definition changed).
  uint64_t learned_peak = 0;
  // Target-period tracking (SPEC 1.2): the period of p and the last accepted reading at or
  // before its start (the base its consumption is measured from).
  int64_t period_start = 0;
  int64_t period_end = 0;
  std::optional<double> period_base;
  // Reset detection: consecutive readings below p since p was accepted (bounded by reset_after).
  std::vector<Point> below;
  // Consecutive rising `sudden` readings since p (bounded by reset_after): a sustained load or a
  // register step rather than a spike, once there are reset_after of them.
  std::vector<Point> above;

  // Compact binary form, persisted with every commit that changes it (docs/storage.md).
  std::string Encode() const;
  // Reads Encode()'s bytes, or the JSON form stores of schema 3 and before hold.
  static Result<MeterState> Decode(std::string_view bytes);
};

struct Judgement {
  Verdict verdict = Verdict::kOk;
  double consumption = 0;   // ok: r − p (with rollover: r + max − p; jitter: 0); first reading: 0
  bool first = false;       // the meter's first reading
  bool rollover = false;
  bool jitter = false;      // accepted within negative_tolerance: p keeps the higher value
  std::string reason;       // why an abnormal verdict, with the numbers ("d=-5 < 0 ...")
};

// SPEC 1.1 checks 1–4 for reading r against state (pure: changes nothing). `use_t2` = false
// judges with checks 1–2 only (the offline tool's learning pass). `period_ago` is the accepted
// reading at the same time one target period earlier (SamePeriodPoint), for the optional "same
// time last period" check (options.same_period_coefficient > 0, with T1 learned).
Judgement Judge(const MeterState& state, const Reading& r, const MeterParams& meter, const Options& options,
                bool use_t2 = true, const Point* period_ago = nullptr);

// The same local wall-clock time one target period before ts (day: the day before, week: 7 days
// before, month: the same day of the previous month, clamped to its length), in the zone tz.
int64_t SameTimeLastPeriod(int64_t ts, PeriodKind kind, const TimeZone& tz);
// Whether an accepted reading at `candidate` stands for the time `ago`: at it or less than one
// nominal interval before it.
inline bool StandsFor(int64_t candidate, int64_t ago, int64_t interval_s) {
  return candidate <= ago && candidate > ago - interval_s;
}

// Result of reset/spike detection after an abnormal `error` reading (reset_after > 0).
struct ResetOutcome {
  // kMeterReset: readings restarted below p (exchange / reset): rebased.
  // kSpike: p itself was an undetected spike.
  // kSustainedLoad: reset_after rising readings each above the per-interval threshold: the load
  //   really is that high (a heater left on): all accepted, their consumption counted.
  // kRegisterStep: one jump, then a normal rate: the register was stepped; rebased at the jump.
  enum Kind { kNone, kMeterReset, kSpike, kSustainedLoad, kRegisterStep } kind = kNone;
  // kSpike: p itself was the spike; it is moved to the quarantine as `sudden`.
  std::optional<Point> requarantined;
  // Readings formerly quarantined as `error` that are now accepted, in order, with consumption.
  std::vector<std::pair<Point, double>> reaccepted;
  std::string detail;  // human-readable audit trail of the edit
};

// Moves the state forward for reading r given its judgement: an ok reading becomes p (unless it
// is jitter); an `error` reading feeds reset detection and a `sudden` one sustained-rise
// detection (both only with reset_after > 0), which may re-judge earlier readings (returned).
ResetOutcome Advance(MeterState& state, const Reading& r, const Judgement& j, const MeterParams& meter,
                     const Options& options);

// Per-interval second differences (claim 5): for adjacent accepted peak readings, the difference
// divided by the number of nominal intervals between them (rounded, >= 1).
std::vector<double> PeakDifferences(const std::vector<Point>& accepted_peak, int64_t interval_s);

// T2 = max (or the t2_quantile quantile) of PeakDifferences × spike_coefficient; nullopt when
// fewer than two peak readings, or when that max is not positive (a T2 of 0 would make every
// later consumption sudden, and p would never move again). Seed example: 103,108,110,115,123,129 → 8 × 1.3 = 10.4.
// With `peak`, only readings of the same occurrence of a range are paired (the span between two
// ranges is not peak consumption).
std::optional<double> LearnT2(const std::vector<Point>& accepted_peak, int64_t interval_s, const Options& options,
                              const Peak* peak = nullptr);

// T1 (claim 2): the peak period cut into target-period sub-periods aligned to the calendar of
// tz; consumption in each = last accepted reading in it − last accepted reading at or
// before its start (skipped when either is missing); T1 = max × alert_coefficient.
// `accepted` holds the meter's accepted readings in time order and must include the last one at
// or before the peak start when there is one. Seed example: 88,103,92,89,83 → 103.
std::optional<double> LearnT1(const std::vector<Point>& accepted, const Peak& peak, PeriodKind kind,
                              const TimeZone& tz, const Options& options);

// Streaming forms of LearnT2 / LearnT1 for one pass over a meter's accepted readings in time
// order, in constant memory (the offline tool feeds 10^7 rows through them). LearnT2 and LearnT1
// are built on them, so both give identical thresholds. Undo() takes back the last Add() (one
// level): a reading later re-judged as a spike (reset detection) must not teach the thresholds.
class T2Learner {
 public:
  T2Learner(int64_t interval_s, double quantile = 1.0) : interval_s_(interval_s), quantile_(quantile) {}
  void Add(const Point& p);
  void Undo();
  // The next reading starts a new run: it is not paired with the last one (a new peak range).
  void Break() {
    last_.reset();
    can_undo_ = false;
  }
  // max (or quantile) difference × coefficient; nullopt before two readings, or when no reading
  // ever advanced (a T2 of 0 would call every later consumption sudden).
  std::optional<double> Threshold(double spike_coefficient) const;

 private:
  int64_t interval_s_;
  double quantile_;
  std::optional<Point> last_, prev_last_;
  double max_ = 0, max_before_ = 0;
  int64_t n_ = 0;
  bool last_had_diff_ = false, can_undo_ = false;
  std::vector<double> diffs_;  // only for quantile < 1
};

class T1Learner {
 public:
  T1Learner(const Peak& peak, PeriodKind kind, const TimeZone& tz) : peak_(peak), kind_(kind), tz_(tz) {}
  // Readings outside the peak only serve as the base of the first sub-period.
  void Add(const Point& p);
  void Undo() { s_ = undo_; }
  std::optional<double> Threshold(double alert_coefficient) const;

 private:
  struct S {
    std::optional<double> completed_max;  // over finished sub-periods
    Period cur;
    bool has_cur = false;
    std::optional<double> base, last;
    std::optional<Point> last_point;
  };
  bool Inside(const Period& p) const { return peak_.Covers(p.start, p.end); }
  Peak peak_;
  PeriodKind kind_;
  TimeZone tz_;
  S s_, undo_;
};

// The target-period check after an accepted reading (SPEC 1.2).
struct PeriodCheck {
  Period period;
  double consumption = 0;   // current reading − period base
  std::optional<double> t1; // in force: customer's, else learned
  bool exceeded = false;    // consumption > t1
};

// Updates the period tracking of `state` for the accepted reading r (call after Advance) and
// returns the check; nullopt when the period has no base yet (the meter's first period).
std::optional<PeriodCheck> CheckPeriod(MeterState& state, const Point& r, const Point* previous_p,
                                       const MeterParams& meter, const Options& options);

}  // namespace mh::vee
