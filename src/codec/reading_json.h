// Readings in JSON (SPEC 0.2): {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0} or an
// array of such objects, as published over MQTT and posted over HTTP.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/reading_csv.h"
#include "core/reading.h"

namespace mh::codec {

struct ParsedReadings {
  std::vector<Reading> readings;
  std::vector<RowIssue> issues;  // per element: line = index in the array (0-based), field, message
};

// Malformed JSON → error (naming the byte offset). A structurally valid document with bad
// elements (missing meter, wrong types) → those elements in `issues`, the rest in `readings`.
// `value` may be a number, null, or a string (kept raw and judged `null` when not a number).
// `expected_meter` (MQTT: from the topic) when not empty: elements naming another meter are issues,
// and "meter" may be omitted.
// A missing "value" is a reading with no value (judged `null`, SPEC 1.1), not an issue; a missing
// or invalid "meter" or "ts" is. "ts" is an ISO-8601 string or epoch seconds (a number or a digit
// string). "channel" (optional, issue 16) names the register; absent or null = the meter's billing
// channel. Unknown keys are ignored. A number JSON cannot hold in a double (1e400) makes the
// document malformed.
Result<ParsedReadings> ParseReadingsJson(std::string_view body, std::string_view expected_meter = {});

// At most this many elements in one message; more → ResourceExhausted (nothing is returned).
inline constexpr size_t kMaxReadingsPerMessage = 100000;

// The same with another element limit.
Result<ParsedReadings> ParseReadingsJson(std::string_view body, std::string_view expected_meter,
                                         size_t max_readings);

// {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0}; a reading without a value carries
// its raw text as a string ("value":"n/a"), or null when there was none. Never throws: invalid
// UTF-8 is replaced with U+FFFD.
std::string ReadingToJson(const Reading& r);

}  // namespace mh::codec
