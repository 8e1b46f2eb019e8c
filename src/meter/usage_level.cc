#include "meter/usage_level.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/number_text.h"

namespace mh::meter {
namespace {

bool ParseInt64(std::string_view s, int64_t* out) {
  s = TrimBlanks(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool IsInfinity(std::string_view s) {
  s = TrimBlanks(s);
  return s == "∞" || s == "inf" || s == "INF" || s == "Inf" || s == "*" || s == "+∞";
}

}  // namespace

LevelTable LevelTable::Default() {
  LevelTable t;
  t.ranges_ = {{0, 0, 0}, {1, 1, 2}, {2, 3, 5}, {3, 6, kUnbounded}};
  return t;
}

Result<LevelTable> LevelTable::Parse(std::string_view text) {
  LevelTable t;
  size_t pos = 0;
  auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '\n' || c == '\r'; };
  while (true) {
    while (pos < text.size() && is_sep(text[pos])) ++pos;
    if (pos >= text.size()) break;
    // An item ends at its closing ']' or ')'.
    const size_t close = text.find_first_of("])", pos);
    if (close == std::string_view::npos) {
      return InvalidArgument("level table item '" + std::string(text.substr(pos)) + "' has no closing ] or )");
    }
    const std::string_view item = text.substr(pos, close + 1 - pos);
    pos = close + 1;
    const auto bad = [&](const std::string& why) {
      return InvalidArgument("level table item '" + std::string(item) + "': " + why);
    };
    const size_t colon = item.find(':');
    const size_t open = item.find('[');
    const size_t comma = item.find(',', open == std::string_view::npos ? 0 : open);
    if (colon == std::string_view::npos || open == std::string_view::npos || open < colon ||
        comma == std::string_view::npos) {
      return bad("expected LEVEL:[MIN,MAX]");
    }
    int64_t level = 0, lo = 0, hi = 0;
    if (!ParseInt64(item.substr(0, colon), &level) || level < 0 || level > 1000000) return bad("bad level");
    if (!TrimBlanks(item.substr(colon + 1, open - colon - 1)).empty()) return bad("expected [ after the colon");
    if (!ParseInt64(item.substr(open + 1, comma - open - 1), &lo) || lo < 0) return bad("bad minimum");
    const std::string_view hi_text = item.substr(comma + 1, item.size() - 1 - comma - 1);
    if (IsInfinity(hi_text)) {
      hi = kUnbounded;
    } else if (!ParseInt64(hi_text, &hi)) {
      return bad("bad maximum");
    } else if (item.back() == ')') {
      if (hi <= lo) return bad("empty range");
      hi -= 1;  // half-open
    }
    if (hi < lo) return bad("minimum above maximum");
    t.ranges_.push_back({static_cast<int>(level), lo, hi});
  }
  if (t.ranges_.empty()) return InvalidArgument("level table is empty");
  std::sort(t.ranges_.begin(), t.ranges_.end(),
            [](const LevelRange& a, const LevelRange& b) { return a.min < b.min; });
  for (size_t i = 1; i < t.ranges_.size(); ++i) {
    if (t.ranges_[i].min <= t.ranges_[i - 1].max) {
      return InvalidArgument("level table ranges of levels " + std::to_string(t.ranges_[i - 1].level) +
                             " and " + std::to_string(t.ranges_[i].level) + " overlap");
    }
  }
  return t;
}

Result<int> LevelTable::LevelOf(int64_t t) const {
  for (const LevelRange& r : ranges_) {
    if (t >= r.min && t <= r.max) return r.level;
  }
  return NotFound("no level covers start/stop count " + std::to_string(t));
}

std::string LevelTable::ToString() const {
  std::string s;
  for (const LevelRange& r : ranges_) {
    if (!s.empty()) s += ' ';
    s += std::to_string(r.level) + ":[" + std::to_string(r.min) + ",";
    s += r.max == kUnbounded ? std::string("∞)") : std::to_string(r.max) + "]";
  }
  return s;
}

Result<double> TrimmedMeanReference(std::vector<double> c, double trim) {
  if (!(trim >= 0 && trim < 0.5)) return InvalidArgument("trim must be in [0, 0.5)");
  const size_t m = c.size();
  const size_t k = static_cast<size_t>(std::floor(static_cast<double>(m) * trim + 1e-9));
  if (m == 0 || 2 * k >= m) {
    return InvalidArgument("no consumption left after trimming " + std::to_string(k) +
                           " values at each end of " + std::to_string(m));
  }
  std::sort(c.begin(), c.end());
  double sum = 0;
  for (size_t i = k; i < m - k; ++i) sum += c[i];
  return sum / static_cast<double>(m - 2 * k);
}

Result<std::vector<SubPeriodLevel>> ComputeUsageLevels(const std::vector<DetectionPoint>& points,
                                                       std::vector<int> sub_periods,
                                                       int slot_minutes,
                                                       const LevelOptions& options) {
  if (slot_minutes <= 0) return InvalidArgument("slot length must be positive");
  std::vector<double> values;
  values.reserve(points.size());
  for (const DetectionPoint& p : points) {
    if (!std::isfinite(p.consumption)) return InvalidArgument("a consumption is not finite");
    values.push_back(p.consumption);
  }
  MH_ASSIGN_OR_RETURN(const double ref, TrimmedMeanReference(std::move(values), options.trim));
  const double theta = options.theta.value_or(options.theta_factor * ref);
  std::sort(sub_periods.begin(), sub_periods.end());
  sub_periods.erase(std::unique(sub_periods.begin(), sub_periods.end()), sub_periods.end());
  std::vector<SubPeriodLevel> out;
  for (int sp : sub_periods) {
    int64_t t = 0;
    for (const DetectionPoint& p : points) {
      if (p.minute >= 0 && p.minute / slot_minutes == sp && std::fabs(p.consumption - ref) > theta) ++t;
    }
    Result<int> level = options.table.LevelOf(t);
    if (!level.ok()) return level.status().WithContext("sub-period " + std::to_string(sp));
    out.push_back({sp, t, *level});
  }
  return out;
}

}  // namespace mh::meter
