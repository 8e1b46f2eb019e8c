// SPEC 3 / 6: simulated water meters for the remote-maintenance method. Each meter is a terminal
// with a known fault (healthy, small drift within tolerance, linear gain+offset drift, offset
// drift, nonlinear drift, unsteady) and a reference flowmeter with its own small noise, both
// sampling one household's bursty flow every minute. Evaluates the pre-check and fit of
// src/water on meter-windows against the injected truth, and runs the closed loop (detect →
// command → terminal corrects → next windows verify) in process.
//
// Flow profile: the household's mean daily volume S and the hourly shape come from the fitted
// DAIAD water model (load_model.h, local time = UTC). Within an hour, the tap is a two-state
// Markov chain per minute (mean open spell 3 min) whose open share makes the expected volume
// S × shape[hour] / 24; an open tap runs at a log-normal flow (median 0.5 m³/h, σ 0.5, capped at
// 2.5 m³/h) held for the spell. 10 % of homes also have a steady trickle (0.005–0.02 m³/h).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "meter/water/correction.h"
#include "sim/rng.h"
#include "water/maintenance.h"
#include "water/precheck.h"

namespace mh::sim {

enum class WaterFault { kHealthy, kSmallDrift, kLinearDrift, kOffsetDrift, kNonlinearDrift, kUnsteady };
inline constexpr int kWaterFaults = 6;
const char* WaterFaultName(WaterFault f);

struct WaterSimOptions {
  int windows = 10000;                 // meter-windows; meters = ceil(windows / windows_per_meter)
  int windows_per_meter = 4;           // consecutive windows per meter (4 × 6 h = one day)
  uint64_t seed = 1;
  int64_t start = 1709510400;          // 2024-03-04T00:00:00Z, a Monday
  int64_t window_s = 6 * 3600;
  int interval_s = 60;
  // Fault mix (shares of meters, in WaterFault order; normalised).
  double share[kWaterFaults] = {0.40, 0.10, 0.20, 0.10, 0.10, 0.10};
  double flowmeter_noise_abs = 0.001;  // m³/h, N(0, σ) per sample
  double flowmeter_noise_rel = 0.002;  // × flow
  double terminal_noise_abs = 0.001;
  double terminal_noise_rel = 0.002;
  water::PreCheckOptions precheck;
  water::CaseOptions cases;            // the precision gate (max_se_a1, max_deferred_windows) among others
};

// One simulated meter: its fault and, for drifts, the true deviation model raw = f(q).
struct SimWaterMeter {
  std::string terminal_id, flowmeter_id, feature_code;
  WaterFault fault = WaterFault::kHealthy;
  meter::water::Correction truth;   // identity for healthy and unsteady
  double scale = 0.2;               // S, mean daily volume (m³)
  double trickle = 0.0;             // m³/h, continuous
  uint64_t stream = 0;              // seed of the meter's random streams
};

// The generator: meters and their windows of (q1 flowmeter, true flow, raw terminal) samples.
class WaterFleet {
 public:
  explicit WaterFleet(const WaterSimOptions& options);
  const std::vector<SimWaterMeter>& meters() const { return meters_; }
  // True flow, flowmeter reading and raw terminal reading for window `w` (0-based) of meter `m`.
  struct Sample {
    int64_t t;
    double q_true, q1, raw;
  };
  std::vector<Sample> Window(size_t m, int w) const;
  // The expected pre-check verdict of a window: steady for a drift whose deviation exceeds the
  // tolerance at some true flow of the window (SPEC 3.3's definition), unsteady for the unsteady
  // fault, none otherwise (healthy, small drift, or a drift the window's flows cannot show).
  water::Verdict Expected(size_t m, const std::vector<Sample>& s) const;

