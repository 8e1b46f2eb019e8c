// Remote maintenance of one water meter over time (SPEC 3.3–3.7): what the daemon keeps per
// feature code. It feeds each closed window of (q1 flowmeter, q2 reported) pairs to the pre-check,
// opens a MaintenanceCase on a deviation, and between windows pools the data a decision needs:
//  - verification: after an acknowledgement, windows are pooled until they hold
//    CaseOptions::min_flowing_pairs flowing pairs (a low-use home may need several windows);
//  - refit: the terminal's raw flow (reported mapped back through the correction in force at each
//    sample) of every window since detection, so that a refit sees the widest flow range — a
//    curved drift looks straight in one window's narrow range, and only the pooled range shows it;
//  - a deferred fit (kFitPending, CaseOptions::max_se_a1): the same pool, judged and fitted whole
//    at each window until the parameters are precise enough to send.
// Transport-free like MaintenanceCase: outputs are CaseOutputs. SaveState/RestoreState carry the
// whole state (case under way, pools, correction in force) across a daemon restart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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
  // A correction the terminal acknowledged outside a case (the photo path, SPEC 3.6): in force from
  // `at`. A case under way goes on: its pooled raw flow is still raw (each sample was mapped with
  // the correction of its time), but only samples from `at` on can verify. Recorded as `event`.
  void OnExternalCorrection(int64_t at, const Correction& correction, const std::string& detail,
                            const std::string& event = "photo_correction_applied");

  // A photo comparison while a case is open (MaintenanceCase::OnPhoto); "" when no case is open.
  std::string OnPhoto(bool within, const Correction& corrected, const std::string& what, int64_t now, CaseOutputs* out);

  // The correction the terminal applies (the last acknowledged one; identity at first), and since when.
  const Correction& applied() const { return applied_; }
  int64_t applied_since() const { return applied_since_; }
  // The case under way or the last one (nullopt before any).
  const std::optional<MaintenanceCase>& current_case() const { return case_; }
  int cases_opened() const { return cases_; }
  // The maintenance history since construction (or restore), oldest first: every case's records and
  // the meter's own (site visits, external corrections). Only grows.
  const std::vector<HistoryRecord>& History() const { return log_; }

  // The whole state as JSON (not the history: the store keeps that), and back. RestoreState
  // replaces the state of a freshly constructed object; InvalidArgument names the bad field.
  std::string SaveState() const;
  Status RestoreState(std::string_view json);
  // Bumped by every call that may change the saved state: a caller that saved at revision r need
  // not serialise again while revision() == r (the daemon's minute tick touches every meter).
  uint64_t revision() const { return revision_; }

 private:
  void Absorb();  // appends the case's new records to log_
  void Record(int64_t at, const std::string& event, const std::string& detail);

  PairingEntry entry_;
  PreCheckOptions precheck_;
  CaseOptions options_;
  Correction applied_;
  Correction previous_;        // in force before the last ack
  int64_t applied_since_ = 0;  // instant of the last ack (samples before it used `previous_`)
  std::optional<MaintenanceCase> case_;
  size_t case_absorbed_ = 0;  // records of case_ already in log_
  std::vector<HistoryRecord> log_;
  int cases_ = 0;
  uint64_t revision_ = 0;
  std::vector<FlowPair> raw_since_detection_;
  std::vector<FlowPair> verify_;  // reported pairs since the ack, pooled until enough flow
};

}  // namespace mh::water
