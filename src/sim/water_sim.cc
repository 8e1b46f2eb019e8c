#include "sim/water_sim.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <ostream>
#include <set>

#include <CLI/CLI.hpp>

#include "base/tool_args.h"
#include "core/time.h"
#include "meter/water/self_maintenance.h"
#include "sim/load_model.h"
#include "water/meter_maintenance.h"
#include "water/pairing.h"

namespace mh::sim {
namespace {

using meter::water::Correction;
using water::FlowPair;
using water::Verdict;

constexpr double kTapMedian = 0.5;      // m³/h, median flow of an open tap
constexpr double kTapSigma = 0.5;       // log-normal σ of the tap flow
constexpr double kTapMax = 2.5;         // m³/h, the meter's Q3-ish ceiling
constexpr double kSpellMinutes = 3.0;   // mean open spell
constexpr double kTrickleShare = 0.10;

double Sign(SimRng& rng) { return Uniform01(rng) < 0.5 ? -1.0 : 1.0; }

// The largest relative deviation of f over the operating range 0.3–1.5 m³/h: the drift "size".
double DriftSize(const Correction& f) {
  double worst = 0;
  for (double q = 0.3; q <= 1.5001; q += 0.01) worst = std::max(worst, std::abs(f.Forward(q) - q) / q);
  return worst;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * v.size())) - (p > 0 ? 1 : 0));
  return v[i];
}

std::vector<FlowPair> RawPairs(const std::vector<WaterFleet::Sample>& s) {
  std::vector<FlowPair> p;
  p.reserve(s.size());
  for (const auto& x : s) p.push_back({x.t, x.q1, x.raw});
  return p;
}

}  // namespace

const char* WaterFaultName(WaterFault f) {
  switch (f) {
    case WaterFault::kHealthy: return "healthy";
    case WaterFault::kSmallDrift: return "small_drift";
    case WaterFault::kLinearDrift: return "linear_drift";
    case WaterFault::kOffsetDrift: return "offset_drift";
    case WaterFault::kNonlinearDrift: return "nonlinear_drift";
    case WaterFault::kUnsteady: return "unsteady";
  }
  return "?";
}

WaterFleet::WaterFleet(const WaterSimOptions& o) : o_(o) {
  const KindModel& model = DefaultLoadModel().water;
  const int n = (o.windows + o.windows_per_meter - 1) / o.windows_per_meter;
  double total = 0;
  for (double s : o.share) total += s;
  for (int m = 0; m < n; ++m) {
    SimWaterMeter meter;
    char id[32];
    std::snprintf(id, sizeof id, "WT-%06d", m + 1);
    meter.terminal_id = id;
    std::snprintf(id, sizeof id, "FM-%06d", m + 1);
    meter.flowmeter_id = id;
    meter.feature_code = water::FeatureCodeOf(meter.terminal_id);
    meter.stream = MixSeed(o.seed, static_cast<uint64_t>(m), 1);
    SimRng rng(meter.stream);
    double u = Uniform01(rng) * total;
    int f = 0;
    while (f < kWaterFaults - 1 && u >= o.share[f]) u -= o.share[f++];
    meter.fault = static_cast<WaterFault>(f);
    meter.scale = std::exp(model.scale_log_mu + model.scale_log_sigma * Normal(rng));
    meter.trickle = Uniform01(rng) < kTrickleShare ? Uniform(rng, 0.005, 0.02) : 0.0;
    switch (meter.fault) {
      case WaterFault::kHealthy:
      case WaterFault::kUnsteady:
        break;
      case WaterFault::kSmallDrift:
        meter.truth = Correction::Linear(1 + Sign(rng) * Uniform(rng, 0, 0.01), Sign(rng) * Uniform(rng, 0, 0.003));
        break;
      case WaterFault::kLinearDrift:
        meter.truth = Correction::Linear(1 + Sign(rng) * Uniform(rng, 0.01, 0.08), Sign(rng) * Uniform(rng, 0, 0.02));
        break;
      case WaterFault::kOffsetDrift:
        meter.truth = Correction::Linear(1, Sign(rng) * Uniform(rng, 0.012, 0.08));
        break;
      case WaterFault::kNonlinearDrift:
        meter.truth = Correction::Power(1 + Sign(rng) * Uniform(rng, 0, 0.03), 1 + Sign(rng) * Uniform(rng, 0.03, 0.08), 0);
        break;
    }
    meters_.push_back(meter);
  }
}

