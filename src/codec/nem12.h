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
  double kwh = 0;              // energy in the interval, kWh (kvarh / kVAh for VARH / VAH channels)
  std::string quality;         // per-interval quality method: the flag "A", "S", "F", "E", "V", "N",
                               // with its method number when given ("E52", "S14"); quality[0] is
                               // the flag. On a V day it comes from the covering 400 record.
  std::string reason_code;     // from the covering 400 record, else from the 300 record
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

// A 300 record's intervals are delivered once its 400 records have been read (so they carry their
// quality), followed by those 400 records as events. A bad 300 record is reported and none of its
// intervals delivered (its 400 records are skipped with it). Objects passed are valid only
// during the call.
struct Nem12Handlers {
  std::function<void(const Nem12Interval&)> on_interval;  // in file order
  std::function<void(const Nem12Event&)> on_event;
  std::function<void(const RowIssue&)> on_issue;           // bad records: reported, rest processed
};

// NEM12 times are in the market's local standard time; `offset_s` converts them to UTC
// (default +10:00, AEST). Returns an error only for a file that is not NEM12 at all (the first
// record is neither a 100 NEM12 header nor a 200 record: exports without the 100 header are
// accepted). Units WH/KWH/MWH (and VARH, VAH families) are scaled to the kilo unit; other units
// (demand: KW, KVA ...) are reported on their 200 record and its data skipped.
Status ParseNem12(std::string_view text, const Nem12Handlers& handlers, int32_t offset_s = 10 * 3600);

// The meter id MeterHub uses for an NMI channel: "<NMI>-<suffix>", e.g. "NCDE001111-E1".
// Characters outside [A-Za-z0-9_-] become '_'; the suffix is cut to 8 and the whole to 32 chars.
std::string Nem12MeterId(const std::string& nmi, const std::string& channel);

// --- writing (`meterhub export --format nem12`) ---

// One NMI channel's intervals to write: interval_end, kwh, quality ("A", "E52", ...; empty = "A")
// and reason_code of each are used, ascending by interval_end.
struct Nem12Series {
  std::string nmi;             // at most 10 characters
  std::string channel = "E1";  // NMI suffix
  std::string meter_serial;
  int64_t interval_s = 1800;   // 5, 15 or 30 minutes (any whole minutes dividing a day)
  std::vector<Nem12Interval> intervals;
};

// "100,NEM12,<created_at as YYYYMMDDHHMM in offset_s>,MHUB,MHUB".
std::string Nem12Header(int64_t created_at, int32_t offset_s = 10 * 3600);
// A 200 record (UOM KWH) and one 300 record per market day (local standard time, offset_s) that
// holds an interval. Intervals the series lacks on such a day are written as 0 with quality N; a
// day of mixed quality is a V day with one 400 record per run of equal quality. InvalidArgument
// for an NMI or channel NEM12 cannot carry, an interval not on the day's grid, or a negative value.
Result<std::string> Nem12ChannelRecords(const Nem12Series& series, int32_t offset_s = 10 * 3600);
inline constexpr const char* kNem12End = "900\r\n";

}  // namespace mh::codec
