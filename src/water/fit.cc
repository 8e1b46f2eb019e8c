#include "water/fit.h"

#include <cmath>
#include <limits>

#include <Eigen/Dense>
#include <unsupported/Eigen/NonLinearOptimization>

namespace mh::water {
namespace {

double R2(double sse, double sst) {
  if (sst <= 1e-18) return sse <= 1e-18 ? 1.0 : 0.0;
  return 1.0 - sse / sst;
}

double Sst(const std::vector<FlowPair>& p) {
  double mean = 0;
  for (const auto& x : p) mean += x.q2;
  mean /= static_cast<double>(p.size());
  double s = 0;
  for (const auto& x : p) s += (x.q2 - mean) * (x.q2 - mean);
  return s;
}

// Residuals r_i = a·q1^b + c − q2 and their Jacobian, for Eigen's MINPACK-style LM.
struct PowerResiduals {
  using Scalar = double;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;
  const std::vector<FlowPair>* p;
  std::vector<double> log_q;  // ln q1 (NaN for q1 ≤ 0): q^b = exp(b·ln q) without a pow per call
  int inputs() const { return 3; }
  int values() const { return static_cast<int>(p->size()); }
  int operator()(const Eigen::VectorXd& x, Eigen::VectorXd& f) const {
    for (size_t i = 0; i < p->size(); ++i) {
      const double q = (*p)[i].q1;
      f[i] = x[0] * (q > 0 ? std::exp(x[1] * log_q[i]) : 0.0) + x[2] - (*p)[i].q2;
    }
    return 0;
  }
  int df(const Eigen::VectorXd& x, Eigen::MatrixXd& j) const {
    for (size_t i = 0; i < p->size(); ++i) {
      const double q = (*p)[i].q1;
      const double qb = q > 0 ? std::exp(x[1] * log_q[i]) : 0.0;
      j(i, 0) = qb;
      j(i, 1) = q > 0 ? x[0] * qb * log_q[i] : 0.0;  // q^b·ln q → 0 as q → 0
      j(i, 2) = 1.0;
    }
    return 0;
  }
};

// Residual sum of squares of the quadratic q2 = α + β·x + γ·x² (x = q1 centred and scaled), by
// normal equations: a cheap screen for curvature before the iterative power fit.
double QuadraticSse(const std::vector<FlowPair>& p) {
  double mx = 0, sd = 0;
  for (const auto& x : p) mx += x.q1;
  mx /= static_cast<double>(p.size());
  for (const auto& x : p) sd += (x.q1 - mx) * (x.q1 - mx);
  sd = std::sqrt(sd / static_cast<double>(p.size()));
  if (sd <= 0) return INFINITY;
  Eigen::Matrix3d ata = Eigen::Matrix3d::Zero();
  Eigen::Vector3d atb = Eigen::Vector3d::Zero();
  for (const auto& x : p) {
    const double u = (x.q1 - mx) / sd;
    const Eigen::Vector3d row(1.0, u, u * u);
    ata += row * row.transpose();
    atb += row * x.q2;
  }
  const Eigen::Vector3d c = ata.ldlt().solve(atb);
  double sse = 0;
  for (const auto& x : p) {
    const double u = (x.q1 - mx) / sd;
    const double r = x.q2 - (c[0] + c[1] * u + c[2] * u * u);
    sse += r * r;
  }
  return sse;
}

}  // namespace

LinearFit FitLinear(const std::vector<FlowPair>& p) {
  LinearFit f;
  f.n = static_cast<int>(p.size());
  if (p.empty()) {
    f.degenerate = true;
    return f;
  }
  const double n = static_cast<double>(p.size());
  double mx = 0, my = 0;
  for (const auto& x : p) {
    mx += x.q1;
    my += x.q2;
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0;
  for (const auto& x : p) {
    sxx += (x.q1 - mx) * (x.q1 - mx);
    sxy += (x.q1 - mx) * (x.q2 - my);
  }
  // No spread in q1 (all samples at one flow, e.g. a night of zero flow or a steady trickle): only
  // the offset is known. A spread within the flowmeter's noise would fit a slope to the noise.
  if (p.size() < 2 || sxx <= kMinSpread * kMinSpread * n) {
    f.degenerate = true;
    f.a1 = 1.0;
    f.a2 = my - mx;
    for (const auto& x : p) f.sse += (x.q2 - x.q1 - f.a2) * (x.q2 - x.q1 - f.a2);
    f.se_a1 = f.se_a1_robust = std::numeric_limits<double>::infinity();
    f.se_a2 = p.size() > 1 ? std::sqrt(f.sse / (n - 1) / n) : 0.0;
    f.r2 = R2(f.sse, Sst(p));
    return f;
  }
  f.a1 = sxy / sxx;
  f.a2 = my - f.a1 * mx;
  // Σ (x − x̄)² r² / (1 − h)², h = 1/n + (x − x̄)²/Sxx the leverage (HC3): a window of idle minutes
  // and one or two flowing ones puts all the slope on those few high-leverage points, whose
  // residuals the line forces near zero — r/(1 − h) is the residual the point would have if it
  // were left out, which is what the slope actually risks.
  double meat = 0;
  for (const auto& x : p) {
    const double r = x.q2 - (f.a1 * x.q1 + f.a2);
    f.sse += r * r;
    const double d2 = (x.q1 - mx) * (x.q1 - mx);
    const double h = 1.0 / n + d2 / sxx;
    meat += h < 1.0 - 1e-9 ? d2 * r * r / ((1.0 - h) * (1.0 - h)) : std::numeric_limits<double>::infinity();
  }
  if (p.size() > 2) {
    const double s2 = f.sse / (n - 2);
    f.se_a1 = std::sqrt(s2 / sxx);
    f.se_a2 = std::sqrt(s2 * (1.0 / n + mx * mx / sxx));
    f.se_a1_robust = std::sqrt(meat) / sxx;
  }
  f.r2 = R2(f.sse, Sst(p));
  return f;
}

std::optional<PowerFit> FitPower(const std::vector<FlowPair>& p, const LinearFit& start) {
  if (p.size() < 3) return std::nullopt;
  // Idle samples read a little below zero from the flowmeter's noise; the model treats q1 ≤ 0 as
  // no flow. Real reverse flow is outside the power model.
  for (const auto& x : p) {
    if (!(x.q1 >= -kMinSpread)) return std::nullopt;
  }
  PowerResiduals fn{&p, {}};
  fn.log_q.reserve(p.size());
  for (const auto& x : p) fn.log_q.push_back(x.q1 > 0 ? std::log(x.q1) : 0.0);
  Eigen::VectorXd x(3);
  x << start.a1, 1.0, start.a2;
  Eigen::LevenbergMarquardt<PowerResiduals> lm(fn);
  lm.parameters.maxfev = 400;
  const auto status = lm.minimize(x);
  PowerFit f;
  f.n = static_cast<int>(p.size());
  f.a = x[0];
  f.b = x[1];
  f.c = x[2];
  f.converged = status == Eigen::LevenbergMarquardtSpace::RelativeReductionTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::RelativeErrorTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::RelativeErrorAndReductionTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::CosinusTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::FtolTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::XtolTooSmall ||
                status == Eigen::LevenbergMarquardtSpace::GtolTooSmall;
  if (!x.allFinite()) return std::nullopt;
  Eigen::VectorXd r(p.size());
  fn(x, r);
  f.sse = r.squaredNorm();
  f.r2 = R2(f.sse, Sst(p));
  Eigen::MatrixXd j(p.size(), 3);
  fn.df(x, j);
  const Eigen::Matrix3d jtj = j.transpose() * j;
  Eigen::FullPivLU<Eigen::Matrix3d> lu(jtj);
  if (p.size() > 3 && lu.isInvertible()) {
    const Eigen::Matrix3d cov = lu.inverse() * (f.sse / static_cast<double>(p.size() - 3));
    f.se_a = std::sqrt(std::max(cov(0, 0), 0.0));
    f.se_b = std::sqrt(std::max(cov(1, 1), 0.0));
    f.se_c = std::sqrt(std::max(cov(2, 2), 0.0));
  } else {
    f.se_a = f.se_b = f.se_c = std::numeric_limits<double>::infinity();
  }
  return f;
}

Mapping FitMapping(const std::vector<FlowPair>& p) {
  Mapping m;
  m.linear = FitLinear(p);
  m.correction = meter::water::Correction::Linear(m.linear.a1, m.linear.a2);
  m.r2 = m.linear.r2;
  int flowing = 0;
  for (const auto& x : p) flowing += x.q1 >= kPowerFlowFloor ? 1 : 0;
  if (flowing >= kPowerMinFlowing && !m.linear.degenerate) {
    // Screen: without a significant quadratic term there is no curvature for a power law to find.
    const double n = static_cast<double>(p.size());
    const double q_sse = QuadraticSse(p);
    const double f_quad = (m.linear.sse - q_sse) / std::max(q_sse / (n - 3), 1e-30);
    if (f_quad >= kCurvatureScreenF) m.power = FitPower(p, m.linear);
    if (m.power && !m.power->converged) m.power.reset();
    if (m.power) {
      const double f_stat = (m.linear.sse - m.power->sse) / std::max(m.power->sse / (n - 3), 1e-30);
      double gap = 0;
      for (const auto& x : p) {
        const double lin = m.linear.a1 * x.q1 + m.linear.a2;
        const double pw = m.power->a * (x.q1 > 0 ? std::pow(x.q1, m.power->b) : 0.0) + m.power->c;
        gap = std::max(gap, std::abs(pw - lin));
      }
      m.power_f = f_stat;
      m.power_gap = gap;
      if (f_stat >= kPowerMinF && gap > kPowerMinGap) {
      m.use_power = true;
      m.correction = meter::water::Correction::Power(m.power->a, m.power->b, m.power->c);
      m.r2 = m.power->r2;
      }
    }
  }
  return m;
}

}  // namespace mh::water
