// The simulated fleet's readings: N electricity and water meters whose consumption follows the
// fitted load model (load_model.h), reporting cumulative registers at their interval, with faults
// injected at configurable rates and every injection written to a ground-truth log, so the demo
// and the tests can compare what the platform flagged with what was done to it.
//
// Deterministic: the same model, options and start time give the same readings and faults, however
// the time span is cut into AdvanceTo() calls. Each meter draws from its own streams seeded from
// (seed, meter index): one for its load, one for its faults, so changing fault rates never changes
// the underlying consumption. Not thread-safe; one Fleet per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/reading.h"
#include "sim/load_model.h"
#include "sim/rng.h"

namespace mh::sim {

enum class MeterKind { kElectricity, kWater };
const char* MeterKindName(MeterKind kind);

// Rates are probabilities: per reading for the reading faults, per meter-day for the appliance.
struct FaultRates {
  double null_reading = 0.0;         // value missing, "ERR" text, or 0 (one of the three, equally likely)
  double backward_step = 0.0;        // register reported below the meter's last good reading
  double spike = 0.0;                // one huge jump that the next reading does not continue
  double forgotten_appliance = 0.0;  // a heater / tap left on for a whole local day (real consumption)
};

struct FleetOptions {
  int meters = 1000;                  // total meter count
  double electricity_share = 0.7;     // round(meters × share) are electricity, the rest water
  uint64_t seed = 1;                  // everything random derives from it
  int32_t utc_offset_s = 8 * 3600;    // the meters' local time (profiles, days); SPEC 1.2 default UTC+8
  int64_t electricity_interval_s = 900;  // 15 min
  int64_t water_interval_s = 3600;       // 1 h
  double appliance_kw = 2.0;          // forgotten-appliance extra load, electricity (kW)
  double appliance_m3_per_h = 0.05;   // forgotten-appliance extra flow, water (m³/h)
  // ... but at least this many of the meter's mean days extra over the day, so that heavy users'
  // appliance days also stand out above their normal days (0 = the fixed load only).
  double appliance_min_days = 0;
  FaultRates faults;
};

// The static description of one simulated meter.
struct SimMeter {
  std::string id;            // "E000001", "W000001"
  MeterKind kind = MeterKind::kElectricity;
  int64_t interval_s = 900;  // reading interval
  double scale = 0;          // its long-run mean daily consumption (kWh or m³), from the model's distribution
  double start_register = 0; // register at the fleet's start time
};

enum class FaultKind {
  kNullMissing,         // value absent (empty text)
  kNullText,            // value "ERR"
  kNullZero,            // value 0 on a running register
  kBackwardStep,        // register below the last good reading
  kSpike,               // single huge jump
  kForgottenAppliance,  // a whole local day of extra load
};
const char* FaultKindName(FaultKind kind);
// What SPEC 1.1 validation should say about the faulty reading; nullopt for the appliance day,
// which is real consumption and should raise an alert (SPEC 1.2) rather than a verdict.
std::optional<Verdict> ExpectedVerdict(FaultKind kind);

// One injected fault. Reading faults: `ts` = `ts_end` = the reading's time. Appliance days:
// the local day (ts, ts_end] in the SPEC 1.2 convention, i.e. the readings with ts < t <= ts_end.
struct InjectedFault {
  std::string meter_id;
  FaultKind kind = FaultKind::kNullMissing;
  int64_t ts = 0;
  int64_t ts_end = 0;
  double true_value = 0;  // reading faults: the true register at ts; appliance: the extra consumption
  std::string reported;   // reading faults: the value as sent ("", "ERR", "0", or the number)
};

// CSV `meter_id,kind,ts,ts_end,true_value,reported` (ISO-8601 UTC times).
void WriteGroundTruthCsv(const std::vector<InjectedFault>& faults, std::ostream& out);

class Fleet {
 public:
  // `model` must outlive the fleet. Readings start at the first interval boundary after `start_ts`.
  Fleet(const LoadModel& model, const FleetOptions& options, int64_t start_ts);

  const FleetOptions& options() const { return options_; }
  const std::vector<SimMeter>& meters() const { return meters_; }
  // Readings have been generated up to and including this time.
  int64_t now() const { return now_; }

  // Generates every reading with now() < ts <= t_to, in time order (meters in index order within a
  // timestamp), hands each to `sink`, and moves now() to t_to. Values are rounded to 3 decimals.
  void AdvanceTo(int64_t t_to, const std::function<void(const Reading&)>& sink);
  // The same, collected (mind the size: 1,000 meters make ~70,000 readings a day).
  std::vector<Reading> NextReadings(int64_t t_to);

  // The meter's true register now (what it would report without faults).
  double TrueRegister(size_t meter_index) const { return state_[meter_index].true_register; }

  // Faults injected so far, in time order.
  const std::vector<InjectedFault>& ground_truth() const { return ground_truth_; }
  // Hands over the log and empties it (long runs).
  std::vector<InjectedFault> TakeGroundTruth();

 private:
  struct MeterState {
    SimRng load_rng;
    SimRng fault_rng;
    double true_register = 0;
    double last_good_reported = 0;  // last value sent without a fault
    int64_t day = std::numeric_limits<int64_t>::min();  // local day of the current day factor
    double log_day = 0;             // AR(1) state z of the day factor
    double day_scale = 0;           // scale × season × day factor for the current day
    int day_type = 0;               // DayType of the current day
    double carry = 0;               // demand above the rate ceiling, delivered in the next intervals
    bool appliance_today = false;
    double appliance_per_hour = 0;  // the extra load of this meter's appliance days
  };

  void Step(size_t index, int64_t t, const std::function<void(const Reading&)>& sink);
  void StartDay(size_t index, int64_t local_day);
  const KindModel& ModelOf(const SimMeter& m) const {
    return m.kind == MeterKind::kElectricity ? model_.electricity : model_.water;
  }

  const LoadModel& model_;
  const FleetOptions options_;
  const int64_t start_ts_;
  int64_t tick_s_ = 900;  // gcd of the meters' intervals
  std::vector<SimMeter> meters_;
  std::vector<MeterState> state_;
  int64_t now_ = 0;
  std::vector<InjectedFault> ground_truth_;
};

}  // namespace mh::sim
