// The seed's worked examples (003, the 29 October 2020 readings, the peak readings 103…129 and
// the monthly peak consumptions 88…103) as exact tests, then the [beyond] rules of SPEC 1.1.
#include "vee/validator.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace mh::vee {
namespace {

constexpr int64_t kHour = 3600;
const TimeZone kCst = TimeZone::Fixed(8 * 3600);  // UTC+8, the seed's zone

int64_t Ts(const char* iso) {
  auto r = ParseTimestamp(iso);
  EXPECT_TRUE(r.ok()) << iso;
  return r.ok() ? *r : 0;
}

Reading R(int64_t ts, std::optional<double> v) {
  Reading r;
  r.meter_id = "M1";
  r.ts = ts;
  r.value = v;
  return r;
}

MeterParams Hourly() {
  MeterParams m;
  m.interval_s = kHour;
  m.tz = kCst;
  return m;
}

// The lead's per-reading pipeline: Judge → Advance → CheckPeriod (if ok), alerts with a limit.
struct Pipeline {
  MeterParams meter = Hourly();
  Options options;
  MeterState state;
  std::vector<ResetOutcome> outcomes;
  std::vector<PeriodCheck> checks;
  int alerts = 0;
  int64_t alert_period = -1;
  int alerts_in_period = 0;

