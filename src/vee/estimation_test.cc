#include "vee/estimation.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mh::vee {
namespace {

TimeZone Zone(const char* name) { return *TimeZone::Parse(name); }

TEST(Estimation, MissingInstantsOnTheNominalGrid) {
  EXPECT_EQ(MissingInstants({0, 0}, {3600, 1}, 900), (std::vector<int64_t>{900, 1800, 2700}));
  EXPECT_TRUE(MissingInstants({0, 0}, {900, 1}, 900).empty());
  EXPECT_EQ(MissingInstants({0, 0}, {1350, 1}, 900), (std::vector<int64_t>{900}));  // half an interval before
  EXPECT_EQ(MissingInstants({0, 0}, {1300, 1}, 900), (std::vector<int64_t>{}));     // a late reading, not a gap
  EXPECT_EQ(MissingInstants({0, 0}, {1800, 1}, 900), (std::vector<int64_t>{900}));
}

TEST(Estimation, ShortGapsAreInterpolatedLinearly) {
  const Point from{0, 100}, to{3600, 104};
  GapEstimate g = EstimateGap(from, to, MissingInstants(from, to, 900), {}, 900, TimeZone::Fixed(0), {});
  EXPECT_EQ(g.method, "linear");
  ASSERT_EQ(g.estimates.size(), 3u);
  EXPECT_DOUBLE_EQ(g.estimates[0].value, 101);
  EXPECT_DOUBLE_EQ(g.estimates[2].value, 103);
  EXPECT_DOUBLE_EQ(g.estimates[1].consumption, 1);
  EXPECT_EQ(g.InputsJson(from, to), R"({"from":{"ts":0,"value":100.0},"to":{"ts":3600,"value":104.0}})");
  // A register that fell across the gap (accepted as jitter) is held flat, never run backwards.
  GapEstimate flat = InterpolateLinear({0, 10}, {3600, 9.999}, {1800});
  EXPECT_DOUBLE_EQ(flat.estimates[0].value, 10);
}

// Four weeks of a load that is 3 kWh/h from 08:00 to 20:00 local (Berlin) and 1 kWh/h otherwise,
// hourly; then a gap of a whole day: the profile puts the day's consumption where the load was.
TEST(Estimation, LongGapsFollowTheMeterOwnWeekdayProfile) {
  const TimeZone berlin = Zone("Europe/Berlin");
  std::vector<Point> history;
  const int64_t start = *ParseTimestamp("2024-06-01T00:00:00+02:00");
  double v = 0;
  for (int64_t t = start; t <= start + 35 * 86400; t += 3600) {
    history.push_back({t, v});
    const int64_t hour_ending = ((t + 3600 + berlin.OffsetAt(t)) / 3600) % 24;  // the next hour's local start
    v += (hour_ending >= 8 && hour_ending < 20) ? 3 : 1;
  }
  // Cut 2024-07-05 00:00 .. 2024-07-06 00:00 local (history ends at 2024-07-06 00:00).
  const size_t i = 34 * 24, k = 24;
  const Point from = history[i], to = history[i + k];
  std::vector<Point> before(history.begin(), history.begin() + static_cast<long>(i) + 1);
  std::vector<int64_t> instants;
  for (size_t j = i + 1; j < i + k; ++j) instants.push_back(history[j].ts);
  GapEstimate g = EstimateGap(from, to, instants, before, 3600, berlin, {});
  EXPECT_EQ(g.method, "profile");
  EXPECT_EQ(g.profile_weeks, 4);
  for (size_t j = 0; j < instants.size(); ++j) EXPECT_NEAR(g.estimates[j].value, history[i + 1 + j].value, 1e-9) << j;
  // Linear spreads the 48 kWh evenly: 2 per hour, wrong by 1 every hour.
  GapEstimate lin = InterpolateLinear(from, to, instants);
  EXPECT_NEAR(lin.estimates[0].consumption, 2, 1e-9);
  // Without history the profile falls back to linear.
  EXPECT_EQ(EstimateGap(from, to, instants, {}, 3600, berlin, {}).method, "linear");
}

// ---------------------------------------------------------------------------------------------
// Real data: gaps cut out of complete stretches (the truth is known), and the real gaps.

struct Series {
  std::string meter;
  int64_t interval_s = 0;
  std::vector<Point> points;  // registers, ascending
};

// Lines of a command's output (zcat / unzip -p); false when it could not run.
bool ForEachLine(const std::string& command, const std::function<void(const std::string&)>& fn) {
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return false;
  std::string line;
  char buf[1 << 16];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      if (!line.empty() && line.back() == '\r') line.pop_back();
      fn(line);
      line.clear();
    }
  }
  return ::pclose(p) == 0;
}

