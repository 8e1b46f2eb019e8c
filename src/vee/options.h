// Options of reading validation and consumption alerts (SPEC 1.1–1.2). Defaults keep the seed's
// exact behaviour; the [beyond] options are off (0) unless set.
#pragma once

#include <cstdint>
#include <optional>

#include "core/time.h"
#include "core/zone.h"
#include "vee/peak.h"

namespace mh::vee {

struct Options {
  double spike_coefficient = 1.3;         // T2 = max peak difference per interval × this (seed: 1.1–1.3)
  double alert_coefficient = 1.0;         // T1 = max peak sub-period consumption × this
  double t2_quantile = 1.0;               // 1.0 = the seed's max; e.g. 0.99 = robust variant
  double negative_tolerance = 0.0;        // [beyond] d in [−tol, 0) accepted as zero consumption
  int reset_after = 0;                    // [beyond] consecutive readings below p that mean reset/spike; 0 = off
  double max_interval_consumption = 0.0;  // [beyond] physical ceiling per nominal interval; 0 = off
  PeriodKind period = PeriodKind::kDay;   // target period of the alert
  int max_alerts_per_period = 1;          // claim 7: at most this many alerts per terminal and period
  std::optional<Peak> peak;               // unset: T1/T2 are not learned (T2 check skipped)
  // [seed, alternative] "same time last period": a reading whose difference from the accepted
  // reading one target period earlier exceeds this × the learned T1 is `sudden`; 0 = off.
  double same_period_coefficient = 0.0;
};

// What a meter brings to its own validation (from its registration).
struct MeterParams {
  int64_t interval_s = 900;               // nominal upload interval
  TimeZone tz = TimeZone::Fixed(8 * 3600);  // for calendar periods: an IANA zone or a fixed offset
  std::optional<double> register_max;     // rollover detection when set
  std::optional<double> customer_t1;      // wins over the learned T1
};

}  // namespace mh::vee