std::vector<WaterFleet::Sample> WaterFleet::Window(size_t m, int w) const {
  const SimWaterMeter& meter = meters_[m];
  const KindModel& model = DefaultLoadModel().water;
  SimRng rng(MixSeed(meter.stream, static_cast<uint64_t>(w), 2));
  const int64_t start = o_.start + static_cast<int64_t>(w) * o_.window_s;
  const int n = static_cast<int>(o_.window_s / o_.interval_s);
  const double mean_tap = kTapMedian * std::exp(kTapSigma * kTapSigma / 2);
  std::vector<Sample> out;
  out.reserve(n);
  bool on = false;
  double tap = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t t = start + static_cast<int64_t>(i) * o_.interval_s;
    const int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    const DayType dt = DayTypeOfDay(day);
    const double shape = model.shape[static_cast<int>(dt)][model.SlotOf(t - day * 86400)];
    const double hourly = meter.scale * model.season[MonthOfDay(day)] * shape / 24.0;  // m³ in an hour
    const double p_on = std::clamp(hourly / mean_tap, 0.0, 0.9);
    const double p_start = p_on / (kSpellMinutes * (1 - p_on)) * (o_.interval_s / 60.0);
    const double p_stop = (o_.interval_s / 60.0) / kSpellMinutes;
    if (on) {
      if (Uniform01(rng) < p_stop) on = false;
    } else if (Uniform01(rng) < p_start) {
      on = true;
      tap = std::min(kTapMax, kTapMedian * std::exp(kTapSigma * Normal(rng)));
    }
    Sample s;
    s.t = t;
    s.q_true = (on ? tap : 0.0) + meter.trickle;
    s.q1 = s.q_true + o_.flowmeter_noise_abs * Normal(rng) + o_.flowmeter_noise_rel * s.q_true * Normal(rng);
    const double term_noise = o_.terminal_noise_abs * Normal(rng) + o_.terminal_noise_rel * s.q_true * Normal(rng);
    if (meter.fault == WaterFault::kUnsteady) {
      // An erratic sensor: a random gain per sample and a wandering zero.
      s.raw = s.q_true * (1 + 0.15 * Normal(rng)) + 0.03 * Normal(rng);
    } else {
      s.raw = meter.truth.Forward(s.q_true) + term_noise;
    }
    out.push_back(s);
  }
  return out;
}

Verdict WaterFleet::Expected(size_t m, const std::vector<Sample>& s) const {
  const SimWaterMeter& meter = meters_[m];
  if (meter.fault == WaterFault::kUnsteady) return Verdict::kUnsteady;
  if (meter.fault == WaterFault::kHealthy || meter.fault == WaterFault::kSmallDrift) return Verdict::kNone;
  for (const Sample& x : s) {
    if (std::abs(meter.truth.Forward(x.q_true) - x.q_true) > o_.precheck.Tolerance(x.q_true)) return Verdict::kSteady;
  }
  return Verdict::kNone;
}

