#include "water/precheck.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mh::water {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kNone: return "none";
    case Verdict::kSteady: return "steady";
    case Verdict::kUnsteady: return "unsteady";
    case Verdict::kTooFewPairs: return "too_few_pairs";
  }
  return "?";
}

PreCheckResult PreCheck(const std::vector<FlowPair>& pairs, const PreCheckOptions& o) {
  PreCheckResult r;
  r.pairs = static_cast<int>(pairs.size());
  char buf[256];
  if (r.pairs < o.min_pairs || r.pairs == 0) {
    r.verdict = Verdict::kTooFewPairs;
    std::snprintf(buf, sizeof buf, "too few pairs: %d < %d", r.pairs, o.min_pairs);
    r.reason = buf;
    return r;
  }
  const double n = static_cast<double>(pairs.size());
  int pos = 0, neg = 0, within = 0;
  for (const FlowPair& p : pairs) {
    const double d = p.q2 - p.q1;
    const double a = std::abs(d);
    if (a >= o.d_lo && a <= o.d_hi) (d > 0 ? pos : neg) += 1;
    if (a <= o.Tolerance(p.q1)) ++within;
  }
  r.share_form_a = std::max(pos, neg) / n;
  r.share_within_tol = within / n;
  r.mapping = FitMapping(pairs);
  r.max_excess = -INFINITY;
  double sse = 0;
  for (const FlowPair& p : pairs) {
    const double f = r.mapping.correction.Forward(p.q1);
    r.max_excess = std::max(r.max_excess, std::abs(f - p.q1) - o.Tolerance(p.q1));
    sse += (p.q2 - f) * (p.q2 - f);
  }
  r.rms_residual = std::sqrt(sse / n);
  const bool explained = r.mapping.r2 >= o.r2_min || r.rms_residual <= o.tol_abs / 2;
  if (r.share_form_a >= o.p_min) {
    r.verdict = Verdict::kSteady;
    r.form = 'A';
    std::snprintf(buf, sizeof buf, "steady (form A): %.1f%% of %d differences %s in [%g, %g] m3/h", 100 * r.share_form_a,
                  r.pairs, pos >= neg ? "positive" : "negative", o.d_lo, o.d_hi);
  } else if (explained && r.max_excess > 0) {
    r.verdict = Verdict::kSteady;
    r.form = 'B';
    std::snprintf(buf, sizeof buf, "steady (form B): %s, R2 %.4f, rms %.4f m3/h, exceeds tolerance by %.4f m3/h",
                  r.mapping.correction.ToString().c_str(), r.mapping.r2, r.rms_residual, r.max_excess);
  } else if (r.max_excess <= 0 && r.rms_residual <= o.tol_abs) {
    r.verdict = Verdict::kNone;
    std::snprintf(buf, sizeof buf, "none: %s within tolerance, rms %.4f m3/h", r.mapping.correction.ToString().c_str(),
                  r.rms_residual);
  } else {
    r.verdict = Verdict::kUnsteady;
    std::snprintf(buf, sizeof buf, "unsteady: R2 %.4f, rms %.4f m3/h, %.1f%% of pairs within tolerance",
                  r.mapping.r2, r.rms_residual, 100 * r.share_within_tol);
  }
  r.reason = buf;
  return r;
}

}  // namespace mh::water
