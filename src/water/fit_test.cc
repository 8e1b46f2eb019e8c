#include "water/fit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace mh::water {
namespace {

std::vector<FlowPair> Make(int n, const std::function<double(double)>& f, double noise = 0, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> eps(0, 1);
  std::vector<FlowPair> p;
  for (int i = 0; i < n; ++i) {
    const double q = 0.05 + 1.5 * i / (n - 1);
    p.push_back({i * 60, q, f(q) + noise * eps(rng)});
  }
  return p;
}

TEST(FitLinear, ExactCoefficients) {
  const LinearFit f = FitLinear(Make(50, [](double q) { return 1.04 * q + 0.015; }));
  EXPECT_NEAR(f.a1, 1.04, 1e-12);
  EXPECT_NEAR(f.a2, 0.015, 1e-12);
  EXPECT_NEAR(f.r2, 1.0, 1e-12);
  EXPECT_NEAR(f.se_a1, 0.0, 1e-9);
  EXPECT_FALSE(f.degenerate);
}

TEST(FitLinear, StandardErrorsMatchTheory) {
  // x = 0..3, y = 2,2,6,6: a1 = a2 = 1.6, SSE = 3.2, s² = 1.6, Sxx = 5.
  std::vector<FlowPair> p = {{0, 0, 2}, {0, 1, 2}, {0, 2, 6}, {0, 3, 6}};
  const LinearFit f = FitLinear(p);
  EXPECT_NEAR(f.a1, 1.6, 1e-12);
  EXPECT_NEAR(f.a2, 1.6, 1e-12);
  EXPECT_NEAR(f.sse, 3.2, 1e-12);
  EXPECT_NEAR(f.se_a1, std::sqrt(1.6 / 5), 1e-12);
  EXPECT_NEAR(f.se_a2, std::sqrt(1.6 * (0.25 + 2.25 / 5)), 1e-12);
}

TEST(FitLinear, NoSpreadFallsBackToOffset) {
  std::vector<FlowPair> p = {{0, 0, 0.02}, {60, 0, 0.02}, {120, 0, 0.02}};
  const LinearFit f = FitLinear(p);
  EXPECT_TRUE(f.degenerate);
  EXPECT_DOUBLE_EQ(f.a1, 1.0);
  EXPECT_NEAR(f.a2, 0.02, 1e-15);
  EXPECT_DOUBLE_EQ(f.r2, 1.0);  // constant q2, explained exactly
}

TEST(FitPower, ExactCoefficientsAndChosenOverLine) {
  const auto p = Make(120, [](double q) { return 1.1 * std::pow(q, 0.8) + 0.01; });
  const Mapping m = FitMapping(p);
  ASSERT_TRUE(m.power.has_value());
  EXPECT_TRUE(m.power->converged);
  EXPECT_NEAR(m.power->a, 1.1, 1e-6);
  EXPECT_NEAR(m.power->b, 0.8, 1e-6);
  EXPECT_NEAR(m.power->c, 0.01, 1e-6);
  EXPECT_TRUE(m.use_power);
  EXPECT_EQ(m.correction.model, meter::water::Correction::kPower);
  EXPECT_NEAR(m.correction.Inverse(1.1 * std::pow(0.7, 0.8) + 0.01), 0.7, 1e-6);
}

TEST(FitPower, NoisyCurveGivesUncertainties) {
  const auto p = Make(360, [](double q) { return 0.95 * std::pow(q, 1.15) + 0.02; }, 0.003, 7);
  const Mapping m = FitMapping(p);
  ASSERT_TRUE(m.use_power);
  EXPECT_NEAR(m.power->b, 1.15, 4 * m.power->se_b);
  EXPECT_GT(m.power->se_b, 0.0);
  EXPECT_LT(m.power->se_b, 0.02);
}

TEST(FitMapping, LineStaysLinearUnderNoise) {
  const auto p = Make(360, [](double q) { return 1.03 * q - 0.02; }, 0.003, 3);
  const Mapping m = FitMapping(p);
  EXPECT_FALSE(m.use_power);
  EXPECT_NEAR(m.linear.a1, 1.03, 4 * m.linear.se_a1);
  EXPECT_NEAR(m.correction.a2, -0.02, 4 * m.linear.se_a2);
}

// The HC3 slope error, by hand: x = 0..3, residuals ±0.01 orthogonal to x, Sxx = 5, leverages
// h = 0.7, 0.3, 0.3, 0.7: sqrt(Σ(x−x̄)²r²/(1−h)²) / Sxx = sqrt(2·2.25e-4/0.09 + 2·0.25e-4/0.49) / 5
// = 0.0142857 (the classical one: 0.0063246). Larger than the classical one when the big residuals
// sit at the big flows (noise growing with flow); infinite without spread.
TEST(FitLinear, RobustSlopeError) {
  std::vector<FlowPair> p = {{0, 0.0, 0.01}, {60, 1.0, 0.99}, {120, 2.0, 1.99}, {180, 3.0, 3.01}};
  LinearFit f = FitLinear(p);
  EXPECT_NEAR(f.a1, 1.0, 1e-12);
  EXPECT_NEAR(f.se_a1_robust, 0.0142857143, 1e-9);
  EXPECT_NEAR(f.se_a1, 0.0063245553, 1e-9);
  std::vector<FlowPair> growing;
  for (int i = 0; i < 40; ++i) {
    const double q = 0.05 * i;
    growing.push_back({i * 60, q, q + (i % 2 == 0 ? 1 : -1) * 0.01 * q * q});
  }
  f = FitLinear(growing);
  EXPECT_GT(f.se_a1_robust, 1.2 * f.se_a1);
  EXPECT_TRUE(std::isinf(FitLinear({{0, 0.2, 0.3}, {60, 0.2, 0.31}, {120, 0.2, 0.29}}).se_a1_robust));
}

}  // namespace
}  // namespace mh::water