WaterEvalReport EvaluateWaterFleet(const WaterSimOptions& o) {
  WaterEvalReport r;
  r.options = o;
  WaterFleet fleet(o);
  r.meters = static_cast<int>(fleet.meters().size());
  std::vector<double> a1_err, a2_err, a1_precise, a1_pooled;
  std::vector<double> sent_err[2];  // [gated, at once]
  water::CaseOptions case_options[2] = {o.cases, o.cases};
  case_options[1].max_deferred_windows = 0;
  WaterEvalReport::SentStats* sent_stats[2] = {&r.sent_gated, &r.sent_at_once};
  double seconds = 0;
  int done = 0;
  for (size_t m = 0; m < fleet.meters().size() && done < o.windows; ++m) {
    const SimWaterMeter& meter = fleet.meters()[m];
    bool any_steady = false, any_unsteady = false, observable = false;
    std::vector<FlowPair> pooled;
    const water::PairingEntry entry{meter.feature_code, meter.terminal_id, meter.flowmeter_id, ""};
    std::optional<water::MeterMaintenance> platforms[2];
    water::CaseOutputs outs[2];
    for (int k = 0; k < 2; ++k) platforms[k].emplace(entry, o.precheck, case_options[k]);
    for (int w = 0; w < o.windows_per_meter && done < o.windows; ++w, ++done) {
      const auto samples = fleet.Window(m, w);
      const auto pairs = RawPairs(samples);
      pooled.insert(pooled.end(), pairs.begin(), pairs.end());
      const auto t0 = std::chrono::steady_clock::now();
      const water::PreCheckResult pc = water::PreCheck(pairs, o.precheck);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const int64_t start = o.start + static_cast<int64_t>(w) * o.window_s;
      for (int k = 0; k < 2; ++k) {
        if (outs[k].commands.empty() && outs[k].work_orders.empty()) platforms[k]->OnWindow(start, pairs, start + o.window_s, &outs[k]);
      }
      const Verdict expected = fleet.Expected(m, samples);
      observable |= expected == Verdict::kSteady;
      ++r.confusion[static_cast<int>(meter.fault)][static_cast<int>(pc.verdict)];
      ++r.truth_confusion[static_cast<int>(expected)][static_cast<int>(pc.verdict)];
      any_steady |= pc.verdict == Verdict::kSteady;
      any_unsteady |= pc.verdict == Verdict::kUnsteady;
      if (pc.verdict == Verdict::kSteady && pc.mapping.linear.degenerate) ++r.degenerate_steady;
      if (pc.verdict == Verdict::kSteady && !pc.mapping.linear.degenerate &&
          (meter.fault == WaterFault::kLinearDrift || meter.fault == WaterFault::kOffsetDrift)) {
        a1_err.push_back(std::abs(pc.mapping.linear.a1 - meter.truth.a1) / meter.truth.a1);
        int flowing = 0;
        for (const FlowPair& p : pairs) flowing += p.q1 >= 0.05;
        const int b = flowing < 30 ? 0 : flowing < 100 ? 1 : 2;
        ++r.a1_by_flow_windows[b];
        r.a1_by_flow_mean[b] += a1_err.back();
        r.a1_by_flow_within_0_2pct[b] += a1_err.back() < 0.002;
        if (pc.mapping.linear.se_a1 <= 0.001 * pc.mapping.linear.a1) a1_precise.push_back(a1_err.back());
        a2_err.push_back(std::abs(pc.mapping.linear.a2 - meter.truth.a2));
      }
    }
    if (any_steady && (meter.fault == WaterFault::kLinearDrift || meter.fault == WaterFault::kOffsetDrift)) {
      const water::LinearFit f = water::FitLinear(pooled);
      if (!f.degenerate) a1_pooled.push_back(std::abs(f.a1 - meter.truth.a1) / meter.truth.a1);
    }
    const bool linear_truth = meter.fault == WaterFault::kLinearDrift || meter.fault == WaterFault::kOffsetDrift;
    for (int k = 0; k < 2; ++k) {
      WaterEvalReport::SentStats& st = *sent_stats[k];
      const bool sent = !outs[k].commands.empty();
      if (meter.fault == WaterFault::kHealthy || meter.fault == WaterFault::kSmallDrift) {
        st.healthy_commands += sent;
        st.healthy_work_orders += !outs[k].work_orders.empty();
      }
      if (meter.fault != WaterFault::kUnsteady && meter.fault != WaterFault::kHealthy && meter.fault != WaterFault::kSmallDrift &&
          DriftSize(meter.truth) > 0.02) {
        st.drift_over_2pct_sent += sent;
        const auto& pc = platforms[k]->current_case();
        st.drift_over_2pct_pending += pc && pc->state() == water::MaintenanceCase::State::kFitPending;
      }
      if (!linear_truth) continue;
      const auto& c = platforms[k]->current_case();
      if (c && c->state() == water::MaintenanceCase::State::kFitPending) ++st.pending_at_end;
      if (sent && outs[k].commands[0].correction.model == Correction::kLinear) {
        sent_err[k].push_back(std::abs(outs[k].commands[0].correction.a1 - meter.truth.a1) / meter.truth.a1);
        if (k == 0 && c && !c->sent_precise()) {
          ++st.forced;
          st.forced_mean += sent_err[k].back();
        }
      }
    }
    switch (meter.fault) {
      case WaterFault::kHealthy:
      case WaterFault::kSmallDrift:
        ++r.healthy_meters;
        r.healthy_false_work_orders += any_unsteady;
        r.healthy_false_commands += any_steady;
        break;
      case WaterFault::kUnsteady:
        ++r.unsteady_meters;
        r.unsteady_caught += any_unsteady;
        break;
      default:
        if (DriftSize(meter.truth) > 0.02) {
          ++r.drift_meters_over_2pct;
          r.drift_meters_over_2pct_caught += any_steady;
          r.drift_over_2pct_observable += observable;
          r.drift_over_2pct_observable_caught += observable && any_steady;
        }
    }
  }
  r.windows = done;
  r.seconds = seconds;
  r.windows_per_second = seconds > 0 ? done / seconds : 0;
  r.a1_windows = a1_err.size();
  for (double e : a1_err) {
    r.a1_err_mean += e / a1_err.size();
    r.a1_within_0_2pct += e < 0.002;
    r.a1_err_max = std::max(r.a1_err_max, e);
  }
  for (double e : a2_err) r.a2_err_mean += e / a2_err.size();
  r.a1_precise_windows = a1_precise.size();
  for (double e : a1_precise) {
    r.a1_precise_err_mean += e / a1_precise.size();
    r.a1_precise_within_0_2pct += e < 0.002;
  }
  r.a1_precise_err_p95 = Percentile(a1_precise, 0.95);
  r.a1_pooled_meters = a1_pooled.size();
  for (double e : a1_pooled) {
    r.a1_pooled_err_mean += e / a1_pooled.size();
    r.a1_pooled_within_0_2pct += e < 0.002;
  }
  r.a1_pooled_err_p95 = Percentile(a1_pooled, 0.95);
  r.a1_err_p95 = Percentile(a1_err, 0.95);
  for (int b = 0; b < 3; ++b) {
    if (r.a1_by_flow_windows[b] > 0) r.a1_by_flow_mean[b] /= static_cast<double>(r.a1_by_flow_windows[b]);
  }
  for (int k = 0; k < 2; ++k) {
    WaterEvalReport::SentStats& st = *sent_stats[k];
    st.meters = sent_err[k].size();
    for (double e : sent_err[k]) {
      st.mean += e / sent_err[k].size();
      st.within_0_2pct += e < 0.002;
      st.max = std::max(st.max, e);
    }
    st.p95 = Percentile(sent_err[k], 0.95);
    if (st.forced > 0) st.forced_mean /= static_cast<double>(st.forced);
  }
  r.a2_err_p95 = Percentile(a2_err, 0.95);
  return r;
}

