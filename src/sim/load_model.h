// The household load model behind the simulated fleet: per kind (electricity, water) a few dozen
// numbers fitted to real meter data (load_fit.h), committed as load_model_params.json and compiled
// into the binary. docs/load_model.md explains every field and how to refit.
//
// Consumption of one meter over an interval starting at local time s, of length dt seconds:
//   expected = S × season[month(s)] × shape[daytype(s)][slot(s)] × dt / 86400 × dayfactor
//   amount   = 0 with probability zero_prob[daytype][slot], otherwise
//              expected / (1 − zero_prob) × exp(interval_sigma × ε − interval_sigma² / 2),
// clipped at max_rate_per_hour × dt / 3600, where S is the meter's mean daily consumption
// (log-normal across households), dayfactor = exp(z − day_sigma² / 2) with z an AR(1) process
// over days (z' = day_phi × z + sqrt(1 − day_phi²) × day_sigma × ε), and ε ~ N(0, 1).
// Every factor has mean 1, so a meter's long-run mean daily consumption is S.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::sim {

enum class DayType { kWeekday = 0, kWeekend = 1 };
inline constexpr int kDayTypes = 2;

// Weekday/weekend of a local civil day (days since 1970-01-01; Saturday and Sunday are weekend).
DayType DayTypeOfDay(int64_t local_day);
// Month 0..11 of a local civil day.
int MonthOfDay(int64_t local_day);

// The fitted model of one kind of meter. Quantities are in the kind's platform unit:
// kWh for electricity, m³ for water.
struct KindModel {
  std::string unit;                 // "kWh" or "m3"
  std::string source;               // the data set it was fitted from
  int households = 0;               // households (meters) that entered the fit
  int64_t samples = 0;              // interval samples that entered the fit
  int slots_per_day = 24;           // profile resolution: 48 (half-hours) or 24 (hours)

  // Household scale S = mean daily consumption: log S ~ N(scale_log_mu, scale_log_sigma²).
  double scale_log_mu = 0.0;
  double scale_log_sigma = 0.0;
  double mean_daily = 0.0;          // arithmetic mean of S over the fitted households (a check value)

  std::array<double, 12> season{};  // month factor, Jan..Dec, day-weighted mean 1
  // Profile by day type and slot, in multiples of the day's mean rate; over a week (5 weekdays,
  // 2 weekend days) the mean of all slots is 1.
  std::array<std::vector<double>, kDayTypes> shape;
  // Probability that an interval in this slot has zero consumption (bursty water, idle homes).
  std::array<std::vector<double>, kDayTypes> zero_prob;

  double interval_sigma = 0.0;      // log-normal sigma of a non-zero interval around its expectation
  double day_sigma = 0.0;           // sigma of the log day factor
  double day_phi = 0.0;             // lag-1 (day-to-day) autocorrelation of the log day factor
  double max_rate_per_hour = 0.0;   // largest rate seen in the data (kW, m³/h): a physical ceiling

  // Slot of a local second-of-day.
  int SlotOf(int64_t local_second_of_day) const {
    return static_cast<int>(local_second_of_day * slots_per_day / 86400);
  }
  // Expected consumption in [s, s + dt) for a household of scale `scale`, before the day factor
  // and the noise; `local_start` is local seconds since 1970-01-01 (civil time as if UTC).
  double Expected(double scale, int64_t local_start, int64_t dt) const;
  // Structural checks (sizes, ranges, finite, normalisation); the message names the bad field.
  Status Validate() const;
};

struct LoadModel {
  KindModel electricity;
  KindModel water;
};

// JSON (format 1, see docs/load_model.md).
std::string LoadModelToJson(const LoadModel& model);
Result<LoadModel> LoadModelFromJson(std::string_view json);

// The parameters committed in src/sim/load_model_params.json, compiled in (nothing is read at
// run time). Parsed once; lives for the program.
const LoadModel& DefaultLoadModel();

}  // namespace mh::sim
