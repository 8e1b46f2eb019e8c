// The pre-check of seed 001 (claims 3, 4; SPEC 3.3) over one window of (q1 flowmeter, q2 terminal)
// pairs, d = q2 − q1, tol(q) = tol_rel·|q| + tol_abs. Tests, in this order (the first that decides wins):
//   0. fewer than min_pairs pairs                → kTooFewPairs (nothing is concluded);
//   1. form A: the larger of the shares of pairs with d > 0 and d_lo ≤ |d| ≤ d_hi, or with d < 0
//      and d_lo ≤ |d| ≤ d_hi, is ≥ p_min           → kSteady (form A);
//   2. fit f (fit.h). f "explains the data" when R²(f) ≥ r2_min, or when the RMS residual
//      around f is ≤ tol_abs / 2 (see below). Form B: f explains the data and, at some observed
//      q1, |f(q1) − q1| > tol(q1)                   → kSteady (form B);
//   3. none: |f(q1) − q1| ≤ tol(q1) at every observed q1, and the RMS residual around f is
//      ≤ tol_abs (the scatter itself is within the accuracy tolerance) → kNone;
//   4. otherwise (no form, and the data scatter beyond tolerance) → kUnsteady (on-site work order).
// Edge cases: R² compares the misfit with the spread of q2; in a window with little or no flow
// spread (a night at zero flow, a trickle) that spread is only noise and R² says nothing, so a
// residual RMS within half the absolute tolerance also counts as explained — otherwise a constant
// offset just above tolerance, blurred by noise across d_lo, would read as unsteady. A window with
// no spread in q1 fits the offset model a1 = 1, a2 = mean d (fit.h). "Observed q1" is the set of
// q1 values of the window (a line's largest deviation is at its ends, which are observed values).
#pragma once

#include <string>
#include <vector>

#include "water/fit.h"
#include "water/pairing.h"

namespace mh::water {

struct PreCheckOptions {
  double p_min = 0.95;     // form A share, and the share of pairs within tolerance for "none"
  double d_lo = 0.01;      // form A threshold range for |d|, m³/h
  double d_hi = 0.5;
  double r2_min = 0.98;    // form B: the mapping must explain the data this well
  double tol_rel = 0.02;   // accuracy tolerance: 2 % of the flow …
  double tol_abs = 0.01;   // … + 0.01 m³/h (OIML R49 class 2)
  int min_pairs = 3;       // fewer pairs: too few to judge
  double Tolerance(double q) const { return tol_rel * (q < 0 ? -q : q) + tol_abs; }
};

enum class Verdict { kNone, kSteady, kUnsteady, kTooFewPairs };
const char* VerdictName(Verdict v);  // "none", "steady", "unsteady", "too_few_pairs"

struct PreCheckResult {
  Verdict verdict = Verdict::kTooFewPairs;
  char form = 0;                   // 'A' or 'B' when steady
  int pairs = 0;
  double share_form_a = 0;         // the larger same-sign in-range share
  double share_within_tol = 0;     // share of pairs with |d| ≤ tol(q1) (reported, not a test)
  double rms_residual = 0;         // RMS of q2 − f(q1), m³/h
  double max_excess = 0;           // max over observed q1 of |f(q1) − q1| − tol(q1)
  Mapping mapping;                 // the fit (absent for kTooFewPairs)
  std::string reason;              // one line for logs and the maintenance history
};

PreCheckResult PreCheck(const std::vector<FlowPair>& pairs, const PreCheckOptions& options = {});

}  // namespace mh::water
