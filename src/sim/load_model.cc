#include "sim/load_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/time.h"

namespace mh::sim {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;  // written in a logical field order

constexpr int kFormat = 1;
// The generated header holds the committed params as a raw string (see CMakeLists.txt).
constexpr const char kCompiledParams[] =
#include "sim/load_model_params.inc"
    ;

const char* DayTypeKey(int d) { return d == 0 ? "weekday" : "weekend"; }

// Five significant digits keep the committed file readable and its diffs small.
double Round5(double v) {
  if (v == 0.0 || !std::isfinite(v)) return v;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", v);
  return std::strtod(buf, nullptr);
}

ojson RoundedArray(const double* v, size_t n) {
  ojson a = ojson::array();
  for (size_t i = 0; i < n; ++i) a.push_back(Round5(v[i]));
  return a;
}

ojson KindToJson(const KindModel& k) {
  ojson j;
  j["unit"] = k.unit;
  j["source"] = k.source;
  j["households"] = k.households;
  j["samples"] = k.samples;
  j["slots_per_day"] = k.slots_per_day;
  j["scale_log_mu"] = Round5(k.scale_log_mu);
  j["scale_log_sigma"] = Round5(k.scale_log_sigma);
  j["mean_daily"] = Round5(k.mean_daily);
  j["season"] = RoundedArray(k.season.data(), k.season.size());
  for (int d = 0; d < kDayTypes; ++d) j["shape"][DayTypeKey(d)] = RoundedArray(k.shape[d].data(), k.shape[d].size());
  for (int d = 0; d < kDayTypes; ++d)
    j["zero_prob"][DayTypeKey(d)] = RoundedArray(k.zero_prob[d].data(), k.zero_prob[d].size());
  j["interval_sigma"] = Round5(k.interval_sigma);
  j["day_sigma"] = Round5(k.day_sigma);
  j["day_phi"] = Round5(k.day_phi);
  j["max_rate_per_hour"] = Round5(k.max_rate_per_hour);
  return j;
}

Result<KindModel> KindFromJson(const json& j, const std::string& name) {
  KindModel k;
  try {
    k.unit = j.at("unit").get<std::string>();
    k.source = j.value("source", "");
    k.households = j.value("households", 0);
    k.samples = j.value("samples", int64_t{0});
    k.slots_per_day = j.at("slots_per_day").get<int>();
    k.scale_log_mu = j.at("scale_log_mu").get<double>();
    k.scale_log_sigma = j.at("scale_log_sigma").get<double>();
    k.mean_daily = j.at("mean_daily").get<double>();
    const auto season = j.at("season").get<std::vector<double>>();
    if (season.size() != 12) return InvalidArgument(name + ".season: expected 12 months");
    std::copy(season.begin(), season.end(), k.season.begin());
    for (int d = 0; d < kDayTypes; ++d) {
      k.shape[d] = j.at("shape").at(DayTypeKey(d)).get<std::vector<double>>();
      k.zero_prob[d] = j.at("zero_prob").at(DayTypeKey(d)).get<std::vector<double>>();
    }
    k.interval_sigma = j.at("interval_sigma").get<double>();
    k.day_sigma = j.at("day_sigma").get<double>();
    k.day_phi = j.at("day_phi").get<double>();
    k.max_rate_per_hour = j.at("max_rate_per_hour").get<double>();
  } catch (const json::exception& e) {
    return InvalidArgument(name + ": " + e.what());
  }
  Status s = k.Validate();
  if (!s.ok()) return s.WithContext(name);
  return k;
}

// Pretty-prints with arrays of numbers on one line, so the committed file reads like a table.
void Print(const ojson& j, int indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (j.is_object()) {
    out += "{\n";
    size_t i = 0;
    for (auto it = j.begin(); it != j.end(); ++it, ++i) {
      out += pad + "  " + ojson(it.key()).dump() + ": ";
      Print(it.value(), indent + 2, out);
      out += i + 1 < j.size() ? ",\n" : "\n";
    }
    out += pad + "}";
  } else if (j.is_array()) {
    out += "[";
    for (size_t i = 0; i < j.size(); ++i) {
      if (i > 0) out += ", ";
      Print(j[i], indent + 2, out);
    }
    out += "]";
  } else {
    out += j.dump();
  }
}

}  // namespace

DayType DayTypeOfDay(int64_t local_day) {
  // 1970-01-01 was a Thursday: (day + 4) mod 7 gives 0 = Sunday .. 6 = Saturday.
  const int64_t w = ((local_day + 4) % 7 + 7) % 7;
  return (w == 0 || w == 6) ? DayType::kWeekend : DayType::kWeekday;
}