// SGSC: half-hourly kWh per interval, local clock time (Sydney / Newcastle): registers built by
// summing the intervals; a clock hour that happens twice (end of DST) keeps its first readings.
std::vector<Series> LoadSgsc(size_t meters) {
  const std::string path = std::string(MH_SHARED_DATA_DIR) + "/electricity/sgsc/sgsc_104_households.csv.gz";
  std::map<std::string, Series> by_meter;
  std::vector<std::string> order;
  const TimeZone sydney = *TimeZone::Parse("Australia/Sydney");
  ForEachLine("zcat '" + path + "' 2>/dev/null", [&](const std::string& line) {
    const size_t a = line.find(','), b = line.find(',', a + 1);
    if (a == std::string::npos || b == std::string::npos || line.starts_with("meter_id")) return;
    const std::string id = line.substr(0, a);
    if (!by_meter.count(id)) {
      if (by_meter.size() >= meters) return;
      order.push_back(id);
    }
    Series& s = by_meter[id];
    s.meter = id;
    s.interval_s = 1800;
    auto ts = ParseTimestampIn(line.substr(a + 1, b - a - 1), sydney);
    if (!ts.ok()) return;
    const double kwh = std::atof(line.c_str() + b + 1);
    if (!s.points.empty() && *ts <= s.points.back().ts) return;
    s.points.push_back({*ts, (s.points.empty() ? 0 : s.points.back().value) + kwh});
  });
  std::vector<Series> out;
  for (const auto& id : order) out.push_back(std::move(by_meter[id]));
  return out;
}

// DAIAD trial A: hourly-ish water registers in litres, local time (Alicante, dd/mm/yyyy).
std::vector<Series> LoadDaiad(size_t meters) {
  const std::string zip = std::string(MH_SHARED_DATA_DIR) + "/water/daiad/swm_trialA.zip";
  std::map<std::string, Series> by_meter;
  std::vector<std::string> order;
  const TimeZone madrid = *TimeZone::Parse("Europe/Madrid");
  ForEachLine("unzip -p '" + zip + "' swm_trialA.csv 2>/dev/null", [&](const std::string& line) {
    const size_t a = line.find(';'), b = line.find(';', a + 1), c = line.find(';', b + 1);
    if (a == std::string::npos || b == std::string::npos || c == std::string::npos || line.starts_with("user")) return;
    const std::string id = line.substr(0, a), dt = line.substr(a + 1, b - a - 1);
    if (!by_meter.count(id)) {
      if (by_meter.size() >= meters) return;
      order.push_back(id);
    }
    if (dt.size() != 19) return;
    const std::string iso = dt.substr(6, 4) + "-" + dt.substr(3, 2) + "-" + dt.substr(0, 2) + "T" + dt.substr(11);
    auto ts = ParseTimestampIn(iso, madrid);
    if (!ts.ok()) return;
    Series& s = by_meter[id];
    s.meter = id;
    s.interval_s = 3600;
    const double litres = std::atof(line.c_str() + b + 1);
    if (!s.points.empty() && (*ts <= s.points.back().ts || litres < s.points.back().value)) return;  // keep it monotone
    s.points.push_back({*ts, litres});
  });
  std::vector<Series> out;
  for (const auto& id : order) out.push_back(std::move(by_meter[id]));
  return out;
}

struct ErrorSums {
  double abs_interval_error = 0;   // Σ |estimated − actual| interval consumption
  int64_t intervals = 0;
  double abs_day_error = 0;        // Σ over (gap, day) |estimated − actual| consumption in that day
  double day_totals = 0;           // Σ over (gap, day) the day's actual total
  int64_t gaps = 0;
  double Mae() const { return intervals ? abs_interval_error / static_cast<double>(intervals) : 0; }
  double DayRel() const { return day_totals > 0 ? abs_day_error / day_totals : 0; }
};

