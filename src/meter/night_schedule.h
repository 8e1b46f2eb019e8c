// SPEC 2.1–2.3 on the meter: its region's sub-periods of the nightly window, its usage level in
// each from the night's detection points (the report it sends), the target sub-period the
// head-end sends back, and when that target starts and ends in the meter's local time.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/slots.h"
#include "meter/usage_level.h"

namespace mh::meter {

class NightSchedule {
 public:
  // InvalidArgument for a window that is not a whole number of slots (the message says why).
  static Result<NightSchedule> Create(std::string_view region_name, SlotOptions options, int32_t tz_offset_s);

  const SlotOptions& options() const { return options_; }
  int slot_count() const { return slot_count_; }
  const std::vector<int>& sub_periods() const { return sub_periods_; }  // allocated, ascending

  // The report: (sub-period, level) for each allocated sub-period, from one night's points.
  Result<std::vector<SubPeriodLevel>> Report(const std::vector<DetectionPoint>& points,
                                             const LevelOptions& level_options = {}) const;

  // The head-end's answer. InvalidArgument for a sub-period outside 0..N-1.
  Status SetTarget(int sub_period);
  std::optional<int> target() const { return target_; }

  // [start, end) in epoch seconds of the target sub-period of the window that is running at `now`
  // or is the next to start; nullopt while no target is known.
  std::optional<std::pair<int64_t, int64_t>> NextTarget(int64_t now) const;
  bool InTarget(int64_t now) const;

 private:
  NightSchedule(SlotOptions options, int slot_count, std::vector<int> sub_periods, int32_t tz_offset_s)
      : options_(options), slot_count_(slot_count), sub_periods_(std::move(sub_periods)), tz_offset_s_(tz_offset_s) {}

  SlotOptions options_;
  int slot_count_ = 0;
  std::vector<int> sub_periods_;
  int32_t tz_offset_s_ = 0;
  std::optional<int> target_;
};

}  // namespace mh::meter
