// The packed form of a meter channel's accepted readings: up to kMaxBlockEntries readings of one
// UTC day in one row, instead of one row (and one B-tree entry) per reading. Keyed by meter first,
// so a meter's year is a few hundred rows read in order, and a fleet's day is one row per meter.
// The byte layout is frozen: docs/formats/reading-block.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::store::readings {

// One accepted reading as packed. `source` and `quality` are ids in the store's label dictionary
// (0 = ""); `version` counts the values the reading has had (1 = never corrected).
struct Entry {
  int64_t ts = 0;
  double value = 0;
  double consumption = 0;
  uint32_t source = 0;
  uint32_t quality = 0;
  uint32_t version = 1;
  uint8_t flags = 0;
  bool operator==(const Entry&) const = default;
};

// Entry::flags.
inline constexpr uint8_t kEstimated = 1;  // an estimate (the E of VEE), not a measurement

inline constexpr size_t kMaxBlockEntries = 128;
inline constexpr uint8_t kBlockFormat = 1;

// The UTC day a reading is packed with.
inline int64_t BlockDay(int64_t ts) { return ts >= 0 ? ts / 86400 : (ts - 86399) / 86400; }

// `entries` sorted by ts, without repeats, at most kMaxBlockEntries.
std::string EncodeBlock(std::span<const Entry> entries);
// Appends the block's entries to `out`; a damaged block is an error naming the byte offset.
Status DecodeBlock(std::string_view data, std::vector<Entry>* out);

}  // namespace mh::store::readings