void PrintWaterEval(const WaterEvalReport& r, std::ostream& out) {
  const WaterSimOptions& o = r.options;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "meterhub sim water: %d meter-windows (%d meters x %d windows of %llds, %ds samples), seed %llu\n",
                r.windows, r.meters, o.windows_per_meter, static_cast<long long>(o.window_s), o.interval_s,
                static_cast<unsigned long long>(o.seed));
  out << buf;
  out << "fault shares:";
  for (int f = 0; f < kWaterFaults; ++f) {
    std::snprintf(buf, sizeof buf, " %s %.2f", WaterFaultName(static_cast<WaterFault>(f)), o.share[f]);
    out << buf;
  }
  std::snprintf(buf, sizeof buf,
                "\nnoise: flowmeter %.4f m3/h + %.2f %%, terminal %.4f m3/h + %.2f %%; pre-check p_min %.2f, range "
                "%.3f..%.3f m3/h, r2_min %.2f, tolerance %.0f %% + %.3f m3/h\n",
                o.flowmeter_noise_abs, 100 * o.flowmeter_noise_rel, o.terminal_noise_abs, 100 * o.terminal_noise_rel,
                o.precheck.p_min, o.precheck.d_lo, o.precheck.d_hi, o.precheck.r2_min, 100 * o.precheck.tol_rel,
                o.precheck.tol_abs);
  out << buf;
  out << "\nverdicts per fault class (windows)\n";
  std::snprintf(buf, sizeof buf, "%-16s %8s %8s %8s %8s %8s\n", "fault", "windows", "none", "steady", "unsteady", "too_few");
  out << buf;
  for (int f = 0; f < kWaterFaults; ++f) {
    const auto& c = r.confusion[f];
    std::snprintf(buf, sizeof buf, "%-16s %8llu %8llu %8llu %8llu %8llu\n", WaterFaultName(static_cast<WaterFault>(f)),
                  static_cast<unsigned long long>(c[0] + c[1] + c[2] + c[3]), static_cast<unsigned long long>(c[0]),
                  static_cast<unsigned long long>(c[1]), static_cast<unsigned long long>(c[2]),
                  static_cast<unsigned long long>(c[3]));
    out << buf;
  }
  out << "\nexpected verdict (deviation beyond tolerance at the window's true flows) vs got (windows)\n";
  std::snprintf(buf, sizeof buf, "%-16s %8s %8s %8s %8s\n", "expected\\got", "none", "steady", "unsteady", "too_few");
  out << buf;
  uint64_t right = 0, total = 0;
  for (int e = 0; e < 3; ++e) {
    const auto& c = r.truth_confusion[e];
    std::snprintf(buf, sizeof buf, "%-16s %8llu %8llu %8llu %8llu\n", water::VerdictName(static_cast<Verdict>(e)),
                  static_cast<unsigned long long>(c[0]), static_cast<unsigned long long>(c[1]),
                  static_cast<unsigned long long>(c[2]), static_cast<unsigned long long>(c[3]));
    out << buf;
    right += c[e];
    for (int g = 0; g < 4; ++g) total += c[g];
  }
  std::snprintf(buf, sizeof buf, "verdict accuracy: %.2f %% (%llu of %llu windows)\n", total ? 100.0 * right / total : 0.0,
                static_cast<unsigned long long>(right), static_cast<unsigned long long>(total));
  out << buf;
  std::snprintf(buf, sizeof buf,
                "\nfit (linear and offset drifts, steady windows with flow spread: %llu)\n"
                "  |a1 error| relative: mean %.4f %%, p95 %.4f %%, max %.4f %%; below 0.2 %%: %.2f %%\n"
                "  precise fits only (se(a1) <= 0.1 %%: %llu windows): mean %.4f %%, p95 %.4f %%; below 0.2 %%: %.2f %%\n"
                "  pooled over the meter's %d windows (%llu meters): mean %.4f %%, p95 %.4f %%; below 0.2 %%: %.2f %%\n"
                "  |a2 error|: mean %.5f m3/h, p95 %.5f m3/h\n"
                "  steady windows without flow spread (offset-only fit, a1 = 1): %llu\n",
                static_cast<unsigned long long>(r.a1_windows), 100 * r.a1_err_mean, 100 * r.a1_err_p95, 100 * r.a1_err_max,
                r.a1_windows ? 100.0 * r.a1_within_0_2pct / r.a1_windows : 0.0,
                static_cast<unsigned long long>(r.a1_precise_windows), 100 * r.a1_precise_err_mean, 100 * r.a1_precise_err_p95,
                r.a1_precise_windows ? 100.0 * r.a1_precise_within_0_2pct / r.a1_precise_windows : 0.0,
                o.windows_per_meter, static_cast<unsigned long long>(r.a1_pooled_meters), 100 * r.a1_pooled_err_mean,
                100 * r.a1_pooled_err_p95, r.a1_pooled_meters ? 100.0 * r.a1_pooled_within_0_2pct / r.a1_pooled_meters : 0.0,
                r.a2_err_mean, r.a2_err_p95,
                static_cast<unsigned long long>(r.degenerate_steady));
  out << buf;
  out << "  by flowing minutes (q1 >= 0.05 m3/h) in the window:";
  const char* bucket[3] = {"< 30", "30-99", ">= 100"};
  for (int b = 0; b < 3; ++b) {
    std::snprintf(buf, sizeof buf, "%s %s: %llu windows, mean %.4f %%, below 0.2 %% %.1f %%", b ? ";" : "", bucket[b],
                  static_cast<unsigned long long>(r.a1_by_flow_windows[b]), 100 * r.a1_by_flow_mean[b],
                  r.a1_by_flow_windows[b] ? 100.0 * r.a1_by_flow_within_0_2pct[b] / r.a1_by_flow_windows[b] : 0.0);
    out << buf;
  }
  out << "\n";
  const water::CaseOptions& gate = o.cases;
  out << "\nparameters SENT to the terminals (first command of each linear/offset-drift meter, over its windows)\n";
  for (int k = 0; k < 2; ++k) {
    const WaterEvalReport::SentStats& st = k == 0 ? r.sent_gated : r.sent_at_once;
    if (k == 0) {
      std::snprintf(buf, sizeof buf, "  precision gate (send when se(a1) <= %.2f %%, else pool up to %d more windows):\n",
                    100 * gate.max_se_a1, gate.max_deferred_windows);
    } else {
      std::snprintf(buf, sizeof buf, "  sent at once from the detecting window (no gate):\n");
    }
    out << buf;
    if (k == 0) {
      std::snprintf(buf, sizeof buf, "    of which sent at the pooling limit with an imprecise fit: %llu, |a1 error| mean %.4f %%\n",
                    static_cast<unsigned long long>(st.forced), 100 * st.forced_mean);
      out << buf;
    }
    std::snprintf(buf, sizeof buf,
                  "    %llu meters: |a1 error| mean %.4f %%, p95 %.4f %%, max %.4f %%; below 0.2 %%: %.2f %%; still pooling at the "
                  "end: %llu\n    healthy + small-drift meters sent a command: %llu, work orders: %llu; drifts above 2 %% sent "
                  "a command: %llu of %llu (still pooling: %llu)\n",
                  static_cast<unsigned long long>(st.meters), 100 * st.mean, 100 * st.p95, 100 * st.max,
                  st.meters ? 100.0 * st.within_0_2pct / st.meters : 0.0, static_cast<unsigned long long>(st.pending_at_end),
                  static_cast<unsigned long long>(st.healthy_commands), static_cast<unsigned long long>(st.healthy_work_orders),
                  static_cast<unsigned long long>(st.drift_over_2pct_sent),
                  static_cast<unsigned long long>(r.drift_meters_over_2pct),
                  static_cast<unsigned long long>(st.drift_over_2pct_pending));
    out << buf;
  }
  std::snprintf(buf, sizeof buf,
                "\nper meter (over its %d windows)\n"
                "  drifts above 2 %% (0.3-1.5 m3/h): %llu meters, caught %llu (%.2f %%); observable in some window %llu, "
                "caught %llu\n"
                "  healthy + small-drift meters: %llu, false work orders %llu, false commands %llu\n"
                "  unsteady meters: %llu, work orders %llu\n",
                o.windows_per_meter, static_cast<unsigned long long>(r.drift_meters_over_2pct),
                static_cast<unsigned long long>(r.drift_meters_over_2pct_caught),
                r.drift_meters_over_2pct ? 100.0 * r.drift_meters_over_2pct_caught / r.drift_meters_over_2pct : 0.0,
                static_cast<unsigned long long>(r.drift_over_2pct_observable),
                static_cast<unsigned long long>(r.drift_over_2pct_observable_caught),
                static_cast<unsigned long long>(r.healthy_meters), static_cast<unsigned long long>(r.healthy_false_work_orders),
                static_cast<unsigned long long>(r.healthy_false_commands), static_cast<unsigned long long>(r.unsteady_meters),
                static_cast<unsigned long long>(r.unsteady_caught));
  out << buf;
  std::snprintf(buf, sizeof buf, "\nthroughput: pre-check + fit of %d windows (%d pairs each) in %.3f s = %.0f meter-windows/s (one core)\n",
                r.windows, static_cast<int>(o.window_s / o.interval_s), r.seconds, r.windows_per_second);
  out << buf;
}