// Adds one gap's errors: `truth` the cut readings (with consumption), `est` the estimates at
// their instants; days are the zone's calendar days the gap overlaps.
void Score(const std::vector<Point>& all, size_t i, size_t k, const GapEstimate& est, const TimeZone& tz,
           const std::map<int64_t, double>& day_totals, ErrorSums* sums) {
  std::map<int64_t, double> est_day, act_day;
  for (size_t j = 0; j <= k; ++j) {  // the k cut readings and the bounding one after them
    const Point& p = all[i + 1 + j];
    const double actual = p.value - all[i + j].value;
    const double estimated = (j < k ? est.estimates[j].value : p.value) - (j == 0 ? all[i].value : est.estimates[j - 1].value);
    sums->abs_interval_error += std::abs(estimated - actual);
    ++sums->intervals;
    const int64_t day = PeriodOf(p.ts, PeriodKind::kDay, tz).start;
    est_day[day] += estimated;
    act_day[day] += actual;
  }
  for (const auto& [day, act] : act_day) {
    sums->abs_day_error += std::abs(est_day[day] - act);
    auto it = day_totals.find(day);
    sums->day_totals += it == day_totals.end() ? 0 : it->second;
  }
  ++sums->gaps;
}

struct Evaluation {
  std::map<size_t, ErrorSums> linear, profile, meterhub;  // by gap length (readings cut)
  int64_t real_gaps = 0, real_estimates = 0;
};

// Cuts up to `per_meter` gaps of each length out of every meter's complete stretches (spacing at
// most 1.5 nominal intervals, four weeks of history before), seeded, and scores the methods.
Evaluation Evaluate(const std::vector<Series>& series, const std::vector<size_t>& lengths, size_t per_meter,
                    const TimeZone& tz) {
  Evaluation ev;
  std::mt19937_64 rng(18);
  for (const Series& s : series) {
    const auto& pts = s.points;
    if (pts.size() < 100) continue;
    std::map<int64_t, double> day_totals;
    for (size_t j = 1; j < pts.size(); ++j) day_totals[PeriodOf(pts[j].ts, PeriodKind::kDay, tz).start] += pts[j].value - pts[j - 1].value;
    // run[j]: readings in the complete stretch ending at j.
    std::vector<size_t> run(pts.size(), 1);
    for (size_t j = 1; j < pts.size(); ++j)
      if (2 * (pts[j].ts - pts[j - 1].ts) <= 3 * s.interval_s) run[j] = run[j - 1] + 1;
    // The real gaps: estimated from what precedes them (checked for sense below).
    for (size_t j = 1; j < pts.size(); ++j) {
      if (run[j] != 1) continue;
      const std::vector<int64_t> instants = MissingInstants(pts[j - 1], pts[j], s.interval_s);
      if (instants.empty() || instants.size() > 24 * 3600 / static_cast<size_t>(s.interval_s) * 14) continue;
      std::vector<Point> before(pts.begin(), pts.begin() + static_cast<long>(j));
      GapEstimate g = EstimateGap(pts[j - 1], pts[j], instants, before, s.interval_s, tz, {});
      ++ev.real_gaps;
      double prev = pts[j - 1].value;
      for (const Estimate& e : g.estimates) {
        EXPECT_GE(e.value, prev - 1e-9) << s.meter << " at " << FormatIsoUtc(e.ts);
        EXPECT_LE(e.value, std::max(pts[j].value, pts[j - 1].value) + 1e-9) << s.meter;
        prev = e.value;
        ++ev.real_estimates;
      }
    }
    for (size_t k : lengths) {
      std::vector<size_t> candidates;  // i: the bounding reading before the cut
      for (size_t end = k + 1; end < pts.size(); ++end) {
        const size_t i = end - k - 1;
        if (run[end] >= k + 2 && pts[i].ts - pts.front().ts >= 29 * 86400) candidates.push_back(i);
      }
      std::shuffle(candidates.begin(), candidates.end(), rng);
      for (size_t c = 0; c < std::min(per_meter, candidates.size()); ++c) {
        const size_t i = candidates[c];
        std::vector<int64_t> instants;
        for (size_t j = i + 1; j <= i + k; ++j) instants.push_back(pts[j].ts);
        const std::vector<Point> before(pts.begin(), pts.begin() + static_cast<long>(i) + 1);
        EstimationOptions always_profile;
        always_profile.linear_max_gap_s = 0;
        Score(pts, i, k, InterpolateLinear(pts[i], pts[i + k + 1], instants), tz, day_totals, &ev.linear[k]);
        Score(pts, i, k, EstimateGap(pts[i], pts[i + k + 1], instants, before, s.interval_s, tz, always_profile), tz,
              day_totals, &ev.profile[k]);
        Score(pts, i, k, EstimateGap(pts[i], pts[i + k + 1], instants, before, s.interval_s, tz, {}), tz, day_totals,
              &ev.meterhub[k]);
      }
    }
  }
  return ev;
}

