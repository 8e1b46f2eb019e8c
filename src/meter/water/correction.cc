#include "meter/water/correction.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mh::meter::water {

double Correction::Forward(double q) const {
  if (model == kLinear) return a1 * q + a2;
  return a * std::pow(std::max(q, 0.0), b) + c;
}

double Correction::Inverse(double raw) const {
  if (model == kLinear) return (raw - a2) / a1;
  const double x = (raw - c) / a;
  if (!(x > 0)) return 0.0;
  return std::pow(x, 1.0 / b);
}

Status Correction::Validate() const {
  auto in = [](double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  if (model == kLinear) {
    if (!in(a1, 0.5, 2.0)) return InvalidArgument("correction a1 " + std::to_string(a1) + " out of [0.5, 2]");
    if (!in(a2, -1.0, 1.0)) return InvalidArgument("correction a2 " + std::to_string(a2) + " out of [-1, 1] m3/h");
    return Status::Ok();
  }
  if (model != kPower) return InvalidArgument("correction model " + std::to_string(static_cast<int>(model)) + " unknown");
  if (!in(a, 0.5, 2.0)) return InvalidArgument("correction a " + std::to_string(a) + " out of [0.5, 2]");
  if (!in(b, 0.5, 2.0)) return InvalidArgument("correction b " + std::to_string(b) + " out of [0.5, 2]");
  if (!in(c, -1.0, 1.0)) return InvalidArgument("correction c " + std::to_string(c) + " out of [-1, 1] m3/h");
  return Status::Ok();
}

std::string Correction::ToString() const {
  char buf[128];
  if (model == kLinear) {
    std::snprintf(buf, sizeof buf, "linear a1=%.6g a2=%.6g", a1, a2);
  } else {
    std::snprintf(buf, sizeof buf, "power a=%.6g b=%.6g c=%.6g", a, b, c);
  }
  return buf;
}

}  // namespace mh::meter::water