  Judgement Feed(int64_t ts, std::optional<double> v) {
    Reading r = R(ts, v);
    Judgement j = Judge(state, r, meter, options);
    std::optional<Point> prev = state.last;
    ResetOutcome o = Advance(state, r, j, meter, options);
    if (o.kind != ResetOutcome::kNone) outcomes.push_back(o);
    if (j.verdict == Verdict::kOk) {
      auto c = CheckPeriod(state, Point{ts, *v}, prev ? &*prev : nullptr, meter, options);
      if (c) {
        checks.push_back(*c);
        if (c->exceeded) {
          if (c->period.start != alert_period) {
            alert_period = c->period.start;
            alerts_in_period = 0;
          }
          if (alerts_in_period < options.max_alerts_per_period) {
            ++alerts_in_period;
            ++alerts;
          }
        }
      }
    }
    return j;
  }
};

// --- seed worked examples -------------------------------------------------------------------

TEST(Validator, SeedFirstDifference203After200IsOk) {
  MeterState s;
  s.last = Point{Ts("2020-10-29T14:00:00+08:00"), 200};
  Judgement j = Judge(s, R(Ts("2020-10-29T15:00:00+08:00"), 203), Hourly(), Options{});
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_DOUBLE_EQ(j.consumption, 3);
  EXPECT_FALSE(j.first);
}

TEST(Validator, SeedFirstDifference203After208IsError) {
  MeterState s;
  s.last = Point{Ts("2020-10-29T14:00:00+08:00"), 208};
  Judgement j = Judge(s, R(Ts("2020-10-29T15:00:00+08:00"), 203), Hourly(), Options{});
  EXPECT_EQ(j.verdict, Verdict::kError);
  EXPECT_NE(j.reason.find("d=-5"), std::string::npos) << j.reason;
}

TEST(Validator, SeedPeakDifferencesAndT2) {
  std::vector<Point> peak;
  int64_t t = Ts("2020-07-01T01:00:00+08:00");
  for (double v : {103.0, 108.0, 110.0, 115.0, 123.0, 129.0}) {
    peak.push_back({t, v});
    t += kHour;
  }
  std::vector<double> d = PeakDifferences(peak, kHour);
  EXPECT_EQ(d, (std::vector<double>{5, 2, 5, 8, 6}));
  auto t2 = LearnT2(peak, kHour, Options{});
  ASSERT_TRUE(t2.has_value());
  EXPECT_NEAR(*t2, 10.4, 1e-9);  // 8 × 1.3
}

TEST(Validator, SeedMonthlyPeakConsumptionsGiveT1) {
  // Peak period 2020-06-01 … 2020-10-31 (+08:00), monthly target period. A reading at a month's
  // first 00:00 closes the previous month; consumptions 88, 103, 92, 89, 83.
  PeakPeriod peak{Ts("2020-06-01T00:00:00+08:00"), Ts("2020-11-01T00:00:00+08:00")};
  std::vector<Point> acc;
  double reg = 1000;
  acc.push_back({Ts("2020-06-01T00:00:00+08:00"), reg});  // the last one at or before the peak start
  const char* ends[] = {"2020-07-01T00:00:00+08:00", "2020-08-01T00:00:00+08:00", "2020-09-01T00:00:00+08:00",
                        "2020-10-01T00:00:00+08:00", "2020-11-01T00:00:00+08:00"};
  const double use[] = {88, 103, 92, 89, 83};
  for (int m = 0; m < 5; ++m) {
    int64_t end = Ts(ends[m]);
    acc.push_back({end - 15 * 86400, reg + use[m] / 2});  // mid-month
    reg += use[m];
    acc.push_back({end, reg});
  }
  acc.push_back({Ts("2020-11-15T00:00:00+08:00"), reg + 500});  // after the peak: ignored
  auto t1 = LearnT1(acc, peak, PeriodKind::kMonth, kCst, Options{});
  ASSERT_TRUE(t1.has_value());
  EXPECT_DOUBLE_EQ(*t1, 103);
  Options o;
  o.alert_coefficient = 1.2;
  EXPECT_NEAR(*LearnT1(acc, peak, PeriodKind::kMonth, kCst, o), 123.6, 1e-9);
}

TEST(Validator, T1SkipsSubPeriodsWithoutBase) {
  // No reading at or before the peak start: June has no base and is skipped.
  PeakPeriod peak{Ts("2020-06-01T00:00:00+08:00"), Ts("2020-08-01T00:00:00+08:00")};
  std::vector<Point> acc = {{Ts("2020-06-10T00:00:00+08:00"), 0},
                            {Ts("2020-07-01T00:00:00+08:00"), 500},
                            {Ts("2020-08-01T00:00:00+08:00"), 540}};
  EXPECT_DOUBLE_EQ(*LearnT1(acc, peak, PeriodKind::kMonth, kCst, Options{}), 40);
  EXPECT_FALSE(LearnT1({}, peak, PeriodKind::kMonth, kCst, Options{}).has_value());
}

TEST(Validator, T2NeedsTwoReadingsAndSomeConsumption) {
  EXPECT_FALSE(LearnT2({{0, 5}}, kHour, Options{}).has_value());
  EXPECT_FALSE(LearnT2({{0, 5}, {kHour, 5}}, kHour, Options{}).has_value());
}

TEST(Validator, T2RobustQuantile) {
  std::vector<Point> peak;
  for (int i = 0; i <= 100; ++i) peak.push_back({i * kHour, i == 100 ? 1000.0 + i : static_cast<double>(i)});
  Options o;
  o.spike_coefficient = 1.0;
  EXPECT_NEAR(*LearnT2(peak, kHour, o), 1001, 1e-9);  // 1100 − 99
  o.t2_quantile = 0.99;  // 100 differences: the 99th is 1
  EXPECT_NEAR(*LearnT2(peak, kHour, o), 1, 1e-9);
}

TEST(Validator, AlertLimitPerPeriod) {
  Pipeline p;
  p.state.t1 = 10;
  int64_t t = Ts("2020-10-29T00:00:00+08:00");
  p.Feed(t, 100);                    // closes 10-28: first reading, no base for 10-28
  p.Feed(t + 1 * kHour, 105);        // 10-29: 5
  p.Feed(t + 2 * kHour, 111);        // 11 > 10: alert
  EXPECT_EQ(p.alerts, 1);
  p.Feed(t + 3 * kHour, 115);        // 15 > 10: limit 1 reached, no alert
  EXPECT_EQ(p.alerts, 1);
  EXPECT_TRUE(p.checks.back().exceeded);
  EXPECT_DOUBLE_EQ(p.checks.back().consumption, 15);
  p.Feed(t + 24 * kHour, 120);       // 10-30T00:00 still closes 10-29: 20, no alert
  EXPECT_EQ(p.alerts, 1);
  p.Feed(t + 25 * kHour, 131);       // 10-30: 131 − 120 = 11 > 10: alerts again
  EXPECT_EQ(p.alerts, 2);
  EXPECT_DOUBLE_EQ(p.checks.back().consumption, 11);
  EXPECT_EQ(p.checks.back().period.start, Ts("2020-10-30T00:00:00+08:00"));
}

TEST(Validator, CustomerT1Wins) {
  Pipeline p;
  p.state.t1 = 100;
  p.meter.customer_t1 = 3;
  int64_t t = Ts("2020-10-29T00:00:00+08:00");
  p.Feed(t, 100);
  p.Feed(t + kHour, 104);
  ASSERT_FALSE(p.checks.empty());
  EXPECT_EQ(p.checks.back().t1, 3);
  EXPECT_TRUE(p.checks.back().exceeded);
}

TEST(Validator, PeriodBoundaryMidnightClosesPreviousDay) {
  MeterParams m = Hourly();
  Options o;
  MeterState s;
  s.t1 = 5;
  Point a{Ts("2020-10-28T23:00:00+08:00"), 10};
  Point b{Ts("2020-10-29T00:00:00+08:00"), 12};  // belongs to 10-28
  Point c{Ts("2020-10-29T01:00:00+08:00"), 19};  // 10-29, base = b
  EXPECT_FALSE(CheckPeriod(s, a, nullptr, m, o).has_value());  // first: no base
  auto cb = CheckPeriod(s, b, &a, m, o);
  EXPECT_FALSE(cb.has_value());  // same day as a, whose base is unknown
  EXPECT_EQ(s.period_start, Ts("2020-10-28T00:00:00+08:00"));
  EXPECT_EQ(s.period_end, Ts("2020-10-29T00:00:00+08:00"));
  auto cc = CheckPeriod(s, c, &b, m, o);
  ASSERT_TRUE(cc.has_value());
  EXPECT_EQ(cc->period.start, Ts("2020-10-29T00:00:00+08:00"));
  EXPECT_DOUBLE_EQ(cc->consumption, 7);
  EXPECT_TRUE(cc->exceeded);
  EXPECT_EQ(*cc->t1, 5);
  // Same in UTC: 2020-10-29T00:00+08:00 is 10-28T16:00Z, inside the UTC day 10-28.
  m.tz = TimeZone::Fixed(0);
  MeterState u;
  CheckPeriod(u, b, nullptr, m, o);
  EXPECT_EQ(u.period_start, Ts("2020-10-28T00:00:00Z"));
}

TEST(Validator, WeekStartsMonday) {
  MeterParams m = Hourly();
  Options o;
  o.period = PeriodKind::kWeek;
  MeterState s;
  CheckPeriod(s, Point{Ts("2020-10-29T15:00:00+08:00"), 1}, nullptr, m, o);  // a Thursday
  EXPECT_EQ(s.period_start, Ts("2020-10-26T00:00:00+08:00"));
  EXPECT_EQ(s.period_end, Ts("2020-11-02T00:00:00+08:00"));
}

// --- check 1: null ---------------------------------------------------------------------------

TEST(Validator, NullForMissingNaNAndZero) {
  MeterState s;
  MeterParams m = Hourly();
  Options o;
  Reading missing = R(100, std::nullopt);
  missing.raw_value = "E#";
  EXPECT_EQ(Judge(s, missing, m, o).verdict, Verdict::kNull);  // even as the first reading
  EXPECT_NE(Judge(s, missing, m, o).reason.find("E#"), std::string::npos);
  EXPECT_EQ(Judge(s, R(100, std::numeric_limits<double>::quiet_NaN()), m, o).verdict, Verdict::kNull);
  Judgement first_zero = Judge(s, R(100, 0.0), m, o);
  EXPECT_EQ(first_zero.verdict, Verdict::kOk);
  EXPECT_TRUE(first_zero.first);
  s.last = Point{100, 5};
  EXPECT_EQ(Judge(s, R(200, 0.0), m, o).verdict, Verdict::kNull);
  s.last = Point{100, 0};
  EXPECT_EQ(Judge(s, R(200, 0.0), m, o).verdict, Verdict::kOk);  // 0 after 0 is no change
}

TEST(Validator, FirstReadingIsOkWithZeroConsumption) {
  Pipeline p;
  Judgement j = p.Feed(1000, 42.5);
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_TRUE(j.first);
  EXPECT_EQ(j.consumption, 0);
  EXPECT_EQ(p.state.last, (Point{1000, 42.5}));
}

TEST(Validator, AbnormalReadingsNeverBecomeP) {
  Pipeline p;
  p.state.t2 = 10;
  p.Feed(0, 100);
  EXPECT_EQ(p.Feed(kHour, 90).verdict, Verdict::kError);
  EXPECT_EQ(p.Feed(2 * kHour, 150).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(3 * kHour, std::nullopt).verdict, Verdict::kNull);
  EXPECT_EQ(p.state.last, (Point{0, 100}));
  Judgement j = p.Feed(4 * kHour, 120);  // 4 intervals × 10 ≥ 20: ok against 100
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_DOUBLE_EQ(j.consumption, 20);
}

// --- check 3: sudden, gaps, physical ceiling ---------------------------------------------------

TEST(Validator, SuddenScalesWithGap) {
  MeterState s;
  s.t2 = 10.4;
  s.last = Point{0, 100};
  MeterParams m = Hourly();
  Options o;
  EXPECT_EQ(Judge(s, R(kHour, 110.4), m, o).verdict, Verdict::kOk);
  EXPECT_EQ(Judge(s, R(kHour, 110.5), m, o).verdict, Verdict::kSudden);
  // 3 intervals (2 h 40 min rounds to 3): up to 31.2.
  EXPECT_EQ(Judge(s, R(2 * kHour + 40 * 60, 131.0), m, o).verdict, Verdict::kOk);
  EXPECT_EQ(Judge(s, R(3 * kHour, 131.3), m, o).verdict, Verdict::kSudden);
  // Less than half an interval still counts as one.
  EXPECT_EQ(Judge(s, R(60, 110.0), m, o).verdict, Verdict::kOk);
  // The learning pass judges with checks 1–2 only.
  EXPECT_EQ(Judge(s, R(kHour, 500.0), m, o, /*use_t2=*/false).verdict, Verdict::kOk);
}

TEST(Validator, MaxIntervalConsumptionBeforeT2) {
  MeterState s;
  s.last = Point{0, 100};
  MeterParams m;
  m.interval_s = 1800;
  Options o;
  o.max_interval_consumption = 7;  // 60 A × 230 V × 0.5 h ≈ 7 kWh
  EXPECT_EQ(Judge(s, R(1800, 107), m, o).verdict, Verdict::kOk);
  Judgement j = Judge(s, R(1800, 107.5), m, o);
  EXPECT_EQ(j.verdict, Verdict::kSudden);
  EXPECT_NE(j.reason.find("max_interval_consumption"), std::string::npos);
  EXPECT_EQ(Judge(s, R(2 * 1800, 113), m, o).verdict, Verdict::kOk);  // 2 intervals
  // Still applies when T2 is disabled for learning.
  EXPECT_EQ(Judge(s, R(1800, 120), m, o, false).verdict, Verdict::kSudden);
}

// --- check 2: rollover, negative tolerance ----------------------------------------------------

TEST(Validator, RolloverNearRegisterMax) {
  MeterParams m = Hourly();
  m.register_max = 99999.9;
  Options o;
  MeterState s;
  s.last = Point{0, 99998.9};
  Judgement j = Judge(s, R(kHour, 1.5), m, o);
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_TRUE(j.rollover);
  EXPECT_NEAR(j.consumption, 2.5, 1e-9);
  // A rollover landing on exactly 0 is a rollover, not a null.
  EXPECT_EQ(Judge(s, R(kHour, 0.0), m, o).verdict, Verdict::kOk);
  // Not near the top: a plain backward step.
  s.last = Point{0, 50000};
  EXPECT_EQ(Judge(s, R(kHour, 1.5), m, o).verdict, Verdict::kError);
  // No register maximum configured: error.
  s.last = Point{0, 99998.9};
  EXPECT_EQ(Judge(s, R(kHour, 1.5), Hourly(), o).verdict, Verdict::kError);
  // Period consumption across the rollover.
  Pipeline p;
  p.meter.register_max = 99999.9;
  int64_t t = Ts("2020-10-29T00:00:00+08:00");
  p.Feed(t, 99990);
  p.Feed(t + kHour, 99999);
  p.Feed(t + 2 * kHour, 3);
  ASSERT_FALSE(p.checks.empty());
  EXPECT_NEAR(p.checks.back().consumption, 12.9, 1e-9);
  EXPECT_EQ(p.state.last, (Point{t + 2 * kHour, 3}));
}

TEST(Validator, NegativeToleranceOnRealWaterJitter) {
  // DAIAD-style ultrasonic register: 634.002 → 634.001 m³, then onwards.
  Pipeline seed;  // tolerance 0: seed-exact, every reading until 634.002 is passed is an error
  seed.Feed(0, 634.002);
  EXPECT_EQ(seed.Feed(kHour, 634.001).verdict, Verdict::kError);
  EXPECT_EQ(seed.Feed(2 * kHour, 634.001).verdict, Verdict::kError);
  EXPECT_EQ(seed.Feed(3 * kHour, 634.003).verdict, Verdict::kOk);

  Pipeline tol;
  tol.options.negative_tolerance = 0.001;
  tol.Feed(0, 634.002);
  Judgement j = tol.Feed(kHour, 634.001);
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_TRUE(j.jitter);
  EXPECT_EQ(j.consumption, 0);
  EXPECT_EQ(tol.state.last, (Point{0, 634.002}));  // p keeps the higher value
  EXPECT_EQ(tol.Feed(2 * kHour, 634.0).verdict, Verdict::kError);  // −0.002 beyond 0.001
  Judgement k = tol.Feed(3 * kHour, 634.005);
  EXPECT_EQ(k.verdict, Verdict::kOk);
  EXPECT_NEAR(k.consumption, 0.003, 1e-12);  // measured from the kept 634.002
}

// --- reset detection ------------------------------------------------------------------------

TEST(Validator, ResetDetectionOffByDefault) {
  Pipeline p;
  p.Feed(0, 5000);
  for (int i = 1; i <= 10; ++i) EXPECT_EQ(p.Feed(i * kHour, i * 0.5).verdict, Verdict::kError);
  EXPECT_TRUE(p.outcomes.empty());
  EXPECT_TRUE(p.state.below.empty());
}

TEST(Validator, MeterResetRebases) {
  Pipeline p;
  p.options.reset_after = 3;
  p.state.t1 = 1000;
  int64_t t = Ts("2020-10-29T01:00:00+08:00");
  p.Feed(t, 4990);
  p.Feed(t + kHour, 5000);
  EXPECT_EQ(p.Feed(t + 2 * kHour, 0.5).verdict, Verdict::kError);
  EXPECT_EQ(p.Feed(t + 3 * kHour, 1.0).verdict, Verdict::kError);
  EXPECT_EQ(p.state.below.size(), 2u);
  EXPECT_EQ(p.Feed(t + 4 * kHour, 1.75).verdict, Verdict::kError);
  ASSERT_EQ(p.outcomes.size(), 1u);
  const ResetOutcome& o = p.outcomes[0];
  EXPECT_EQ(o.kind, ResetOutcome::kMeterReset);
  ASSERT_EQ(o.reaccepted.size(), 3u);
  EXPECT_EQ(o.reaccepted[0].first, (Point{t + 2 * kHour, 0.5}));
  EXPECT_EQ(o.reaccepted[0].second, 0);
  EXPECT_DOUBLE_EQ(o.reaccepted[1].second, 0.5);
  EXPECT_DOUBLE_EQ(o.reaccepted[2].second, 0.75);
  EXPECT_NE(o.detail.find("meter reset"), std::string::npos) << o.detail;
  EXPECT_EQ(p.state.last, (Point{t + 4 * kHour, 1.75}));
  EXPECT_TRUE(p.state.below.empty());
  // The day's consumption continues across the reset: 10 before it, 1.25 after it.
  EXPECT_FALSE(CheckPeriod(p.state, *p.state.last, nullptr, p.meter, p.options).has_value());  // first day: no base
  EXPECT_EQ(p.state.period_start, Ts("2020-10-29T00:00:00+08:00"));
  Judgement j = p.Feed(t + 5 * kHour, 2.0);
  EXPECT_EQ(j.verdict, Verdict::kOk);
  EXPECT_DOUBLE_EQ(j.consumption, 0.25);
}

TEST(Validator, MeterResetKeepsPeriodConsumptionContinuous) {
  Pipeline p;
  p.options.reset_after = 2;
  int64_t day = Ts("2020-10-29T00:00:00+08:00");
  p.Feed(day, 4990);              // closes 10-28; base of 10-29
  p.Feed(day + kHour, 5000);      // 10-29: 10
  p.Feed(day + 2 * kHour, 0.5);
  p.Feed(day + 3 * kHour, 1.5);   // reset: 10 + (1.5 − 0.5) = 11
  ASSERT_EQ(p.outcomes.size(), 1u);
  auto c = CheckPeriod(p.state, *p.state.last, nullptr, p.meter, p.options);
  ASSERT_TRUE(c.has_value());
  EXPECT_DOUBLE_EQ(c->consumption, 11);
  p.Feed(day + 4 * kHour, 2.5);
  EXPECT_DOUBLE_EQ(p.checks.back().consumption, 12);
  p.Feed(day + 25 * kHour, 3.0);  // next day: base is 2.5 (the 24:00 reading is absent)
  EXPECT_DOUBLE_EQ(p.checks.back().consumption, 0.5);
}

TEST(Validator, SpikeIsRequarantinedAndFollowersReaccepted) {
  Pipeline p;
  p.options.reset_after = 3;
  p.Feed(0, 100);
  p.Feed(kHour, 102);
  p.Feed(2 * kHour, 900);  // undetected spike (no T2 yet)
  EXPECT_EQ(p.Feed(3 * kHour, 104).verdict, Verdict::kError);
  EXPECT_EQ(p.Feed(4 * kHour, 105).verdict, Verdict::kError);
  EXPECT_EQ(p.Feed(5 * kHour, 107).verdict, Verdict::kError);
  ASSERT_EQ(p.outcomes.size(), 1u);
  const ResetOutcome& o = p.outcomes[0];
  EXPECT_EQ(o.kind, ResetOutcome::kSpike);
  ASSERT_TRUE(o.requarantined.has_value());
  EXPECT_EQ(*o.requarantined, (Point{2 * kHour, 900}));
  ASSERT_EQ(o.reaccepted.size(), 3u);
  EXPECT_DOUBLE_EQ(o.reaccepted[0].second, 2);  // 104 − 102
  EXPECT_DOUBLE_EQ(o.reaccepted[1].second, 1);
  EXPECT_DOUBLE_EQ(o.reaccepted[2].second, 2);
  EXPECT_NE(o.detail.find("spike"), std::string::npos) << o.detail;
  EXPECT_EQ(p.state.last, (Point{5 * kHour, 107}));
  EXPECT_EQ(p.state.before_last, (Point{4 * kHour, 105}));
  EXPECT_EQ(p.Feed(6 * kHour, 108).verdict, Verdict::kOk);
}

// A forgotten heater: every interval is above T2, so by the seed's rule p would never move again
// and the whole day would sit in the quarantine, raising no alert. reset_after accepts the run.
TEST(Validator, SustainedLoadAboveT2IsAccepted) {
  Pipeline p;
  p.options.reset_after = 3;
  p.state.t2 = 1.0;
  p.Feed(0, 100);
  EXPECT_EQ(p.Feed(kHour, 103).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(2 * kHour, 106).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(3 * kHour, 109).verdict, Verdict::kSudden);
  ASSERT_EQ(p.outcomes.size(), 1u);
  const ResetOutcome& o = p.outcomes[0];
  EXPECT_EQ(o.kind, ResetOutcome::kSustainedLoad);
  ASSERT_EQ(o.reaccepted.size(), 3u);
  EXPECT_DOUBLE_EQ(o.reaccepted[0].second, 3);
  EXPECT_DOUBLE_EQ(o.reaccepted[1].second, 3);
  EXPECT_DOUBLE_EQ(o.reaccepted[2].second, 3);
  EXPECT_EQ(p.state.last, (Point{3 * kHour, 109}));
  EXPECT_TRUE(p.state.above.empty());
  EXPECT_NE(o.detail.find("sustained load"), std::string::npos) << o.detail;
}

// One jump, then the register runs on at a normal rate: rebase at the jump, count no energy for it.
TEST(Validator, RegisterStepRebases) {
  Pipeline p;
  p.options.reset_after = 3;
  p.state.t2 = 1.0;
  p.Feed(0, 100);
  EXPECT_EQ(p.Feed(kHour, 600).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(2 * kHour, 600.5).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(3 * kHour, 601).verdict, Verdict::kSudden);
  ASSERT_EQ(p.outcomes.size(), 1u);
  const ResetOutcome& o = p.outcomes[0];
  EXPECT_EQ(o.kind, ResetOutcome::kRegisterStep);
  ASSERT_EQ(o.reaccepted.size(), 3u);
  EXPECT_DOUBLE_EQ(o.reaccepted[0].second, 0);
  EXPECT_DOUBLE_EQ(o.reaccepted[1].second, 0.5);
  EXPECT_DOUBLE_EQ(o.reaccepted[2].second, 0.5);
  EXPECT_EQ(p.Feed(4 * kHour, 601.5).verdict, Verdict::kOk);
}

// A spike (one high reading the next does not continue) never forms a rising run.
TEST(Validator, SpikeIsNotASustainedLoad) {
  Pipeline p;
  p.options.reset_after = 2;
  p.state.t2 = 1.0;
  p.Feed(0, 100);
  EXPECT_EQ(p.Feed(kHour, 900).verdict, Verdict::kSudden);
  EXPECT_EQ(p.Feed(2 * kHour, 100.5).verdict, Verdict::kOk);
  EXPECT_TRUE(p.outcomes.empty());
  EXPECT_EQ(p.state.last, (Point{2 * kHour, 100.5}));
}

TEST(Validator, SustainedLoadDetectionOffByDefault) {
  Pipeline p;
  p.state.t2 = 1.0;
  p.Feed(0, 100);
  for (int i = 1; i <= 6; ++i) EXPECT_EQ(p.Feed(i * kHour, 100 + 3 * i).verdict, Verdict::kSudden);
  EXPECT_TRUE(p.outcomes.empty());
  EXPECT_EQ(p.state.last, (Point{0, 100}));
}

TEST(Validator, ResetRunRestartsWhenInconsistent) {
  Pipeline p;
  p.options.reset_after = 3;
  p.Feed(0, 100);
  p.Feed(kHour, 500);  // spike
  p.Feed(2 * kHour, 103);
  p.Feed(3 * kHour, 101);  // below the previous follower: the run restarts here
  EXPECT_EQ(p.state.below.size(), 1u);
  p.Feed(4 * kHour, std::nullopt);  // a null does not break the run
  p.Feed(5 * kHour, 102);
  EXPECT_TRUE(p.outcomes.empty());
  p.Feed(6 * kHour, 104);
  ASSERT_EQ(p.outcomes.size(), 1u);
  EXPECT_EQ(p.outcomes[0].kind, ResetOutcome::kSpike);
  EXPECT_EQ(p.outcomes[0].reaccepted.front().first, (Point{3 * kHour, 101}));
  // An ok reading clears the run.
  Pipeline q;
  q.options.reset_after = 3;
  q.options.negative_tolerance = 0.5;
  q.Feed(0, 100);
  q.Feed(kHour, 90);
  q.Feed(2 * kHour, 91);
  EXPECT_EQ(q.state.below.size(), 2u);
  q.Feed(3 * kHour, 99.8);  // jitter: ok
  EXPECT_TRUE(q.state.below.empty());
}

// --- persistence ----------------------------------------------------------------------------

TEST(Validator, MeterStateRoundTripsExactly) {
  MeterState s;
  s.last = Point{1603954800, 634.002};
  s.before_last = Point{1603951200, 0.1 + 0.2};  // not representable in short decimal
  s.t2 = 10.4;
  s.t1 = 1.0 / 3.0;
  s.period_start = 1603900800;
  s.period_end = 1603987200;
  s.period_base = 123456789.123456789;
  s.below = {{1603958400, 1e-17}, {1603962000, 5e300}};
  s.above = {{1603965600, 12.5}};
  std::string bytes = s.Encode();
  EXPECT_LT(bytes.size(), 200u);
  auto back = MeterState::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->last, s.last);
  EXPECT_EQ(back->before_last, s.before_last);
  EXPECT_EQ(back->t2, s.t2);
  EXPECT_EQ(back->t1, s.t1);
  EXPECT_EQ(back->period_start, s.period_start);
  EXPECT_EQ(back->period_end, s.period_end);
  EXPECT_EQ(back->period_base, s.period_base);
  EXPECT_EQ(back->below, s.below);
  EXPECT_EQ(back->above, s.above);
  EXPECT_EQ(back->Encode(), bytes);

