// A reading (SPEC 0.2): a meter's cumulative register at a moment. An empty or unparseable
// value is kept as text (raw_value) and judged `null` by validation, never dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mh {

struct Reading {
  std::string meter_id;
  int64_t ts = 0;                 // UTC epoch seconds; marks the END of the interval it closes
  std::optional<double> value;    // nullopt: missing or not a number
  std::string raw_value;          // the value as received when it did not parse (for the quarantine)
  std::string channel;            // the register (docs/channels.md); "" = the meter's billing channel
};

// Times a reading may carry: 1970-01-01 up to the end of year 9999 (UTC epoch seconds). A larger
// number is usually milliseconds; anything outside is refused when parsed.
inline constexpr int64_t kMinReadingTs = 0;
inline constexpr int64_t kMaxReadingTs = 253402300799;
inline bool IsReadingTimeInRange(int64_t ts) { return ts >= kMinReadingTs && ts <= kMaxReadingTs; }

// A channel name (docs/channels.md): 1-64 characters of [A-Za-z0-9_.:-], e.g. "import_kwh_t1",
// "dlms:1-0:32.7.0.255".
inline bool IsValidChannel(std::string_view c) {
  if (c.empty() || c.size() > 64) return false;
  for (char ch : c) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                    ch == '.' || ch == ':' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

// What validation (SPEC 1.1) decided about a reading.
enum class Verdict { kOk, kNull, kError, kSudden };

const char* VerdictName(Verdict v);
std::optional<Verdict> ParseVerdict(std::string_view s);

}  // namespace mh