ClosedLoopReport RunWaterClosedLoop(const WaterSimOptions& options, int meters, int windows_per_meter) {
  WaterSimOptions o = options;
  o.windows = meters * windows_per_meter;
  o.windows_per_meter = windows_per_meter;
  // Drifting meters only: the loop is about curing them.
  const double drift[kWaterFaults] = {0, 0, 0.5, 0.25, 0.25, 0};
  std::copy(std::begin(drift), std::end(drift), o.share);
  WaterFleet fleet(o);
  ClosedLoopReport r;
  r.meters = static_cast<int>(fleet.meters().size());
  for (size_t m = 0; m < fleet.meters().size(); ++m) {
    const SimWaterMeter& meter = fleet.meters()[m];
    const water::PairingEntry entry{meter.feature_code, meter.terminal_id, meter.flowmeter_id, "+8613800000000"};
    meter::water::TerminalSelfMaintenance terminal(meter.feature_code);
    water::MeterMaintenance platform(entry, o.precheck, o.cases);
    water::CaseOutputs out;
    int detected_at = -1;
    for (int w = 0; w < windows_per_meter; ++w) {
      const auto samples = fleet.Window(m, w);
      std::vector<FlowPair> pairs;
      for (const auto& s : samples) pairs.push_back({s.t, s.q1, terminal.Report(s.raw)});
      const int64_t start = o.start + static_cast<int64_t>(w) * o.window_s;
      const int64_t now = start + o.window_s;  // checked when the window closes
      const size_t before = out.commands.size();
      const bool had_case = platform.current_case().has_value();
      platform.OnWindow(start, pairs, now, &out);
      const auto& c = platform.current_case();
      if (!had_case && c) detected_at = w;
      if (c && c->state() == water::MaintenanceCase::State::kClosed && detected_at >= 0) {
        r.windows_to_close_max = std::max(r.windows_to_close_max, w - detected_at);
        detected_at = -1;
      }
      // The terminal is online: it receives and acknowledges each new command at once.
      for (size_t k = before; k < out.commands.size(); ++k) {
        auto ack = terminal.Apply(out.commands[k], now);
        if (ack.ok()) (void)platform.OnAck(*ack, now, &out);
      }
    }
    r.cases += platform.cases_opened();
    const auto history = platform.History();
    for (const auto& h : history) {
      r.closed += h.event == "closed";
      r.refits += h.event == "refit";
      r.work_orders += h.event == "work_order";
    }
    if (platform.current_case() && !platform.current_case()->final()) ++r.open_at_end;
    r.history.insert(r.history.end(), history.begin(), history.end());
  }
  return r;
}

