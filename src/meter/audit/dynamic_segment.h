// SPEC 4.4: the dynamic code segment — one text line per monitoring window of the current cycle,
// holding the second monitoring times as slot pairs, the window-edge labels and the suffix with
// the total slot count. Written by the plugin, read by the audit (docs/formats/audit.md).
//
// A slot holds a time as whole seconds since the start of its window (1 s resolution), so a
// window of D = 3 has slots 0..28800. A pair is (start slot, end slot); the suffix counts slots,
// i.e. 2 per pair.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/audit/schedule.h"

namespace mh::meter::audit {

struct SlotPair {
  int64_t start = 0;          // seconds since the window start
  int64_t end = 0;
  bool start_label = false;   // pseudo start: the interval was running at the window start
  bool end_label = false;     // pseudo end: still running at the window end
  bool operator==(const SlotPair&) const = default;
};

struct WindowLine {
  int window = 1;             // 1..D
  int64_t day = 0;            // local epoch day it was monitored on
  int expect = 0;             // slots preallocated from last cycle's suffix for this window
  std::vector<SlotPair> pairs;
  int suffix = 0;             // total slot count (2 × pairs when written by the plugin)
  bool operator==(const WindowLine&) const = default;
};

struct DynamicSegment {
  std::string meter_id;
  Cycle cycle;
  int next_d = 3;             // D' from this cycle's labels (SPEC 4.4)
  int start_labels = 0;       // s1 so far this cycle
  int end_labels = 0;         // s2 so far this cycle
  std::vector<WindowLine> lines;  // windows closed so far this cycle, ascending
  bool operator==(const DynamicSegment&) const = default;

  const WindowLine* LineOf(int window) const;
};

std::string FormatWindowLine(const WindowLine& line);
std::string FormatDynamicSegment(const DynamicSegment& segment);
// Errors name `name:line` and the field. Checks the syntax and that each line fits its window
// (index 1..D, day of the cycle, slots within the window, ascending non-overlapping pairs, labels
// only at the window edges); the suffix is NOT required to equal 2 × pairs: a mismatch is
// evidence the audit reports as a time alarm.
Result<DynamicSegment> ParseDynamicSegment(std::string_view text, const std::string& name = "dynamic segment");

}  // namespace mh::meter::audit
