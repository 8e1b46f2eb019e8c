#include "meter/night_schedule.h"

#include <utility>

namespace mh::meter {

const char* FanoutName(Fanout fanout) { return fanout == Fanout::kFirst ? "first" : "all"; }

std::optional<Fanout> ParseFanout(std::string_view text) {
  if (text == "all") return Fanout::kAll;
  if (text == "first") return Fanout::kFirst;
  return std::nullopt;
}

NightSchedule::NightSchedule(std::string region_name, SlotOptions options, int slot_count, int32_t tz_offset_s)
    : region_name_(std::move(region_name)),
      options_(options),
      slot_count_(slot_count),
      sub_periods_(AllocateSlots(region_name_, slot_count, options.slots_per_region)),
      tz_offset_s_(tz_offset_s) {}

Result<NightSchedule> NightSchedule::Create(std::string_view region_name, SlotOptions options, int32_t tz_offset_s) {
  MH_ASSIGN_OR_RETURN(int n, SlotCount(options));
  return NightSchedule(std::string(region_name), options, n, tz_offset_s);
}

Result<std::vector<SubPeriodLevel>> NightSchedule::Report(const std::vector<DetectionPoint>& points,
                                                          const LevelOptions& level_options) const {
  return ComputeUsageLevels(points, sub_periods_, options_.slot_minutes, level_options);
}

Status NightSchedule::SetTarget(int sub_period) {
  if (sub_period < 0 || sub_period >= slot_count_)
    return InvalidArgument("target sub-period " + std::to_string(sub_period) + " outside 0.." +
                           std::to_string(slot_count_ - 1));
  target_ = sub_period;
  return Status::Ok();
}

Status NightSchedule::Apply(const TargetAssignment& a) {
  if (a.slots.slots_per_region < 1) return InvalidArgument("relay_target: slots per region must be >= 1");
  Result<int> count = SlotCount(a.slots);
  if (!count.ok()) return count.status().WithContext("relay_target");
  const int n = *count;
  if (a.sub_period < 0 || a.sub_period >= n)
    return InvalidArgument("relay_target: sub-period " + std::to_string(a.sub_period) + " outside 0.." +
                           std::to_string(n - 1) + " of the server's window");
  options_ = a.slots;
  slot_count_ = n;
  sub_periods_ = AllocateSlots(region_name_, n, options_.slots_per_region);
  target_ = a.sub_period;
  return Status::Ok();
}

std::optional<std::pair<int64_t, int64_t>> NightSchedule::NextTarget(int64_t now) const {
  if (!target_) return std::nullopt;
  const int64_t offset_s = (static_cast<int64_t>(options_.window_start_min) + *target_ * options_.slot_minutes) * 60;
  const int64_t length_s = static_cast<int64_t>(options_.slot_minutes) * 60;
  // Local midnight of the day before `now`, then step a day at a time: the window may wrap past
  // midnight, so the sub-period of yesterday's window can still be ahead.
  const int64_t local = now + tz_offset_s_;
  const int64_t midnight = local - ((local % 86400) + 86400) % 86400 - tz_offset_s_;
  for (int64_t day = midnight - 86400;; day += 86400) {
    const int64_t start = day + offset_s;
    if (start + length_s > now) return std::make_pair(start, start + length_s);
  }
}

bool NightSchedule::InTarget(int64_t now) const {
  auto next = NextTarget(now);
  return next && next->first <= now && now < next->second;
}

}  // namespace mh::meter
