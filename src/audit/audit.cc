#include "audit/audit.h"

#include <algorithm>
#include <map>

#include "core/time.h"
#include "meter/audit/fixed_segment.h"

namespace mh::audit {
namespace {

using meter::audit::Cycle;
using meter::audit::DynamicSegment;
using meter::audit::SignalEvent;
using meter::audit::SlotPair;
using meter::audit::WindowLine;

std::string PairText(const SlotPair& p) { return "[" + std::to_string(p.start) + "," + std::to_string(p.end) + "]"; }

void CodeCheck(std::string_view registered, std::string_view meter, const std::vector<int>& lines, AuditResult* r) {
  const auto a = meter::audit::SplitLines(registered);
  const auto b = meter::audit::SplitLines(meter);
  for (int n : lines) {
    ++r->lines_compared;
    const bool in_a = n <= static_cast<int>(a.size()), in_b = n <= static_cast<int>(b.size());
    if (!in_a || !in_b) {
      r->alarms.push_back({Alarm::kCode, n, !in_a ? "the registered code has no such line" : "the meter's fixed segment has no such line"});
    } else if (a[n - 1] != b[n - 1]) {
      r->alarms.push_back({Alarm::kCode, n, "differs from the registered code"});
    }
  }
}

// The time check of one window; an empty string when it passes.
std::string CheckWindow(const std::vector<SignalEvent>& events, const WindowLine* line, const Cycle& cycle, int window,
                        const AuditOptions& o, bool* checked) {
  *checked = false;
  bool closed = false;
  if (events.empty()) {
    if (!line) return "";  // not monitored yet
    *checked = true;
    return "the ledger holds no first monitoring times for this window";
  }
  for (const auto& e : events) {
    if (e.window != window || e.d != cycle.d || e.tz_offset_s != cycle.tz_offset_s) {
      *checked = true;
      return "the ledger's times are for window " + std::to_string(e.window) + "/" + std::to_string(e.d) +
             ", the dynamic segment's cycle puts window " + std::to_string(window) + "/" + std::to_string(cycle.d) + " here";
    }
  }
  auto periods = SubPeriodsOf(events, cycle, window, &closed);
  if (!line && !closed) return "";  // the window is still open: nothing to compare yet
  *checked = true;
  if (!periods.ok()) return "the ledger's first monitoring times: " + periods.status().message();
  if (!line) return "the dynamic segment has no line for a window the ledger shows closed";
  if (!closed) return "the ledger shows the window still open";
  if (line->suffix != static_cast<int>(2 * line->pairs.size())) {
    return "suffix #" + std::to_string(line->suffix) + " but " + std::to_string(line->pairs.size()) + " slot pairs";
  }
  if (periods->size() != line->pairs.size()) {
    return std::to_string(periods->size()) + " metering sub-periods in the ledger, " + std::to_string(line->pairs.size()) +
           " slot pairs in the dynamic segment";
  }
  for (size_t i = 0; i < periods->size(); ++i) {
    const SlotPair& want = (*periods)[i];
    const SlotPair& got = line->pairs[i];
    const std::string which = "sub-period " + std::to_string(i + 1) + ": ";
    if (std::llabs(want.start - got.start) > o.tolerance_s || std::llabs(want.end - got.end) > o.tolerance_s) {
      return which + "ledger " + PairText(want) + ", slots " + PairText(got);
    }
    // The labels lengthen or shorten the next cycle (D'): a pseudo start/end must be a signal
    // running at the window's edge in the ledger, and such an interval must carry its label.
    if (want.start_label != got.start_label) {
      return which + (want.start_label ? "the ledger shows the signal running at the window start, the slot pair has no S label"
                                       : "an S label (pseudo start) where the ledger shows no signal running at the window start");
    }
    if (want.end_label != got.end_label) {
      return which + (want.end_label ? "the ledger shows the signal running at the window end, the slot pair has no E label"
                                     : "an E label (pseudo end) where the ledger shows no signal running at the window end");
    }
  }
  return "";
}

// The cycle line's label counts (s1, s2 of D') against the labels its window lines carry: fewer
// counted than carried would lengthen the next cycle. The open window's pseudo start is counted
// before its line exists, so s1 may exceed the lines' S labels by that one.
std::string CheckLabelCounts(const DynamicSegment& dynamic) {
  int s = 0, e = 0;
  for (const WindowLine& line : dynamic.lines) {
    for (const SlotPair& p : line.pairs) {
      s += p.start_label;
      e += p.end_label;
    }
  }
  if (dynamic.start_labels >= s && dynamic.end_labels >= e) return "";
  return "the cycle line counts labels=" + std::to_string(dynamic.start_labels) + "," + std::to_string(dynamic.end_labels) +
         " but the window lines carry " + std::to_string(s) + " S and " + std::to_string(e) + " E labels";
}

}  // namespace

std::string Alarm::Line() const {
  switch (kind) {
    case kCode: return "code-alarm line " + std::to_string(number);
    case kTime: return "time-alarm window " + std::to_string(number);
    case kLedger: return "ledger-alarm";
    case kSilence: return "silence-alarm misses " + std::to_string(number);
  }
  return "?";
}

bool AuditResult::has(Alarm::Kind kind) const {
  return std::any_of(alarms.begin(), alarms.end(), [&](const Alarm& a) { return a.kind == kind; });
}

Result<std::vector<SlotPair>> SubPeriodsOf(const std::vector<SignalEvent>& events, const Cycle& cycle, int window, bool* closed) {
  *closed = false;
  std::vector<SlotPair> out;
  const int64_t start = cycle.WindowStartUtc(window), end = cycle.WindowEndUtc(window);
  bool on = false, opened = false;
  int64_t expected_seq = 0;
  SlotPair open_pair;
  for (const SignalEvent& e : events) {
    const std::string at = "event " + std::to_string(e.seq);
    if (e.seq != expected_seq) return InvalidArgument("event " + std::to_string(expected_seq) + " is missing");
    ++expected_seq;
    if (*closed) return InvalidArgument(at + " follows the window's close");
    if (e.t < start || e.t > end) return InvalidArgument(at + " at " + FormatIsoUtc(e.t) + " lies outside the window");
    switch (e.kind) {
      case SignalEvent::kOpen:
        if (opened) return InvalidArgument(at + ": a second open");
        if (e.t != start) return InvalidArgument(at + ": open is not at the window start");
        opened = true;
        on = e.on;
        if (on) open_pair = SlotPair{0, 0, true, false};
        break;
      case SignalEvent::kStart:
        if (!opened || on) return InvalidArgument(at + ": a start " + (opened ? "while on" : "before the open"));
        on = true;
        open_pair = SlotPair{e.t - start, 0, false, false};
        break;
      case SignalEvent::kStop:
        if (!opened || !on) return InvalidArgument(at + ": a stop " + (opened ? "while off" : "before the open"));
        on = false;
        open_pair.end = e.t - start;
        if (open_pair.end < open_pair.start) return InvalidArgument(at + ": a stop before its start");
        out.push_back(open_pair);
        break;
      case SignalEvent::kClose:
        if (!opened) return InvalidArgument(at + ": close before the open");
        if (e.t != end) return InvalidArgument(at + ": close is not at the window end");
        if (e.on != on) return InvalidArgument(at + ": close says the signal was " + (e.on ? "on" : "off") + ", the edges say otherwise");
        if (on) {
          open_pair.end = end - start;
          open_pair.end_label = true;
          out.push_back(open_pair);
        }
        *closed = true;
        break;
    }
  }
  if (!opened) return InvalidArgument("no open event");
  return out;
}

Result<AuditResult> RunAudit(LedgerView& ledger, const std::string& meter_id, std::string_view meter_fixed_image,
                             const DynamicSegment& dynamic, const std::optional<std::vector<int>>& fallback_table,
                             int64_t now, const AuditOptions& options) {
  if (dynamic.meter_id != meter_id) {
    return InvalidArgument("the dynamic segment is meter '" + dynamic.meter_id + "', not '" + meter_id + "'");
  }
  AuditResult r;
  r.meter_id = meter_id;
  r.audited_at = now;
  r.cycle_first_day = dynamic.cycle.first_day;
  r.cycle_days = dynamic.cycle.d;
  auto records = ledger.RecordsOf(meter_id);
  if (!records.ok()) {
    if (records.status().code() != kLedgerIntegrityError) return records.status();
    r.alarms.push_back({Alarm::kLedger, 0, records.status().message()});
    return r;
  }
  std::map<int64_t, std::vector<SignalEvent>> by_day;
  for (const LedgerRecord& rec : *records) {
    if (rec.kind == LedgerRecord::kSignal) by_day[rec.event.day].push_back(rec.event);
  }
  const std::optional<Commissioning> commissioned = LatestCommissioning(*records);
  if (!commissioned) return NotFound("the ledger holds no code registration for meter '" + meter_id + "'");
  r.ledger_table = commissioned->compare_lines;
  if (r.ledger_table) {
    r.table = *r.ledger_table;
  } else if (fallback_table) {
    r.table = *fallback_table;
  } else {
    return FailedPrecondition("the ledger holds no comparison table for meter '" + meter_id +
                              "' (commissioned before tables were registered)");
  }
  CodeCheck(commissioned->fixed_image, meter_fixed_image, r.table, &r);

  const Cycle& cycle = dynamic.cycle;
  for (int w = 1; w <= cycle.d; ++w) {
    auto it = by_day.find(cycle.DayOfWindow(w));
    static const std::vector<SignalEvent> kNone;
    const auto& events = it == by_day.end() ? kNone : it->second;
    bool checked = false;
    std::string why = CheckWindow(events, dynamic.LineOf(w), cycle, w, options, &checked);
    if (checked) ++r.windows_checked;
    if (!why.empty()) r.alarms.push_back({Alarm::kTime, w, why});
  }
  auto has_time_alarm = [&r](int w) {
    return std::any_of(r.alarms.begin(), r.alarms.end(), [&](const Alarm& a) { return a.kind == Alarm::kTime && a.number == w; });
  };
  if (std::string why = CheckLabelCounts(dynamic); !why.empty()) {
    const int w = dynamic.lines.empty() ? 1 : dynamic.lines.back().window;
    if (!has_time_alarm(w)) r.alarms.push_back({Alarm::kTime, w, why});
  }
  // A dynamic segment older than the ledger's latest closed window (replayed from an earlier
  // cycle). The first window of the next cycle counts only once closed: until then the honest
  // meter's new segment has nothing more to show either.
  for (auto it = by_day.rbegin(); it != by_day.rend() && it->first >= cycle.EndDay(); ++it) {
    const auto& events = it->second;
    if (events.empty() || events.back().kind != SignalEvent::kClose) continue;
    const int w = events.front().window;
    if (!has_time_alarm(w)) {
      r.alarms.push_back({Alarm::kTime, w,
                          "the ledger has a window closed on " + meter::audit::FormatDay(it->first) +
                              ", after the dynamic segment's cycle: the segment is stale"});
    }
    break;
  }
  std::stable_sort(r.alarms.begin(), r.alarms.end(), [](const Alarm& a, const Alarm& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.number < b.number;
  });
  return r;
}

std::optional<InspectionOrder> InspectionOrderFor(const AuditResult& result) {
  if (result.pass()) return std::nullopt;
  InspectionOrder o;
  o.meter_id = result.meter_id;
  o.opened_at = result.audited_at;
  o.order_id = "INS-" + result.meter_id + "-" + std::to_string(result.audited_at);
  o.priority = result.has(Alarm::kCode) || result.has(Alarm::kLedger) ? "high" : "normal";
  for (const Alarm& a : result.alarms) o.reasons.push_back(a.Line() + ": " + a.detail);
  o.summary = "Meter " + result.meter_id + " failed its tamper audit (" + std::to_string(result.alarms.size()) +
              " alarm" + (result.alarms.size() == 1 ? "" : "s") + ", first: " + result.alarms.front().Line() +
              "); send an engineer to inspect it on site.";
  return o;
}

std::string FormatLineList(const std::vector<int>& lines) { return meter::audit::FormatLineRanges(lines, ", "); }

}  // namespace mh::audit