  MeterState empty;
  auto e = MeterState::Decode(empty.Encode());
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->last.has_value());
  EXPECT_FALSE(e->t2.has_value());
  EXPECT_TRUE(e->below.empty());

  EXPECT_FALSE(MeterState::Decode("").ok());
  EXPECT_FALSE(MeterState::Decode(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(MeterState::Decode(bytes + "x").ok());
}

// States written by schema 3 and before are JSON; they are still read.
TEST(Validator, MeterStateReadsTheLegacyJsonForm) {
  auto s = MeterState::Decode(
      R"({"v":1,"last":{"ts":1603954800,"value":634.002},"t2":10.4,"period_start":1603900800,"period_end":1603987200,"below":[{"ts":1603958400,"value":1.5}]})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->last, (Point{1603954800, 634.002}));
  EXPECT_EQ(s->t2, 10.4);
  EXPECT_EQ(s->below.size(), 1u);
  EXPECT_FALSE(MeterState::Decode("{not json").ok());
  EXPECT_FALSE(MeterState::Decode(R"({"last":{"ts":"x","value":1}})").ok());
  EXPECT_FALSE(MeterState::Decode(R"({"t2":"high"})").ok());
}

// --- streaming learners agree with the vector forms ---------------------------------------------

TEST(Validator, LearnerUndoTakesBackTheLastReading) {
  T2Learner l(kHour);
  l.Add({0, 100});
  l.Add({kHour, 105});
  l.Add({2 * kHour, 900});
  EXPECT_NEAR(*l.Threshold(1.0), 795, 1e-9);
  l.Undo();
  EXPECT_NEAR(*l.Threshold(1.0), 5, 1e-9);
  l.Add({3 * kHour, 107});  // two intervals after 105
  EXPECT_NEAR(*l.Threshold(1.0), 5, 1e-9);

  PeakPeriod peak{Ts("2020-06-01T00:00:00+08:00"), Ts("2020-06-03T00:00:00+08:00")};
  T1Learner t(peak, PeriodKind::kDay, kCst);
  t.Add({peak.from, 0});
  t.Add({peak.from + 86400, 10});
  t.Add({peak.from + 86400 + kHour, 500});
  EXPECT_DOUBLE_EQ(*t.Threshold(1.0), 490);
  t.Undo();
  EXPECT_DOUBLE_EQ(*t.Threshold(1.0), 10);
}

}  // namespace
}  // namespace mh::vee
