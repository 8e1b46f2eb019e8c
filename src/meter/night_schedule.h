// SPEC 2.1–2.3 on the meter: its region's sub-periods of the nightly window, its usage level in
// each from the night's detection points (the report it sends), the target sub-period the
// head-end sends back — under the head-end's allocation rule (window, sub-period length), which
// the meter adopts — and when that target starts and ends in the meter's local time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/slots.h"
#include "meter/usage_level.h"

namespace mh::meter {

// How a meter hands its failed readings to the relays it chose (SPEC 2.6): to every chosen relay,
// each forwarding and reporting back (the seed's step 108; the default), or relay by relay until
// the first reports success (fewer transmissions, less redundancy).
enum class Fanout { kAll, kFirst };
const char* FanoutName(Fanout fanout);                   // "all" | "first"
std::optional<Fanout> ParseFanout(std::string_view text);

// The head-end's relay_target command as the meter applies it (docs/relay.md §9).
struct TargetAssignment {
  int sub_period = 0;            // 0..N-1 under `slots`
  SlotOptions slots;             // the server's window, sub-period length and sub-periods per region
  Fanout fanout = Fanout::kAll;  // for MeterNode (relay_node.h)
};

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

  // The head-end's answer under the current window and slot length. InvalidArgument for a
  // sub-period outside 0..N-1.
  Status SetTarget(int sub_period);
  // The whole relay_target: the server's window, sub-period length and sub-periods per region
  // replace the meter's own (N and the allocation are recomputed, so the next report covers the
  // sub-periods the server allocates), then the target is set. InvalidArgument for a window that
  // is not a whole number of slots or a target outside 0..N-1; nothing changes then.
  Status Apply(const TargetAssignment& assignment);
  std::optional<int> target() const { return target_; }

  // [start, end) in epoch seconds of the target sub-period of the window that is running at `now`
  // or is the next to start; nullopt while no target is known.
  std::optional<std::pair<int64_t, int64_t>> NextTarget(int64_t now) const;
  bool InTarget(int64_t now) const;

 private:
  NightSchedule(std::string region_name, SlotOptions options, int slot_count, int32_t tz_offset_s);

  std::string region_name_;
  SlotOptions options_;
  int slot_count_ = 0;
  std::vector<int> sub_periods_;
  int32_t tz_offset_s_ = 0;
  std::optional<int> target_;
};

}  // namespace mh::meter
