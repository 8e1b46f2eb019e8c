// Fitting the maintenance parameters (SPEC 3.4): q2 = f(q1), terminal flow against the reference
// flowmeter. Linear least squares with parameter standard errors; the power model
// q2 = a·q1^b + c by Levenberg–Marquardt (Eigen, unsupported/NonLinearOptimization) with the
// covariance σ²(JᵀJ)⁻¹ from the Jacobian at the optimum.
//
// Model choice (FitMapping): the power model replaces the line only when all of
//   at least kPowerMinFlowing (8) pairs with q1 ≥ kPowerFlowFloor (0.05 m³/h) — a curve is
//   estimated from flow, not from idle samples; every q1 ≥ −kMinSpread (idle noise; q1 ≤ 0 counts as no flow), sd(q1) ≥ kMinSpread,
//   LM converged;
//   the line is poor: its lack of fit is significant, F = (SSE_lin − SSE_pow) / (SSE_pow / (n − 3))
//     ≥ kPowerMinF (25, about a 5σ curvature; an F test with 1 and n − 3 degrees of freedom);
//   the power model is much better where it matters: the two curves differ by more than
//     kPowerMinGap (0.005 m³/h, half the absolute accuracy tolerance) at some observed q1.
// The power fit is only tried when a quadratic term is significant (F ≥ kCurvatureScreenF = 25 for
// the quadratic against the line, by normal equations): a cheap screen that spares the iterative
// fit on the straight windows, which are most of them.
// (A ratio of SSEs would not do: in a window of mostly zero flow the noise of the idle samples
// dominates both SSEs, and a real curve would never halve them.)
#pragma once

#include <optional>
#include <vector>

#include "meter/water/correction.h"
#include "water/pairing.h"

namespace mh::water {

// Below this standard deviation of q1 (m³/h, ten times a reference flowmeter's noise) a window has
// no flow spread: the slope is not identifiable and the linear fit is the offset model.
inline constexpr double kMinSpread = 0.01;
inline constexpr double kPowerMinF = 25.0;
inline constexpr int kPowerMinFlowing = 8;
inline constexpr double kPowerFlowFloor = 0.05;  // m³/h
inline constexpr double kCurvatureScreenF = 25.0;
inline constexpr double kPowerMinGap = 0.005;  // m³/h

struct LinearFit {
  double a1 = 1.0, a2 = 0.0;
  double se_a1 = 0.0, se_a2 = 0.0;  // standard errors (0 when n ≤ 2; infinite a1 when degenerate)
  // The slope's heteroscedasticity-consistent standard error (the HC3 sandwich, leverage-corrected):
  // honest when the noise grows with the flow, as a meter's does, and when a few flowing minutes
  // among idle ones carry the slope; se_a1 assumes one noise level for all samples and is
  // optimistic then. Infinite when degenerate or a single point carries the slope; 0 when n ≤ 2.
  double se_a1_robust = 0.0;
  double r2 = 0.0;                  // coefficient of determination of q2 on a1·q1 + a2
  double sse = 0.0;
  int n = 0;
  // True when sd(q1) < kMinSpread: the slope is unknowable and the fit is the offset model
  // a1 = 1, a2 = mean(q2 − q1).
  bool degenerate = false;
};

struct PowerFit {
  double a = 1.0, b = 1.0, c = 0.0;
  double se_a = 0.0, se_b = 0.0, se_c = 0.0;
  double r2 = 0.0;
  double sse = 0.0;
  int n = 0;
  bool converged = false;
};

// R² convention: 1 − SSE/SST; when SST is 0 (constant q2), 1 if SSE is 0 too, else 0.
LinearFit FitLinear(const std::vector<FlowPair>& pairs);
// Starts from the linear fit (a = a1, b = 1, c = a2). Needs n ≥ 3 and q1 ≥ −kMinSpread.
std::optional<PowerFit> FitPower(const std::vector<FlowPair>& pairs, const LinearFit& start);

struct Mapping {
  LinearFit linear;
  std::optional<PowerFit> power;         // present when it was tried and converged
  bool use_power = false;                // the rule in the file comment
  double power_f = 0;                    // the F statistic of the rule (0 when not tried)
  double power_gap = 0;                  // largest |power − line| at the observed q1, m³/h
  meter::water::Correction correction;   // the chosen f, as the terminal will apply it
  double r2 = 0.0;                       // of the chosen model
};
Mapping FitMapping(const std::vector<FlowPair>& pairs);

}  // namespace mh::water
