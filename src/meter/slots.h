// SPEC 2.1: the nightly window split into N sub-periods, the region name taken from an install
// address, and the sub-periods allocated to a region by hashing its name. Exact: tests compare values.
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

// The default region pattern (ECMAScript, matched on UTF-8 bytes): everything up to and including
// the first 街道|镇|乡|路|小区 after the first district marker 区|县.
extern const char kDefaultRegionPattern[];

// Region name of an install address: the first match of `pattern` (its capture group 1 if it has
// one that matched, else the whole match); the whole address when nothing matches. The pattern
// is applied to the UTF-8 bytes: literal multi-byte characters and alternations of them match
// only at character boundaries (UTF-8 is self-synchronising), but `.` steps one byte and a
// bracket expression sees bytes, so custom patterns must not put CJK characters inside [...].
// InvalidArgument for a pattern std::regex rejects.
Result<std::string> ExtractRegionName(std::string_view address,
                                      std::string_view pattern = kDefaultRegionPattern);

// h = SHA-256(UTF-8 name); for i = 0..15: v = h[2i]*256 + h[2i+1], sub-period v mod N, added if
// new, until `count` distinct ones are chosen. Sorted ascending; fewer than `count` only when
// the 16 pairs run out. Requires n >= 1 and count >= 0 (else an empty result).
std::vector<int> AllocateSlots(std::string_view region_name, int n, int count = 4);

}  // namespace mh::meter
