// SPEC 2.1: the nightly window split into N sub-periods and the sub-periods allocated to a region
// by hashing its name (the head-end takes the name from the install address: relay/region_name.h).
// Exact: tests compare values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::meter {

struct SlotOptions {
  int window_start_min = 0;    // window start, minutes after local midnight (00:00)
  int window_end_min = 360;    // window end (06:00); end < start wraps past midnight; 1440 = 24:00
  int slot_minutes = 5;        // sub-period length
  int slots_per_region = 4;    // distinct sub-periods allocated to a region
};

// Window length in minutes (wrapping past midnight when end < start).
int WindowMinutes(const SlotOptions& options);
// N = window length / slot length. InvalidArgument when the slot is not positive, the window is
// empty, or the window is not a whole number of slots.
Result<int> SlotCount(const SlotOptions& options);

// "HH:MM-HH:MM" (HH:MM in 00:00..24:00) into options->window_*; the message names the text.
Status ParseWindow(std::string_view text, SlotOptions* options);
// A duration in whole minutes: "5m", "5", "1h", "300s" (seconds must be a multiple of 60).
Result<int> ParseMinutes(std::string_view text);

// h = SHA-256(UTF-8 name); for i = 0..15: v = h[2i]*256 + h[2i+1], sub-period v mod N, added if
// new, until `count` distinct ones are chosen. Sorted ascending; fewer than `count` only when
// the 16 pairs run out. Requires n >= 1 and count >= 0 (else an empty result).
std::vector<int> AllocateSlots(std::string_view region_name, int n, int count = 4);

}  // namespace mh::meter
