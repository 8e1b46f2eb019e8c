#include "sim/fleet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "core/time.h"

namespace mh::sim {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

double Round3(double v) { return std::round(v * 1000.0) / 1000.0; }

std::string Format3(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string MakeId(char prefix, int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%06d", prefix, n);
  return buf;
}

}  // namespace

const char* MeterKindName(MeterKind kind) { return kind == MeterKind::kElectricity ? "electricity" : "water"; }

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNullMissing: return "null_missing";
    case FaultKind::kNullText: return "null_text";
    case FaultKind::kNullZero: return "null_zero";
    case FaultKind::kBackwardStep: return "backward_step";
    case FaultKind::kSpike: return "spike";
    case FaultKind::kForgottenAppliance: return "forgotten_appliance";
  }
  return "?";
}

std::optional<Verdict> ExpectedVerdict(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNullMissing:
    case FaultKind::kNullText:
    case FaultKind::kNullZero: return Verdict::kNull;
    case FaultKind::kBackwardStep: return Verdict::kError;
    case FaultKind::kSpike: return Verdict::kSudden;
    case FaultKind::kForgottenAppliance: return std::nullopt;
  }
  return std::nullopt;
}

void WriteGroundTruthCsv(const std::vector<InjectedFault>& faults, std::ostream& out) {
  out << "meter_id,kind,ts,ts_end,true_value,reported\n";
  for (const InjectedFault& f : faults)
    out << f.meter_id << ',' << FaultKindName(f.kind) << ',' << FormatIsoUtc(f.ts) << ',' << FormatIsoUtc(f.ts_end)
        << ',' << Format3(f.true_value) << ',' << f.reported << '\n';
}

Fleet::Fleet(const LoadModel& model, const FleetOptions& options, int64_t start_ts)
    : model_(model), options_(options), start_ts_(start_ts), now_(start_ts) {
  const int n = std::max(0, options_.meters);
  const int n_elec = std::clamp(static_cast<int>(std::lround(n * options_.electricity_share)), 0, n);
  tick_s_ = std::gcd(std::max<int64_t>(1, options_.electricity_interval_s), std::max<int64_t>(1, options_.water_interval_s));
  meters_.reserve(n);
  state_.reserve(n);
  for (int i = 0; i < n; ++i) {
    SimMeter m;
    const bool elec = i < n_elec;
    m.kind = elec ? MeterKind::kElectricity : MeterKind::kWater;
    m.id = elec ? MakeId('E', i + 1) : MakeId('W', i - n_elec + 1);
    m.interval_s = std::max<int64_t>(1, elec ? options_.electricity_interval_s : options_.water_interval_s);
    MeterState s;
    s.load_rng = SimRng(MixSeed(options_.seed, static_cast<uint64_t>(i), 0));
    s.fault_rng = SimRng(MixSeed(options_.seed, static_cast<uint64_t>(i), 1));
    const KindModel& km = ModelOf(m);
    m.scale = std::exp(km.scale_log_mu + km.scale_log_sigma * std::clamp(Normal(s.load_rng), -4.0, 4.0));
    // A register that has been running for a few months to several years.
    m.start_register = Round3(m.scale * Uniform(s.load_rng, 100, 3000));
    s.true_register = m.start_register;
    s.last_good_reported = m.start_register;
    s.log_day = km.day_sigma * Normal(s.load_rng);  // stationary start of the AR(1)
    s.appliance_per_hour = std::max(elec ? options_.appliance_kw : options_.appliance_m3_per_h,
                                    options_.appliance_min_days * m.scale / 24);
    meters_.push_back(std::move(m));
    state_.push_back(std::move(s));
  }
}

void Fleet::StartDay(size_t index, int64_t local_day) {
  const SimMeter& m = meters_[index];
  MeterState& s = state_[index];
  const KindModel& km = ModelOf(m);
  if (s.day != std::numeric_limits<int64_t>::min()) {
    s.log_day = km.day_phi * s.log_day + std::sqrt(1 - km.day_phi * km.day_phi) * km.day_sigma * Normal(s.load_rng);
  }
  s.day = local_day;
  s.day_type = static_cast<int>(DayTypeOfDay(local_day));
  s.day_scale = m.scale * km.season[MonthOfDay(local_day)] * std::exp(s.log_day - km.day_sigma * km.day_sigma / 2);
  s.appliance_today = false;
  const int64_t day_start = local_day * 86400 - options_.utc_offset_s;
  const double u = Uniform01(s.fault_rng);
  // Only whole days: the fleet's first, partial day never gets one.
  if (u < options_.faults.forgotten_appliance && day_start >= start_ts_) {
    s.appliance_today = true;
    ground_truth_.push_back(
        {m.id, FaultKind::kForgottenAppliance, day_start, day_start + 86400, s.appliance_per_hour * 24, ""});
  }
}

