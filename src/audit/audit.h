// SPEC 4.5: the audit (internal-control) server's verification of one meter. Code check: every
// line of the comparison table identical in the meter's fixed segment and the code registered in
// the ledger at commissioning — the table is the one registered in the ledger with that code (the
// lines to compare are set in advance, never taken from the meter). Time check: per window, the
// ledger's first monitoring times split into sub-periods must match the dynamic segment's slot
// pairs in number, in time (within a tolerance) and in their window-edge labels. The result and
// the on-site inspection order are plain structs: the server persists them and sends the order.
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
  enum Kind { kCode, kTime, kLedger, kSilence };
  Kind kind = kCode;
  int number = 0;       // kCode: the line; kTime: the window (1..D); kLedger: 0; kSilence: misses
  std::string detail;   // why, for people (not part of the fixed output)
  bool operator==(const Alarm&) const = default;
  // "code-alarm line 7", "time-alarm window 2", "ledger-alarm", "silence-alarm misses 3" (the last
  // only from the audit server: a meter that did not answer that many requests in a row).
  std::string Line() const;
};

struct AuditResult {
  std::string meter_id;
  int64_t audited_at = 0;
  int64_t cycle_first_day = 0;  // the cycle the dynamic segment covers
  int cycle_days = 0;
  int lines_compared = 0;       // comparison-table lines checked
  int windows_checked = 0;      // windows with a line or ledger times
  // The comparison table used: the ledger's (from the latest commissioning) when it holds one,
  // else the fallback given to RunAudit. `ledger_table` is set when the ledger holds one.
  std::vector<int> table;
  std::optional<std::vector<int>> ledger_table;
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

// Runs both checks against the meter's latest commissioning in the ledger: its code, and its
// comparison table — or `fallback_table` when the ledger holds none for it (a meter commissioned
// before tables went into the ledger). Errors (not alarms): the ledger holds no code registration
// for the meter (NotFound), or no table and there is no fallback (FailedPrecondition); the dynamic segment names
// another meter; the ledger cannot be read. A ledger whose own check fails (kLedgerIntegrityError)
// gives a ledger alarm and skips the checks that would trust it.
Result<AuditResult> RunAudit(LedgerView& ledger, const std::string& meter_id, std::string_view meter_fixed_image,
                             const meter::audit::DynamicSegment& dynamic,
                             const std::optional<std::vector<int>>& fallback_table, int64_t now,
                             const AuditOptions& options = {});

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

// "3-11", "1, 3-5, 9": a comparison table's lines for people.
std::string FormatLineList(const std::vector<int>& lines);

}  // namespace mh::audit
