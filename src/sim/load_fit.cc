#include "sim/load_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "codec/compressed_lines.h"
#include "core/time.h"
#include "sim/rng.h"

namespace mh::sim {
namespace {

// One interval of one household: `amount` consumed in [local_start, local_start + dur).
// local_start is local clock seconds since 1970-01-01 (civil time written as if UTC).
struct Sample {
  int32_t household = 0;
  int32_t dur = 0;
  int64_t local_start = 0;
  double amount = 0;
};

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

constexpr std::array<int, 12> kDaysInMonth = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

bool ParseFixedInt(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || s.size() > 60) return false;
  char buf[64];
  std::copy(s.begin(), s.end(), buf);
  buf[s.size()] = '\0';
  char* end = nullptr;
  *out = std::strtod(buf, &end);
  return end == buf + s.size() && std::isfinite(*out);
}

int64_t LocalSeconds(int y, int mo, int d, int h, int mi, int se) {
  return DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + se;
}

// --- the fit shared by both kinds ----------------------------------------------------------------

struct FitConfig {
  int slots_per_day = 24;
  double min_household_days = 30;  // households observed for less are left out
  double zero_eps = 1e-9;          // an amount at or below this counts as no consumption
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// CV² of (sum of a day's interval draws / its expectation) under the interval model (zero share
// and log-normal noise around the shape), over a week's day types. Fixed seed: the fit is
// deterministic.
double WithinDayCv2(const KindModel& m) {
  constexpr int kDaysPerType = 20000;
  SimRng rng(20240101);
  double sq = 0, n = 0;
  const double sigma = m.interval_sigma;
  for (int d = 0; d < kDayTypes; ++d) {
    const double weight = d == 0 ? 5.0 : 2.0;
    double expected = 0;
    for (double s : m.shape[d]) expected += s;
    for (int k = 0; k < kDaysPerType; ++k) {
      double day = 0;
      for (int sl = 0; sl < m.slots_per_day; ++sl) {
        const double p0 = m.zero_prob[d][sl];
        const double u = Uniform01(rng);
        const double e = Normal(rng);
        if (u >= p0) day += m.shape[d][sl] / (1 - p0) * std::exp(sigma * e - sigma * sigma / 2);
      }
      sq += weight * (day / expected - 1) * (day / expected - 1);
      n += weight;
    }
  }
  return sq / n;
}

// The fit shared by both kinds. `samples` sorted by household then time; households are 0..count-1.
Result<KindModel> FitSamples(const std::vector<Sample>& samples, int household_count, const FitConfig& cfg,
                             KindModel model, FitDiagnostics* stats) {
  const int slots = cfg.slots_per_day;
  const int64_t slot_len = 86400 / slots;
  model.slots_per_day = slots;
  auto day_of = [](const Sample& s) { return FloorDiv(s.local_start + s.dur / 2, 86400); };
  auto slot_of = [&](const Sample& s) {
    const int64_t mid = s.local_start + s.dur / 2;
    return static_cast<int>((mid - FloorDiv(mid, 86400) * 86400) / slot_len);
  };
  // Samples about one slot long carry the shape, the zero share and the noise.
  auto is_slot_sample = [&](const Sample& s) { return s.dur >= slot_len * 3 / 4 && s.dur <= slot_len * 5 / 4; };

  // Per household: total amount and observed time, then the scale S (deseasonalised mean daily
  // consumption); season and S are refined together twice.
  std::vector<double> amount(household_count, 0), days(household_count, 0), season_days(household_count, 0);
  for (const Sample& s : samples) {
    amount[s.household] += s.amount;
    days[s.household] += s.dur / 86400.0;
  }
  std::vector<bool> used(household_count);
  for (int h = 0; h < household_count; ++h) used[h] = days[h] >= cfg.min_household_days && amount[h] > 0;
  std::vector<double> scale(household_count, 0);
  model.season.fill(1.0);
  for (int iter = 0; iter < 2; ++iter) {
    std::fill(season_days.begin(), season_days.end(), 0.0);
    for (const Sample& s : samples) season_days[s.household] += s.dur / 86400.0 * model.season[MonthOfDay(day_of(s))];
    for (int h = 0; h < household_count; ++h) scale[h] = used[h] ? amount[h] / season_days[h] : 0;
    std::array<double, 12> num{}, den{};
    for (const Sample& s : samples) {
      if (!used[s.household]) continue;
      const int mo = MonthOfDay(day_of(s));
      num[mo] += s.amount / scale[s.household];
      den[mo] += s.dur / 86400.0;
    }
    double weighted = 0;
    for (int mo = 0; mo < 12; ++mo) {
      if (den[mo] <= 0) return InvalidArgument("no data in month " + std::to_string(mo + 1));
      model.season[mo] = num[mo] / den[mo];
      weighted += model.season[mo] * kDaysInMonth[mo] / 365.0;
    }
    for (double& v : model.season) v /= weighted;
  }

  int households = 0;
  double log_sum = 0, log_sq = 0, mean_sum = 0;
  for (int h = 0; h < household_count; ++h) {
    if (!used[h]) continue;
    ++households;
    const double l = std::log(scale[h]);
    log_sum += l;
    log_sq += l * l;
    mean_sum += scale[h];
  }
  if (households < 2) return InvalidArgument("fewer than 2 households with 30 days of data");
  model.households = households;
  const double log_mean = log_sum / households;
  model.scale_log_sigma =
      std::sqrt(std::max(0.0, log_sq / households - log_mean * log_mean) * households / (households - 1));
  model.mean_daily = mean_sum / households;
  // mu is set so that the log-normal's mean is the households' arithmetic mean (the fleet's total
  // load is right); the sample mean of log S would undershoot it, the distribution being skewed left.
  model.scale_log_mu = std::log(model.mean_daily) - model.scale_log_sigma * model.scale_log_sigma / 2;

  // Shape and zero share by day type and slot.
  std::array<std::vector<double>, kDayTypes> num, den, zeros, count;
  for (int d = 0; d < kDayTypes; ++d) {
    num[d].assign(slots, 0);
    den[d].assign(slots, 0);
    zeros[d].assign(slots, 0);
    count[d].assign(slots, 0);
  }
  int64_t used_samples = 0;
  double max_rate = 0;
  for (const Sample& s : samples) {
    if (!used[s.household]) continue;
    ++used_samples;
    if (!is_slot_sample(s)) continue;
    const int64_t day = day_of(s);
    const int dt = static_cast<int>(DayTypeOfDay(day));
    const int sl = slot_of(s);
    num[dt][sl] += s.amount / (scale[s.household] * model.season[MonthOfDay(day)]);
    den[dt][sl] += s.dur / 86400.0;
    count[dt][sl] += 1;
    if (s.amount <= cfg.zero_eps) zeros[dt][sl] += 1;
    max_rate = std::max(max_rate, s.amount / s.dur * 3600.0);
  }
  model.samples = used_samples;
  model.max_rate_per_hour = max_rate;
  double week = 0;
  for (int d = 0; d < kDayTypes; ++d) {
    model.shape[d].assign(slots, 0);
    model.zero_prob[d].assign(slots, 0);
    for (int sl = 0; sl < slots; ++sl) {
      if (den[d][sl] <= 0) return InvalidArgument("no data for a slot of the day profile");
      // Mean rate in this slot relative to the day's mean rate (1 / 86400 of S per second).
      model.shape[d][sl] = num[d][sl] / den[d][sl];
      model.zero_prob[d][sl] = std::min(0.99, zeros[d][sl] / count[d][sl]);
      week += model.shape[d][sl] * (d == 0 ? 5.0 : 2.0) / 7.0 / slots;
    }
  }
  for (auto& v : model.shape)
    for (double& x : v) x /= week;

  auto expected = [&](const Sample& s) {
    const int64_t day = day_of(s);
    return scale[s.household] * model.season[MonthOfDay(day)] *
           model.shape[static_cast<int>(DayTypeOfDay(day))][slot_of(s)] * s.dur / 86400.0;
  };

  // Day factors: observed / expected over complete days (slot samples covering ~24 h).
  struct DayAgg {
    int household;
    int64_t day;
    double observed, expected, covered;
    size_t first, last;  // sample index range [first, last)
  };
  std::vector<DayAgg> day_aggs;
  for (size_t i = 0; i < samples.size();) {
    const Sample& s0 = samples[i];
    const int64_t day = day_of(s0);
    size_t j = i;
    DayAgg agg{s0.household, day, 0, 0, 0, i, i};
    bool clean = true;
    while (j < samples.size() && samples[j].household == s0.household && day_of(samples[j]) == day) {
      if (!is_slot_sample(samples[j])) clean = false;
      agg.observed += samples[j].amount;
      agg.expected += expected(samples[j]);
      agg.covered += samples[j].dur;
      ++j;
    }
    agg.last = j;
    if (used[s0.household] && clean && agg.covered >= 0.95 * 86400 && agg.covered <= 1.05 * 86400)
      day_aggs.push_back(agg);
    i = j;
  }
  if (day_aggs.size() < 100) return InvalidArgument("fewer than 100 complete days");

  // Day factor d = observed / expected over a complete day, taken relative to the household's mean d
  // (its level is in S already). Moments on the linear scale: households' days have a long left tail
  // (days away, near-empty days) and a short right one; the log-normal should match the spread of
  // the consumption, not the log-spread of the near-empty days, which would inflate its right tail.
  std::vector<double> rel(day_aggs.size(), 0);
  int zero_days = 0;
  double observed_cv2 = 0, observed_lag_cov = 0;
  {
    std::vector<double> hsum(household_count, 0), hn(household_count, 0);
    for (const DayAgg& a : day_aggs) {
      hsum[a.household] += a.observed / a.expected;
      hn[a.household] += 1;
      if (a.observed <= cfg.zero_eps) ++zero_days;
    }
    for (size_t k = 0; k < day_aggs.size(); ++k) {
      const DayAgg& a = day_aggs[k];
      rel[k] = a.observed / a.expected / (hsum[a.household] / hn[a.household]);
    }
    // Per household: CV² of its days and their lag-1 correlation; the model takes the median
    // household. (Pooled, a minority of erratic households would set the spread for all: the
    // median DAIAD household has a day-to-day CV of ~0.57, the pooled one is ~1.)
    std::vector<double> sq(household_count, 0), n(household_count, 0), lag(household_count, 0), nlag(household_count, 0);
    for (size_t k = 0; k < day_aggs.size(); ++k) {
      const int h = day_aggs[k].household;
      sq[h] += (rel[k] - 1) * (rel[k] - 1);
      n[h] += 1;
      if (k + 1 < day_aggs.size() && day_aggs[k + 1].household == h && day_aggs[k + 1].day == day_aggs[k].day + 1) {
        lag[h] += (rel[k] - 1) * (rel[k + 1] - 1);
        nlag[h] += 1;
      }
    }
    std::vector<double> cv2s, corrs;
    for (int h = 0; h < household_count; ++h) {
      if (n[h] < cfg.min_household_days || nlag[h] < cfg.min_household_days / 2 || sq[h] <= 0) continue;
      cv2s.push_back(sq[h] / n[h]);
      corrs.push_back((lag[h] / nlag[h]) / (sq[h] / n[h]));
    }
    if (cv2s.empty()) return InvalidArgument("no household with 30 complete days");
    observed_cv2 = Median(cv2s);
    observed_lag_cov = Median(corrs) * observed_cv2;
  }

  // Interval noise: a non-zero amount over its expectation given its day and the zero share;
  // sigma from the coefficient of variation (CV² = exp(sigma²) − 1), of the median household.
  {
    std::vector<double> sum(household_count, 0), sq(household_count, 0), n(household_count, 0);
    for (const DayAgg& a : day_aggs) {
      if (a.observed <= cfg.zero_eps) continue;
      const double d = a.observed / a.expected;
      for (size_t i = a.first; i < a.last; ++i) {
        const Sample& s = samples[i];
        if (s.amount <= cfg.zero_eps) continue;
        const double p0 = model.zero_prob[static_cast<int>(DayTypeOfDay(day_of(s)))][slot_of(s)];
        const double r = s.amount / (expected(s) * d / (1 - p0));
        sum[s.household] += r;
        sq[s.household] += r * r;
        n[s.household] += 1;
      }
    }
    std::vector<double> cv2s;
    for (int h = 0; h < household_count; ++h)
      if (n[h] >= 100) cv2s.push_back(std::max(0.0, sq[h] * n[h] / (sum[h] * sum[h]) - 1));
    if (cv2s.empty()) return InvalidArgument("no household with 100 non-zero intervals in complete days");
    model.interval_sigma = std::sqrt(std::log1p(Median(cv2s)));
  }

  // An observed day already varies through its intervals' noise; the day factor carries the rest:
  // 1 + CV²(observed) = (1 + CV²(day factor)) × (1 + CV²(within-day sum)), the latter measured by
  // drawing days from the interval model. The interval noise being independent, the lag-1
  // covariance is the day factor's alone: exp(phi × sigma²) − 1.
  const double within_cv2 = WithinDayCv2(model);
  const double day_cv2 = std::max(1e-4, (1 + observed_cv2) / (1 + within_cv2) - 1);
  const double day_var = std::log1p(day_cv2);
  model.day_sigma = std::sqrt(day_var);
  model.day_phi = std::clamp(std::log1p(std::max(-0.5, observed_lag_cov)) / day_var, -0.95, 0.95);
  if (stats != nullptr) {
    stats->observed_day_cv = std::sqrt(observed_cv2);
    stats->within_day_cv = std::sqrt(within_cv2);
    stats->complete_days = static_cast<int64_t>(day_aggs.size());
    stats->zero_day_share = static_cast<double>(zero_days) / day_aggs.size();
  }
  MH_RETURN_IF_ERROR(model.Validate());
  return model;
}

void SortSamples(std::vector<Sample>& samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) {
    return a.household != b.household ? a.household < b.household : a.local_start < b.local_start;
  });
}