void Fleet::Step(size_t index, int64_t t, const std::function<void(const Reading&)>& sink) {
  const SimMeter& m = meters_[index];
  MeterState& s = state_[index];
  const KindModel& km = ModelOf(m);

  // The reading at t closes the interval [t − interval, t); its start decides day and slot.
  const int64_t local_start = t - m.interval_s + options_.utc_offset_s;
  const int64_t day = FloorDiv(local_start, 86400);
  if (day != s.day) StartDay(index, day);
  // = km.Expected(scale, local_start, interval) × day factor, with the day's part computed once a day.
  const int slot = km.SlotOf(local_start - day * 86400);
  const double p0 = km.zero_prob[s.day_type][slot];
  const double expected = s.day_scale * km.shape[s.day_type][slot] * static_cast<double>(m.interval_s) / 86400.0;
  const double u = Uniform01(s.load_rng);
  const double e = Normal(s.load_rng);
  double amount = s.carry;
  if (u >= p0) {
    const double sigma = km.interval_sigma;
    amount += expected / (1 - p0) * std::exp(sigma * e - sigma * sigma / 2);
  }
  // No interval exceeds the largest rate seen in the data; what a heavy draw asks beyond it runs
  // on into the next intervals (the long shower), so the mean is kept.
  const double cap = km.max_rate_per_hour * m.interval_s / 3600.0;
  s.carry = std::max(0.0, amount - cap);
  amount -= s.carry;
  if (s.appliance_today) amount += s.appliance_per_hour * static_cast<double>(m.interval_s) / 3600.0;
  s.true_register += amount;
  const double value = Round3(s.true_register);

  Reading r;
  r.meter_id = m.id;
  r.ts = t;
  r.value = value;
  const FaultRates& f = options_.faults;
  const double v = Uniform01(s.fault_rng);
  std::optional<FaultKind> fault;
  if (v < f.null_reading) {
    const int which = std::min(2, static_cast<int>(Uniform01(s.fault_rng) * 3));
    fault = which == 0 ? FaultKind::kNullMissing : which == 1 ? FaultKind::kNullText : FaultKind::kNullZero;
    r.value = which == 2 ? std::optional<double>(0.0) : std::nullopt;
    r.raw_value = which == 1 ? "ERR" : "";
  } else if (v < f.null_reading + f.backward_step) {
    if (s.last_good_reported >= 0.02) {
      // 0.1–1 % of the register, at least 10 units of resolution.
      const double step = std::max(0.01, s.last_good_reported * Uniform(s.fault_rng, 0.001, 0.01));
      fault = FaultKind::kBackwardStep;
      r.value = Round3(std::max(0.0, s.last_good_reported - step));
    }
  } else if (v < f.null_reading + f.backward_step + f.spike) {
    // 5–50 days of this household's consumption in one interval.
    fault = FaultKind::kSpike;
    r.value = Round3(value + m.scale * Uniform(s.fault_rng, 5, 50));
  }
  if (fault) {
    ground_truth_.push_back({m.id, *fault, t, t, value, r.value ? Format3(*r.value) : r.raw_value});
  } else {
    s.last_good_reported = value;
  }
  sink(r);
}

void Fleet::AdvanceTo(int64_t t_to, const std::function<void(const Reading&)>& sink) {
  for (int64_t t = (FloorDiv(now_, tick_s_) + 1) * tick_s_; t <= t_to; t += tick_s_) {
    for (size_t i = 0; i < meters_.size(); ++i)
      if (t % meters_[i].interval_s == 0) Step(i, t, sink);
  }
  now_ = std::max(now_, t_to);
}

std::vector<Reading> Fleet::NextReadings(int64_t t_to) {
  std::vector<Reading> out;
  AdvanceTo(t_to, [&](const Reading& r) { out.push_back(r); });
  return out;
}

std::vector<InjectedFault> Fleet::TakeGroundTruth() {
  std::vector<InjectedFault> out;
  out.swap(ground_truth_);
  return out;
}

}  // namespace mh::sim
