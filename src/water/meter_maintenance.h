// Remote maintenance of one water meter over time (SPEC 3.3–3.7): what the daemon keeps per
// feature code. It feeds each closed window of (q1 flowmeter, q2 reported) pairs to the pre-check,
// opens a MaintenanceCase on a deviation, and between windows pools the data a decision needs:
//  - verification: after an acknowledgement, windows are pooled until they hold
//    CaseOptions::min_flowing_pairs flowing pairs (a low-use home may need several windows);
//  - refit: the terminal's raw flow (reported mapped back through the correction in force at each
//    sample) of every window since detection, so that a refit sees the widest flow range — a
//    curved drift looks straight in one window's narrow range, and only the pooled range shows it.
// Transport-free like MaintenanceCase: outputs are CaseOutputs.
#pragma once

#include <optional>
#include <vector>

#include "water/maintenance.h"

namespace mh::water {

// Pooled pairs kept at most (two weeks of 1-minute samples); older ones are dropped first.
inline constexpr size_t kMaxPooledPairs = 20160;

class MeterMaintenance {
 public:
  MeterMaintenance(PairingEntry entry, PreCheckOptions precheck = {}, CaseOptions options = {})
      : entry_(std::move(entry)), precheck_(precheck), options_(options) {}

  // One closed window: its start and its pairs (time order), checked at `now`.
  void OnWindow(int64_t window_start, const std::vector<FlowPair>& pairs, int64_t now, CaseOutputs* out);
  Status OnAck(const MaintenanceAck& ack, int64_t now, CaseOutputs* out);
  void OnTick(int64_t now, CaseOutputs* out);
  // While the last case ended in a work order, windows open no new case (the meter waits for the
  // engineer); the visit resets the terminal's correction and re-arms detection.
  bool awaiting_visit() const;
  void OnSiteVisitDone(int64_t now, const Correction& terminal_correction);

  // The correction the terminal applies (the last acknowledged one; identity at first).
  const Correction& applied() const { return applied_; }
  // The case under way or the last one (nullopt before any).
  const std::optional<MaintenanceCase>& current_case() const { return case_; }
  int cases_opened() const { return cases_; }
  // Every case's history, oldest first (the meter's maintenance history).
  std::vector<HistoryRecord> History() const;

 private:
  PairingEntry entry_;
  PreCheckOptions precheck_;
  CaseOptions options_;
  Correction applied_;
  Correction previous_;        // in force before the last ack
  int64_t applied_since_ = 0;  // instant of the last ack (samples before it used `previous_`)
  std::optional<MaintenanceCase> case_;
  std::vector<HistoryRecord> closed_history_;
  int cases_ = 0;
  std::vector<FlowPair> raw_since_detection_;
  std::vector<FlowPair> verify_;  // reported pairs since the ack, pooled until enough flow
};

}  // namespace mh::water
