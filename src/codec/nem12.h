// NEM12, the AEMO meter data file format (100 header, 200 NMI data details, 300 interval data,
// 400 interval events, 500 B2B details, 900 end). Interval energy (kWh) with quality flags.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/reading_csv.h"

namespace mh::codec {

struct Nem12Interval {
  std::string nmi;             // National Metering Identifier (10 chars)
  std::string channel;         // NMI suffix, e.g. "E1" (register)
  std::string meter_serial;
  std::string uom;             // as given, e.g. "KWH"; values are converted to kWh
  int64_t interval_end = 0;    // UTC epoch seconds of the end of the interval
  int64_t interval_s = 1800;
  double kwh = 0;              // energy in the interval, kWh
  std::string quality;         // per-interval quality: "A", "S", "F", "E", "V", "N" ...
  std::string reason_code;     // from a 400 record, when one covers the interval
  int64_t line = 0;            // line of the 300 record
};

struct Nem12Event {            // a 400 record
  std::string nmi;
  std::string channel;
  int64_t from = 0;            // UTC epoch seconds, start of first interval covered
  int64_t to = 0;              // end of last interval covered
  int first_interval = 0;
  int last_interval = 0;
  std::string quality_method;
  std::string reason_code;
  std::string reason_description;
  int64_t line = 0;
};

struct Nem12Handlers {
  std::function<void(const Nem12Interval&)> on_interval;  // in file order
  std::function<void(const Nem12Event&)> on_event;
  std::function<void(const RowIssue&)> on_issue;           // bad records: reported, rest processed
};

// NEM12 times are in the market's local standard time; `offset_s` converts them to UTC
// (default +10:00, AEST). Returns an error only for a file that is not NEM12 at all.
Status ParseNem12(std::string_view text, const Nem12Handlers& handlers, int32_t offset_s = 10 * 3600);

// The meter id MeterHub uses for an NMI channel: "<NMI>-<suffix>", e.g. "NCDE001111-E1".
std::string Nem12MeterId(const std::string& nmi, const std::string& channel);

}  // namespace mh::codec
