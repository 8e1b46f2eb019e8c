// SPEC 4.1 and 4.4: the tamper-audit monitoring schedule — the cycle length D, the D equal windows
// of the day, which window a day of the cycle monitors, and the label-adjusted cycle D'.
// Exact: tests compare values. Times are UTC epoch seconds; days start at local midnight.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::meter::audit {

inline constexpr int64_t kDaySeconds = 86400;

struct CycleOptions {
  double time_weight = 1.0;  // w
  int d_min = 1;             // D_min
  int d_max = 7;             // D_max
  double epsilon = 1e-9;     // ε in max(Ē, ε): a region that consumed nothing
};

// Quantified user attribute Q (SPEC 4.1): smaller = watched more closely.
inline constexpr double kEnterpriseQ = 1.0;
inline constexpr double kResidentialQ = 3.0;

// Ē: the mean of the other meters of the region last period; 0 when there are none.
double RegionMean(const std::vector<double>& others);

// D = clamp(round(w·Q / (1 + |E_h − Ē| / max(Ē, ε))), D_min, D_max); round = half away from zero
// (std::lround). InvalidArgument for a non-finite input, Q <= 0, w <= 0 or D_min > D_max.
Result<int> CycleLength(double e_h, double e_mean, double q, const CycleOptions& options = {});

// D' = max(1, round(C / (1 + λ·(s1 + s2)))), round = half away from zero.
struct AdjustOptions {
  double cycle_constant = 3.0;  // C
  double label_weight = 0.1;    // λ
};
int AdjustedCycleLength(int start_labels, int end_labels, const AdjustOptions& options = {});

// One monitoring window: [start, end) in seconds after local midnight. Window w (1-based) of D:
// start = floor((w−1)·86400 / D), end = floor(w·86400 / D), so the D windows tile the day exactly
// (D = 7 gives lengths of 12342 or 12343 s).
struct WindowSpan {
  int64_t start = 0;
  int64_t end = 0;
  int64_t length() const { return end - start; }
  bool operator==(const WindowSpan&) const = default;
};
WindowSpan WindowOf(int window, int d);

// A cycle: D days from `first_day` (local epoch day number); day i (1-based) monitors window i.
struct Cycle {
  int64_t first_day = 0;
  int d = 3;
  int32_t tz_offset_s = 0;  // seconds east of UTC of the meter's local day

  // The window monitored on local day `day`, 1..D; 0 when `day` is outside the cycle.
  int WindowOnDay(int64_t day) const;
  // The local day on which window `window` (1..D) is monitored.
  int64_t DayOfWindow(int window) const { return first_day + window - 1; }
  // UTC epoch seconds of window `window`'s start and end in this cycle.
  int64_t WindowStartUtc(int window) const;
  int64_t WindowEndUtc(int window) const;
  // The first day after the cycle.
  int64_t EndDay() const { return first_day + d; }
  bool operator==(const Cycle&) const = default;
};

// Local epoch day of a UTC instant in zone `tz_offset_s`.
int64_t LocalDay(int64_t utc_s, int32_t tz_offset_s);
// "2026-11-20" for a local epoch day, and back (InvalidArgument naming the text).
std::string FormatDay(int64_t day);
Result<int64_t> ParseDay(const std::string& text);

}  // namespace mh::meter::audit
