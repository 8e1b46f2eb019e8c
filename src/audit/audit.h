// SPEC 4.5: the audit (internal-control) server's verification of one meter. Code check: every
// line of the comparison table identical in the meter's fixed segment and the code registered in
// the ledger at commissioning. Time check: per window, the ledger's first monitoring times split
// into sub-periods must match the dynamic segment's slot pairs in number and, within a tolerance,
// in time. The result and the on-site inspection order are plain structs: the lead persists them
// and sends the order through the alert channels.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/ledger_view.h"
#include "base/status.h"
#include "meter/audit/dynamic_segment.h"

namespace mh::audit {

struct AuditOptions {
  int64_t tolerance_s = 1;  // slot vs first monitoring time, seconds
};

struct Alarm {
  enum Kind { kCode, kTime, kLedger };
  Kind kind = kCode;
  int number = 0;       // kCode: the line; kTime: the window (1..D); kLedger: 0
  std::string detail;   // why, for people (not part of the fixed output)
  bool operator==(const Alarm&) const = default;
  // "code-alarm line 7", "time-alarm window 2", "ledger-alarm".
  std::string Line() const;
};

struct AuditResult {
  std::string meter_id;
  int64_t audited_at = 0;
  int64_t cycle_first_day = 0;  // the cycle the dynamic segment covers
  int cycle_days = 0;
  int lines_compared = 0;       // comparison-table lines checked
  int windows_checked = 0;      // windows with a line or ledger times
  std::vector<Alarm> alarms;    // code alarms by line, then time alarms by window, then ledger
  bool pass() const { return alarms.empty(); }
  bool has(Alarm::Kind kind) const;
};

// The sub-periods of one window rebuilt from its first monitoring times (SPEC 4.5 "split into
// sub-periods"), as slot pairs relative to the window start; a signal on at the window start or
// end gives a labelled pseudo start or end. InvalidArgument naming the problem when the events do
// not form a consistent open … close sequence.
Result<std::vector<meter::audit::SlotPair>> SubPeriodsOf(const std::vector<meter::audit::SignalEvent>& events,
                                                         const meter::audit::Cycle& cycle, int window, bool* closed);

// Runs both checks. Errors (not alarms): the ledger holds no code registration for the meter, the
// dynamic segment names another meter, the ledger cannot be read. A ledger whose own check fails
// (kLedgerIntegrityError) gives a ledger alarm and skips the checks that would trust it.
Result<AuditResult> RunAudit(LedgerView& ledger, const std::string& meter_id, std::string_view meter_fixed_image,
                             const meter::audit::DynamicSegment& dynamic, const std::vector<int>& comparison_lines,
                             int64_t now, const AuditOptions& options = {});

// An on-site inspection order (SPEC 4.5: any alarm opens one).
struct InspectionOrder {
  std::string order_id;    // "INS-<meter>-<audited_at>"
  std::string meter_id;
  int64_t opened_at = 0;
  std::string priority;    // "high" with a code or ledger alarm, else "normal"
  std::vector<std::string> reasons;  // one alarm line each, with its detail
  std::string summary;     // one sentence for the alert channels
};
std::optional<InspectionOrder> InspectionOrderFor(const AuditResult& result);

}  // namespace mh::audit