void Print(const char* what, const char* unit, int64_t interval_s, const Evaluation& ev) {
  std::printf("\n%s: %lld real gaps estimated (%lld readings); cut gaps:\n", what,
              static_cast<long long>(ev.real_gaps), static_cast<long long>(ev.real_estimates));
  std::printf("%-10s %6s | %-22s | %-22s | %-22s\n", "gap", "gaps", "linear MAE / day err", "profile MAE / day err",
              "meterhub MAE / day err");
  for (const auto& [k, lin] : ev.linear) {
    const ErrorSums& pro = ev.profile.at(k);
    const ErrorSums& mh = ev.meterhub.at(k);
    const double hours = static_cast<double>((k + 1) * interval_s) / 3600.0;
    std::printf("%5zu (%4.1fh) %5lld | %8.4f %s %6.2f%% | %8.4f %s %6.2f%% | %8.4f %s %6.2f%%\n", k, hours,
                static_cast<long long>(lin.gaps), lin.Mae(), unit, 100 * lin.DayRel(), pro.Mae(), unit,
                100 * pro.DayRel(), mh.Mae(), unit, 100 * mh.DayRel());
  }
}

TEST(EstimationRealData, SgscElectricityGaps) {
  const char* env = std::getenv("MH_ESTIMATION_METERS");
  std::vector<Series> series = LoadSgsc(env ? std::strtoul(env, nullptr, 10) : 12);
  if (series.empty()) GTEST_SKIP() << "SGSC data (electricity/sgsc/sgsc_104_households.csv.gz) not available";
  const TimeZone sydney = Zone("Australia/Sydney");
  Evaluation ev = Evaluate(series, {1, 2, 5, 11, 23, 47, 95}, 40, sydney);
  Print("SGSC electricity, half-hourly (kWh per interval)", "kWh", 1800, ev);
  EXPECT_GT(ev.real_gaps, 0);
  for (const auto& [k, lin] : ev.linear) {
    EXPECT_GT(lin.gaps, 0) << k;
    // Short gaps are interpolated: meterhub's estimate is linear's.
    if ((k + 1) * 1800 <= 3 * 3600) {
      EXPECT_DOUBLE_EQ(ev.meterhub.at(k).Mae(), lin.Mae()) << k;
    }
    // From a day on, the meter's own profile beats a straight line.
    if (k >= 47) {
      EXPECT_LT(ev.meterhub.at(k).Mae(), lin.Mae()) << k;
    }
  }
}

TEST(EstimationRealData, DaiadWaterGaps) {
  const char* env = std::getenv("MH_ESTIMATION_METERS");
  std::vector<Series> series = LoadDaiad(env ? std::strtoul(env, nullptr, 10) : 12);
  if (series.empty()) GTEST_SKIP() << "DAIAD data (water/daiad/swm_trialA.zip, needs unzip) not available";
  const TimeZone madrid = Zone("Europe/Madrid");
  Evaluation ev = Evaluate(series, {1, 2, 5, 11, 23, 47}, 40, madrid);
  Print("DAIAD water, ~hourly (litres per interval; gap hours nominal)", "l", 3600, ev);
  EXPECT_GT(ev.real_gaps, 0);
  for (const auto& [k, lin] : ev.linear) {
    EXPECT_GT(lin.gaps, 0) << k;
    // DAIAD's readings are irregular (~hourly): one cut reading is always a short gap.
    if (k == 1) {
      EXPECT_DOUBLE_EQ(ev.meterhub.at(k).Mae(), lin.Mae()) << k;
    }
    if (k >= 11) {
      EXPECT_LT(ev.meterhub.at(k).Mae(), lin.Mae()) << k;
    }
  }
}

}  // namespace
}  // namespace mh::vee