Status CheckReadable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound("no such file: " + path);
  return Status::Ok();
}

}  // namespace

Result<KindModel> FitElectricity(const std::string& sgsc_csv_gz, FitDiagnostics* diagnostics) {
  MH_RETURN_IF_ERROR(CheckReadable(sgsc_csv_gz));
  std::unordered_map<std::string, int> ids;
  std::vector<Sample> samples;
  samples.reserve(2'800'000);
  Status st = codec::ForEachCompressedLine(sgsc_csv_gz, [&](int64_t lineno, std::string_view line) -> Status {
    if (lineno == 1) {
      if (!line.starts_with("meter_id,timestamp,kwh"))
        return InvalidArgument("line 1: expected header meter_id,timestamp,kwh");
      return Status::Ok();
    }
    if (line.empty()) return Status::Ok();
    const size_t c1 = line.find(','), c2 = line.find(',', c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos)
      return InvalidArgument("line " + std::to_string(lineno) + ": expected 3 fields");
    const std::string_view id = line.substr(0, c1), ts = line.substr(c1 + 1, c2 - c1 - 1);
    int y, mo, d, h, mi, se = 0;
    double kwh;
    if (!ParseFixedInt(ts, 0, 4, &y) || !ParseFixedInt(ts, 5, 2, &mo) || !ParseFixedInt(ts, 8, 2, &d) ||
        !ParseFixedInt(ts, 11, 2, &h) || !ParseFixedInt(ts, 14, 2, &mi) || (ts.size() >= 19 && !ParseFixedInt(ts, 17, 2, &se)))
      return InvalidArgument("line " + std::to_string(lineno) + ": bad timestamp '" + std::string(ts) + "'");
    if (!ParseDouble(line.substr(c2 + 1), &kwh) || kwh < 0) return Status::Ok();  // unusable value: skip
    auto [it, inserted] = ids.try_emplace(std::string(id), static_cast<int>(ids.size()));
    samples.push_back({it->second, 1800, LocalSeconds(y, mo, d, h, mi, se), kwh});
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(sgsc_csv_gz);
  SortSamples(samples);
  // Duplicated half-hours (the DST repeat hour) would double-count: keep the first.
  samples.erase(std::unique(samples.begin(), samples.end(),
                            [](const Sample& a, const Sample& b) {
                              return a.household == b.household && a.local_start == b.local_start;
                            }),
                samples.end());
  KindModel base;
  base.unit = "kWh";
  base.source = "SGSC customer trial, half-hourly household electricity (sgsc_104_households.csv.gz)";
  FitConfig cfg;
  cfg.slots_per_day = 48;
  cfg.zero_eps = 1e-9;
  Result<KindModel> r = FitSamples(samples, static_cast<int>(ids.size()), cfg, std::move(base), diagnostics);
  if (!r.ok()) return r.status().WithContext(sgsc_csv_gz);
  return r;
}

Result<KindModel> FitWater(const std::string& daiad_zip, FitDiagnostics* diagnostics) {
  MH_RETURN_IF_ERROR(CheckReadable(daiad_zip));
  struct Row {
    int household;
    int64_t t;
    double litres;
  };
  std::unordered_map<std::string, int> ids;
  std::vector<Row> rows;
  rows.reserve(700'000);
  Status st = codec::ForEachCompressedLine(daiad_zip, [&](int64_t lineno, std::string_view line) -> Status {
    if (lineno == 1) return Status::Ok();  // header
    if (line.empty()) return Status::Ok();
    const size_t c1 = line.find(';'), c2 = line.find(';', c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos)
      return InvalidArgument("line " + std::to_string(lineno) + ": expected ';'-separated fields");
    const std::string_view id = line.substr(0, c1), ts = line.substr(c1 + 1, c2 - c1 - 1);
    size_t c3 = line.find(';', c2 + 1);
    if (c3 == std::string_view::npos) c3 = line.size();
    int d, mo, y, h, mi, se;
    if (!ParseFixedInt(ts, 0, 2, &d) || !ParseFixedInt(ts, 3, 2, &mo) || !ParseFixedInt(ts, 6, 4, &y) ||
        !ParseFixedInt(ts, 11, 2, &h) || !ParseFixedInt(ts, 14, 2, &mi) || !ParseFixedInt(ts, 17, 2, &se))
      return InvalidArgument("line " + std::to_string(lineno) + ": bad datetime '" + std::string(ts) + "'");
    double litres;  // some registers are written like "4e+05"
    if (!ParseDouble(line.substr(c2 + 1, c3 - c2 - 1), &litres)) return Status::Ok();
    auto [it, inserted] = ids.try_emplace(std::string(id), static_cast<int>(ids.size()));
    rows.push_back({it->second, LocalSeconds(y, mo, d, h, mi, se), litres});
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext(daiad_zip);
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.household != b.household ? a.household < b.household : a.t < b.t;
  });

  // Register differences → interval samples. The register is held at its peak: a step back of a
  // few litres (ultrasonic jitter) is zero consumption; a larger step back, or a rate no domestic
  // meter reaches, is a glitch or a meter exchange and restarts the series there.
  constexpr double kJitterLitres = 5;
  constexpr double kMaxLitresPerHour = 3000;  // above a DN15 meter's overload flow Q4 = 3.125 m³/h
  constexpr int64_t kMaxGap = 6 * 3600;       // longer gaps are left out (time and volume)
  std::vector<Sample> samples;
  samples.reserve(rows.size());
  for (size_t begin = 0, end = 0; begin < rows.size(); begin = end) {
    end = begin + 1;
    while (end < rows.size() && rows[end].household == rows[begin].household) ++end;
    double peak = rows[begin].litres;
    int64_t prev_t = rows[begin].t;
    for (size_t i = begin + 1; i < end; ++i) {
      const Row& r = rows[i];
      const int64_t dt = r.t - prev_t;
      if (dt <= 0) continue;  // repeated clock hour at the end of summer time
      const double d = r.litres - peak;
      if (d < -kJitterLitres || d / dt * 3600 > kMaxLitresPerHour) {
        peak = r.litres;
        prev_t = r.t;
        continue;
      }
      if (dt <= kMaxGap) samples.push_back({r.household, static_cast<int32_t>(dt), prev_t, std::max(0.0, d) / 1000.0});
      peak = std::max(peak, r.litres);
      prev_t = r.t;
    }
  }
  KindModel base;
  base.unit = "m3";
  base.source = "DAIAD trial A, Alicante, hourly household water registers (swm_trialA.zip)";
  FitConfig cfg;
  cfg.slots_per_day = 24;
  cfg.zero_eps = 1e-9;
  Result<KindModel> r = FitSamples(samples, static_cast<int>(ids.size()), cfg, std::move(base), diagnostics);
  if (!r.ok()) return r.status().WithContext(daiad_zip);
  return r;
}

std::string FitSummary(const std::string& kind, const KindModel& m) {
  const bool water = m.unit == "m3";
  const double to_display = water ? 1000.0 : 1.0;
  const char* unit = water ? "l" : "kWh";
  const char* rate_unit = water ? "l/h" : "kW";
  auto peak_slot = [&](int d) {
    return static_cast<int>(std::max_element(m.shape[d].begin(), m.shape[d].end()) - m.shape[d].begin());
  };
  double p0 = 0;
  for (int d = 0; d < kDayTypes; ++d)
    for (double p : m.zero_prob[d]) p0 += p * (d == 0 ? 5.0 : 2.0) / 7.0 / m.slots_per_day;
  const int max_season = static_cast<int>(std::max_element(m.season.begin(), m.season.end()) - m.season.begin());
  const int min_season = static_cast<int>(std::min_element(m.season.begin(), m.season.end()) - m.season.begin());
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "%s: %d households, %lld samples; mean %.3g %s/day per household (log-normal, sigma %.3f); "
                "weekday peak at %02d:%02d (x%.2f); season x%.2f (month %d) .. x%.2f (month %d); "
                "zero intervals %.1f %%; interval sigma %.3f; day sigma %.3f, day-to-day phi %.3f; max %.3g %s\n",
                kind.c_str(), m.households, static_cast<long long>(m.samples), m.mean_daily * to_display, unit, m.scale_log_sigma, peak_slot(0) * 24 / m.slots_per_day,
                (peak_slot(0) * 1440 / m.slots_per_day) % 60, m.shape[0][peak_slot(0)], m.season[max_season],
                max_season + 1, m.season[min_season], min_season + 1, p0 * 100, m.interval_sigma, m.day_sigma,
                m.day_phi, m.max_rate_per_hour * to_display, rate_unit);
  return buf;
}

std::string DiagnosticsSummary(const FitDiagnostics& d) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%lld complete days (%.1f %% without any use); day-to-day CV %.3f observed, %.3f from interval "
                "noise alone\n",
                static_cast<long long>(d.complete_days), 100 * d.zero_day_share, d.observed_day_cv, d.within_day_cv);
  return buf;
}