 private:
  WaterSimOptions o_;
  std::vector<SimWaterMeter> meters_;
};

struct WaterEvalReport {
  WaterSimOptions options;
  int meters = 0, windows = 0;
  // confusion[fault][verdict] over windows; verdict index = water::Verdict.
  uint64_t confusion[kWaterFaults][4] = {};
  // Expected (truth) vs got over windows: [expected][got].
  uint64_t truth_confusion[4][4] = {};
  // Linear-drift and offset-drift windows judged steady with a non-degenerate fit.
  uint64_t a1_windows = 0, a1_within_0_2pct = 0;
  double a1_err_mean = 0, a1_err_p95 = 0, a1_err_max = 0;   // |a1_fit − a1_true| / a1_true
  double a2_err_mean = 0, a2_err_p95 = 0;                   // |a2_fit − a2_true| m³/h
  // The same restricted to precise fits, se(a1) ≤ 0.1 % (the platform knows se(a1)).
  uint64_t a1_precise_windows = 0, a1_precise_within_0_2pct = 0;
  double a1_precise_err_mean = 0, a1_precise_err_p95 = 0;
  // Per linear/offset-drift meter caught in some window: the line fitted to all its windows pooled
  // (what MeterMaintenance's refit sees).
  uint64_t a1_pooled_meters = 0, a1_pooled_within_0_2pct = 0;
  double a1_pooled_err_mean = 0, a1_pooled_err_p95 = 0;
  uint64_t degenerate_steady = 0;   // steady windows with no flow spread (offset-only fit)
  // Where the per-window a1 error comes from: the same windows by flowing minutes (q1 ≥ 0.05 m³/h)
  // — buckets < 30, 30–99, ≥ 100.
  uint64_t a1_by_flow_windows[3] = {};
  double a1_by_flow_mean[3] = {};
  uint64_t a1_by_flow_within_0_2pct[3] = {};
  // The parameters a MeterMaintenance actually SENDS to the terminal over the meter's windows (the
  // first command of each linear/offset-drift meter; a linear correction): with the precision gate
  // (CaseOptions defaults: deferred and pooled while se(a1) is large) and without it (sent at once,
  // max_deferred_windows = 0). Same windows, terminal not acknowledging (only the first command).
  struct SentStats {
    uint64_t meters = 0, within_0_2pct = 0;
    double mean = 0, p95 = 0, max = 0;
    uint64_t forced = 0;              // of those, sent at the deferral limit with an imprecise fit
    double forced_mean = 0;
    uint64_t pending_at_end = 0;      // drift meters whose case was still deferring after the last window
    uint64_t healthy_commands = 0;    // healthy + small-drift meters that were sent a command
    uint64_t healthy_work_orders = 0;
    uint64_t drift_over_2pct_sent = 0;  // drifts above 2 % that got a command
    uint64_t drift_over_2pct_pending = 0;  // ... whose case was still pooling after the last window
  };
  SentStats sent_gated, sent_at_once;
  // Per meter over its windows.
  uint64_t drift_meters_over_2pct = 0, drift_meters_over_2pct_caught = 0;
  uint64_t drift_over_2pct_observable = 0, drift_over_2pct_observable_caught = 0;
  uint64_t healthy_meters = 0, healthy_false_work_orders = 0, healthy_false_commands = 0;
  uint64_t unsteady_meters = 0, unsteady_caught = 0;
  double seconds = 0;               // pre-check + fit time over all windows
  double windows_per_second = 0;
};

WaterEvalReport EvaluateWaterFleet(const WaterSimOptions& options);
void PrintWaterEval(const WaterEvalReport& r, std::ostream& out);

// The closed loop on drifting meters: windows in sequence; the first steady window opens a case,
// the terminal (meter::water::TerminalSelfMaintenance) applies the command at the window's end
// and acknowledges, and later windows are checked on what the corrected terminal reports.
struct ClosedLoopReport {
  int meters = 0;
  int cases = 0, closed = 0, refits = 0, work_orders = 0, open_at_end = 0;
  int windows_to_close_max = 0;     // windows from detection to the verifying window
  std::vector<water::HistoryRecord> history;  // all meters, in order
};
ClosedLoopReport RunWaterClosedLoop(const WaterSimOptions& options, int meters, int windows_per_meter);

// `meterhub sim water --windows N --seed S [--pairs-csv FILE] [--max-se-a1 F] [--max-deferred N]`: the evaluation report (and the
// first meters' pairs as a PAIRS.csv for `meterhub water check`). Exit 0, or 2 on bad usage.
int RunWaterSim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

}  // namespace mh::sim