int MonthOfDay(int64_t local_day) {
  int y;
  unsigned m, d;
  CivilFromDays(local_day, &y, &m, &d);
  return static_cast<int>(m) - 1;
}

double KindModel::Expected(double scale, int64_t local_start, int64_t dt) const {
  const int64_t day = local_start >= 0 ? local_start / 86400 : (local_start - 86399) / 86400;
  const int64_t sod = local_start - day * 86400;
  const int dtype = static_cast<int>(DayTypeOfDay(day));
  return scale * season[MonthOfDay(day)] * shape[dtype][SlotOf(sod)] * static_cast<double>(dt) / 86400.0;
}

Status KindModel::Validate() const {
  auto finite_pos = [](double v) { return std::isfinite(v) && v > 0; };
  if (slots_per_day != 24 && slots_per_day != 48 && slots_per_day != 96)
    return InvalidArgument("slots_per_day must be 24, 48 or 96");
  if (!std::isfinite(scale_log_mu)) return InvalidArgument("scale_log_mu is not finite");
  if (!(scale_log_sigma >= 0 && scale_log_sigma < 3)) return InvalidArgument("scale_log_sigma out of [0, 3)");
  if (!finite_pos(mean_daily)) return InvalidArgument("mean_daily must be > 0");
  double season_mean = 0;
  for (double v : season) {
    if (!finite_pos(v)) return InvalidArgument("season factors must be > 0");
    season_mean += v / 12;
  }
  if (std::abs(season_mean - 1) > 0.05) return InvalidArgument("season factors must average 1");
  double week_mean = 0;
  for (int d = 0; d < kDayTypes; ++d) {
    if (static_cast<int>(shape[d].size()) != slots_per_day)
      return InvalidArgument(std::string("shape.") + DayTypeKey(d) + " must have slots_per_day values");
    if (static_cast<int>(zero_prob[d].size()) != slots_per_day)
      return InvalidArgument(std::string("zero_prob.") + DayTypeKey(d) + " must have slots_per_day values");
    for (double v : shape[d]) {
      if (!finite_pos(v)) return InvalidArgument("shape values must be > 0");
      week_mean += v * (d == 0 ? 5.0 : 2.0) / 7.0 / slots_per_day;
    }
    for (double p : zero_prob[d])
      if (!(p >= 0 && p < 1)) return InvalidArgument("zero_prob values must be in [0, 1)");
  }
  if (std::abs(week_mean - 1) > 0.01) return InvalidArgument("shape must average 1 over a week");
  if (!(interval_sigma >= 0 && interval_sigma < 5)) return InvalidArgument("interval_sigma out of [0, 5)");
  if (!(day_sigma >= 0 && day_sigma < 5)) return InvalidArgument("day_sigma out of [0, 5)");
  if (!(day_phi > -1 && day_phi < 1)) return InvalidArgument("day_phi out of (-1, 1)");
  if (!finite_pos(max_rate_per_hour)) return InvalidArgument("max_rate_per_hour must be > 0");
  return Status::Ok();
}

std::string LoadModelToJson(const LoadModel& model) {
  ojson j;
  j["format"] = kFormat;
  j["electricity"] = KindToJson(model.electricity);
  j["water"] = KindToJson(model.water);
  std::string out;
  Print(j, 0, out);
  return out + "\n";
}

Result<LoadModel> LoadModelFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("load model: not a JSON object");
  if (j.value("format", 0) != kFormat)
    return InvalidArgument("load model: unsupported format (expected " + std::to_string(kFormat) + ")");
  if (!j.contains("electricity") || !j.contains("water"))
    return InvalidArgument("load model: needs 'electricity' and 'water'");
  LoadModel m;
  MH_ASSIGN_OR_RETURN(m.electricity, KindFromJson(j["electricity"], "electricity"));
  MH_ASSIGN_OR_RETURN(m.water, KindFromJson(j["water"], "water"));
  return m;
}

const LoadModel& DefaultLoadModel() {
  static const LoadModel* model = [] {
    Result<LoadModel> r = LoadModelFromJson(kCompiledParams);
    // The committed file is checked by load_model_test; a broken one is a build defect.
    if (!r.ok()) {
      std::fprintf(stderr, "compiled-in load_model_params.json is invalid: %s\n", r.status().ToString().c_str());
      std::abort();
    }
    return new LoadModel(std::move(r).value());
  }();
  return *model;
}

}  // namespace mh::sim
