// The correction a water meter terminal applies to its raw flow after remote maintenance (SPEC 3.5):
// the platform fitted raw = f(true) against the reference flowmeter; the terminal reports
// f⁻¹(raw). Portable (base only): the same code runs in the terminal and in the platform's checks.
#pragma once

#include <string>

#include "base/status.h"

namespace mh::meter::water {

// f(q) = a1·q + a2 (linear) or f(q) = a·q^b + c (power, q ≥ 0). Identity: linear 1, 0.
struct Correction {
  enum Model { kLinear = 1, kPower = 2 };
  Model model = kLinear;
  double a1 = 1.0, a2 = 0.0;        // linear
  double a = 1.0, b = 1.0, c = 0.0;  // power

  static Correction Identity() { return {}; }
  static Correction Linear(double a1, double a2) { return {kLinear, a1, a2, 1.0, 1.0, 0.0}; }
  static Correction Power(double a, double b, double c) { return {kPower, 1.0, 0.0, a, b, c}; }

  // The deviation model: what a terminal with this fault reports for true flow q.
  double Forward(double q) const;
  // q_corrected = f⁻¹(q_raw). Power model: raw below c (or of the wrong sign) corrects to 0,
  // because f maps q ≥ 0 onto [c, ∞) when a > 0.
  double Inverse(double q_raw) const;
  // Checks a correction is safe to apply: finite, slope/gain within [0.5, 2], |offset| ≤ 1 m³/h,
  // exponent within [0.5, 2]. The message names the parameter.
  Status Validate() const;
  std::string ToString() const;
};

}  // namespace mh::meter::water
