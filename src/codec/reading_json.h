// Readings in JSON (SPEC 0.2): {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0} or an
// array of such objects, as published over MQTT and posted over HTTP.
#pragma once

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
Result<ParsedReadings> ParseReadingsJson(std::string_view body, std::string_view expected_meter = {});

std::string ReadingToJson(const Reading& r);

}  // namespace mh::codec
