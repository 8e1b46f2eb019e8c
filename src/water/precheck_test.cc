#include "water/precheck.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mh::water {
namespace {

// q1 sweeps 0.1 … 1.5 m³/h; q2 = f(q1) + a deterministic ±jitter.
std::vector<FlowPair> Window(const std::function<double(double)>& f, double jitter = 0, int n = 60) {
  std::vector<FlowPair> p;
  for (int i = 0; i < n; ++i) {
    const double q = 0.1 + 1.4 * i / (n - 1);
    p.push_back({i * 60, q, f(q) + ((i % 2) ? jitter : -jitter)});
  }
  return p;
}

TEST(PreCheck, TooFewPairsSaysSo) {
  const PreCheckResult r = PreCheck({{0, 1, 1.1}, {60, 1, 1.1}});
  EXPECT_EQ(r.verdict, Verdict::kTooFewPairs);
  EXPECT_EQ(r.reason, "too few pairs: 2 < 3");
}

TEST(PreCheck, FormAConstantOffset) {
  const PreCheckResult r = PreCheck(Window([](double q) { return q + 0.05; }, 0.004));
  EXPECT_EQ(r.verdict, Verdict::kSteady);
  EXPECT_EQ(r.form, 'A');
  EXPECT_DOUBLE_EQ(r.share_form_a, 1.0);
  EXPECT_NEAR(r.mapping.linear.a1, 1.0, 1e-3);
  EXPECT_NEAR(r.mapping.linear.a2, 0.05, 1e-3);
}

TEST(PreCheck, FormANegativeOffsetOnZeroFlow) {
  std::vector<FlowPair> p;
  for (int i = 0; i < 20; ++i) p.push_back({i * 60, 0.0, -0.03});
  const PreCheckResult r = PreCheck(p);
  EXPECT_EQ(r.verdict, Verdict::kSteady);
  EXPECT_EQ(r.form, 'A');
  EXPECT_TRUE(r.mapping.linear.degenerate);
  EXPECT_NEAR(r.mapping.linear.a2, -0.03, 1e-12);
}

TEST(PreCheck, FormAThresholdEdges) {
  // |d| exactly at d_lo and d_hi counts; just outside does not.
  PreCheckOptions o;
  EXPECT_EQ(PreCheck(Window([](double q) { return q + 0.5; }), o).form, 'A');
  auto below = Window([](double q) { return q + 0.009; });
  EXPECT_NE(PreCheck(below, o).form, 'A');
}

TEST(PreCheck, FormBGainDrift) {
  // d = 0.05·q: below d_lo at the low flows, so form A fails, but the line is clear.
  const PreCheckResult r = PreCheck(Window([](double q) { return 1.05 * q; }, 0.002));
  EXPECT_EQ(r.verdict, Verdict::kSteady);
  EXPECT_EQ(r.form, 'B');
  EXPECT_NEAR(r.mapping.linear.a1, 1.05, 1e-3);
  EXPECT_NEAR(r.mapping.linear.a2, 0.0, 1e-3);
  EXPECT_GT(r.max_excess, 0.0);
}

TEST(PreCheck, FormBNonlinear) {
  const PreCheckResult r = PreCheck(Window([](double q) { return 0.9 * std::pow(q, 0.8); }, 0.0, 120));
  EXPECT_EQ(r.verdict, Verdict::kSteady);
  EXPECT_EQ(r.form, 'B');
  EXPECT_TRUE(r.mapping.use_power);
  EXPECT_NEAR(r.mapping.power->b, 0.8, 1e-6);
}

TEST(PreCheck, NoneWithinTolerance) {
  // A 1 % gain error: inside 2 % + 0.01 m³/h everywhere.
  const PreCheckResult r = PreCheck(Window([](double q) { return 1.01 * q; }, 0.003));
  EXPECT_EQ(r.verdict, Verdict::kNone);
  EXPECT_LE(r.max_excess, 0.0);
  EXPECT_DOUBLE_EQ(r.share_within_tol, 1.0);
}

TEST(PreCheck, UnsteadyWhenErratic) {
  // ±0.2 m³/h alternating around the truth: no consistent sign, no good mapping, out of tolerance.
  const PreCheckResult r = PreCheck(Window([](double q) { return q; }, 0.2));
  EXPECT_EQ(r.verdict, Verdict::kUnsteady);
  EXPECT_LT(r.mapping.r2, 0.98);
}

TEST(PreCheck, UnsteadyWhenFitIsGoodButNotAMapping) {
  // Half the window reads +0.2, the other half is right: R² is poor, and no sign dominates.
  std::vector<FlowPair> p;
  for (int i = 0; i < 40; ++i) p.push_back({i * 60, 0.5, 0.5 + (i < 20 ? 0.2 : 0.0)});
  EXPECT_EQ(PreCheck(p).verdict, Verdict::kUnsteady);
}

TEST(PreCheck, MinShareOption) {
  // 90 % of the differences at +0.05, 10 % at 0: form A only with p_min ≤ 0.9.
  std::vector<FlowPair> p;
  for (int i = 0; i < 50; ++i) p.push_back({i * 60, 0.0, i % 10 == 0 ? 0.0 : 0.05});
  PreCheckOptions o;
  EXPECT_NE(PreCheck(p, o).form, 'A');
  o.p_min = 0.9;
  EXPECT_EQ(PreCheck(p, o).form, 'A');
}

}  // namespace
}  // namespace mh::water