int RunWaterSim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  static constexpr char kUsage[] =
      "usage: meterhub sim water [--windows 10000] [--seed 1] [--loop-meters 200] [--pairs-csv FILE]\n"
      "                          [--max-se-a1 0.0007] [--max-deferred 3]\n"
      "  evaluates the water pre-check and fit (SPEC 3) on simulated meter-windows (4 windows of 6 h per\n"
      "  meter) against the injected faults, and runs the closed loop on --loop-meters drifting meters\n"
      "  over 16 windows (4 days); --pairs-csv writes the first 20 meters' windows as a PAIRS.csv.\n"
      "  --max-se-a1 / --max-deferred: the precision gate before parameters are sent (relative se(a1);\n"
      "  windows to pool at most, 0 = send at once).\n";
  WaterSimOptions o;
  int loop_meters = 200;
  std::string pairs_csv;
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
  }
  // Values are taken as text and checked here, each with the tool's own wording.
  std::map<std::string, std::string> values;
  CLI::App app;
  for (const char* name : {"--windows", "--loop-meters", "--seed", "--max-se-a1", "--max-deferred", "--pairs-csv"}) {
    app.add_option(name, values[name]);
  }
  if (Status s = ParseToolArgs(app, argv); !s.ok()) {
    err << "meterhub sim water: " << s.message() << "\n" << kUsage;
    return 2;
  }
  for (const auto& [a, v] : values) {
    if (app.get_option(a)->count() == 0) continue;
    char* end = nullptr;
    if (a == "--windows" || a == "--loop-meters") {
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 10000000 || (a == "--windows" && n < 1)) {
        err << "meterhub sim water: " << a << " '" << v << "' is not a count\n";
        return 2;
      }
      (a == "--windows" ? o.windows : loop_meters) = static_cast<int>(n);
    } else if (a == "--seed") {
      const unsigned long long s = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-') {
        err << "meterhub sim water: --seed '" << v << "' is not a number\n";
        return 2;
      }
      o.seed = s;
    } else if (a == "--max-se-a1") {
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || !(x > 0 && x < 1)) {
        err << "meterhub sim water: --max-se-a1 '" << v << "' is not a fraction in (0, 1)\n";
        return 2;
      }
      o.cases.max_se_a1 = x;
    } else if (a == "--max-deferred") {
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 1000) {
        err << "meterhub sim water: --max-deferred '" << v << "' is not a count of windows\n";
        return 2;
      }
      o.cases.max_deferred_windows = static_cast<int>(n);
    } else if (a == "--pairs-csv") {
      pairs_csv = v;
    }
  }
  if (!pairs_csv.empty()) {
    std::ofstream f(pairs_csv, std::ios::binary);
    if (!f) {
      err << "meterhub sim water: cannot write '" << pairs_csv << "'\n";
      return 2;
    }
    WaterFleet fleet(o);
    f << "feature_code,timestamp,flowmeter,terminal\n";
    char buf[128];
    for (size_t m = 0; m < std::min<size_t>(20, fleet.meters().size()); ++m) {
      for (int w = 0; w < o.windows_per_meter; ++w) {
        for (const auto& s : fleet.Window(m, w)) {
          std::snprintf(buf, sizeof buf, ",%.4f,%.4f\n", s.q1, s.raw);
          f << fleet.meters()[m].feature_code << "," << FormatIsoUtc(s.t) << buf;
        }
      }
    }
  }
  const WaterEvalReport r = EvaluateWaterFleet(o);
  PrintWaterEval(r, out);
  if (loop_meters > 0) {
    const ClosedLoopReport loop = RunWaterClosedLoop(o, loop_meters, 16);
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "\nclosed loop (%d drifting meters, 16 windows each, terminal acks at once): cases %d, closed clean %d, "
                  "refits %d, work orders %d, still open %d; detection to verified <= %d windows\n",
                  loop.meters, loop.cases, loop.closed, loop.refits, loop.work_orders, loop.open_at_end,
                  loop.windows_to_close_max);
    out << buf;
  }
  return 0;
}

}  // namespace mh::sim