int RunFit(const FitArgs& args, std::ostream& out, std::ostream& err) {
  if (args.sgsc.empty() && args.daiad.empty()) {
    err << "sim fit: give --sgsc FILE and/or --daiad FILE\n";
    return 2;
  }
  // A kind not refitted keeps the compiled-in parameters.
  LoadModel model;
  if (args.sgsc.empty() || args.daiad.empty()) model = DefaultLoadModel();
  const bool to_stdout = args.out.empty() || args.out == "-";
  std::ostream& info = to_stdout ? err : out;
  FitDiagnostics elec_diag, water_diag;
  if (!args.sgsc.empty()) {
    Result<KindModel> r = FitElectricity(args.sgsc, &elec_diag);
    if (!r.ok()) {
      err << "sim fit: " << r.status().message() << "\n";
      return 2;
    }
    model.electricity = std::move(r).value();
  }
  if (!args.daiad.empty()) {
    Result<KindModel> r = FitWater(args.daiad, &water_diag);
    if (!r.ok()) {
      err << "sim fit: " << r.status().message() << "\n";
      return 2;
    }
    model.water = std::move(r).value();
  }
  info << FitSummary("electricity", model.electricity);
  if (!args.sgsc.empty()) info << "  " << DiagnosticsSummary(elec_diag);
  info << FitSummary("water", model.water);
  if (!args.daiad.empty()) info << "  " << DiagnosticsSummary(water_diag);
  const std::string json = LoadModelToJson(model);
  if (to_stdout) {
    out << json;
    return 0;
  }
  std::ofstream f(args.out, std::ios::binary | std::ios::trunc);
  f << json;
  f.close();
  if (!f) {
    err << "sim fit: cannot write " << args.out << "\n";
    return 2;
  }
  info << "wrote " << args.out << "\n";
  return 0;
}

}  // namespace mh::sim
