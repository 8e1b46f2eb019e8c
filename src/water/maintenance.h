// The maintenance case of one water meter (SPEC 3.5, 3.7) as a transport-free state machine.
// The platform feeds it window checks, acknowledgements and clock ticks; it answers with plain
// structs (commands for the terminal's command topic, notices for the bound phone, work orders)
// that the daemon wires to MQTT, the alert channels and the store. Every transition is appended to
// the case's maintenance history.
//
//   open(steady)   → kCommandIssued  (command + "self-check under way" notice) when the fit is
//                    precise (FitIsPrecise), else kFitPending
//   open(unsteady) → kWorkOrder      (at once: no remote cure for an erratic meter)
//   kFitPending    --window (the check of every window since detection, pooled):
//                    steady and precise, or max_deferred_windows reached--> kCommandIssued
//                    steady, imprecise, or none--> stays (fit_deferred); none at the limit-->
//                    kClosed (deviation not confirmed);
//                    unsteady--> kWorkOrder
//   kCommandIssued --ack (current id, applied ≤ expiry)--> kAcknowledged
//   kCommandIssued --tick past expiry--> re-issue the same correction under a new id while
//                    retries < max_command_retries (default 1), else kWorkOrder ("no ack")
//   kAcknowledged  --window after the ack: none--> kClosed (verified clean)
//                  --steady, refits < max_refits (1)--> kCommandIssued with a refit
//                  --steady again, or unsteady--> kWorkOrder
//                  --too few pairs, too little flow to verify (min_flowing_pairs), or window
//                    started before the ack--> stays (recorded)
//   photo comparison (SPEC 3.6, the customer's test draw between two photos; OnPhoto):
//   kAcknowledged  --within tolerance--> kClosed (verified by photo)
//                  --off, refits < max_refits--> kCommandIssued with the photo's correction
//                  --off again--> kWorkOrder
//   kCommandIssued / kFitPending: recorded only (the parameters are not in force / not fitted yet)
// kClosed and kWorkOrder are final; a later deviation opens a new case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "meter/water/correction.h"
#include "meter/water/self_maintenance.h"
#include "water/pairing.h"
#include "water/precheck.h"

namespace mh::water {

using meter::water::Correction;
using meter::water::MaintenanceAck;
using meter::water::MaintenanceCommand;

// A window as the platform sees it once a correction may be in place: the verdict on what the
// terminal reported, and the fit of the terminal's RAW flow (reported mapped back through the
// correction it applies) — the absolute correction a refit sends.
struct WindowCheck {
  int64_t window_start = 0;
  int flowing_pairs = 0;  // pairs with q1 ≥ CaseOptions::flow_floor: what can verify a gain correction
  PreCheckResult reported;
  Mapping raw_fit;
};
WindowCheck CheckWindow(int64_t window_start, const std::vector<FlowPair>& pairs, const Correction& applied,
                        const PreCheckOptions& options = {}, double flow_floor = 0.05);
// The same with the raw pairs given (e.g. pooled over several windows for a refit).
WindowCheck CheckWindow(int64_t window_start, const std::vector<FlowPair>& reported, const std::vector<FlowPair>& raw,
                        const PreCheckOptions& options = {}, double flow_floor = 0.05);

struct HistoryRecord {
  int64_t at = 0;
  std::string feature_code;
  std::string event;   // detected, command_issued, notified, acknowledged, command_expired,
                       // window_ignored, verified_clean, closed, refit, work_order, ack_refused
  std::string detail;
};

// The self-check notice of a command: the daemon writes it out as the customer's procedure
// (procedure.h) with the summary of `correction`.
struct PhoneNotice {
  std::string phone;
  std::string feature_code;
  std::string text;
  int64_t at = 0;
  Correction correction;
};

struct WorkOrder {
  std::string feature_code;
  std::string terminal_id;
  std::string reason;
  int64_t at = 0;
};

struct CaseOutputs {
  std::vector<MaintenanceCommand> commands;
  std::vector<PhoneNotice> notices;
  std::vector<WorkOrder> work_orders;
};

struct CaseOptions {
  int64_t command_ttl_s = 6 * 3600;  // a command expires one default window after it is issued
  int max_command_retries = 1;       // re-issues of an unacknowledged command
  int max_refits = 1;                // SPEC 3.7: retry once with a refit
  // A "none" window verifies a correction only with this many pairs at q1 ≥ the flow floor of
  // CheckWindow (0.05 m³/h): a night of zero flow cannot show that a gain error is gone.
  int min_flowing_pairs = 10;
  // Precision gate before dispatch (SPEC 3.4 fits, 3.5 sends; neither says in which window). A
  // low-use window carries the slope on a few flowing minutes, and its a1 can be off by several
  // tenths of a percent. Parameters go out at once when the slope's robust relative standard
  // error se(a1)/a1 (LinearFit::se_a1_robust) is at most max_se_a1 over at least
  // min_flowing_pairs flowing pairs (or the power model was chosen: it needs strong evidence
  // already); otherwise the case waits and pools the next windows' raw flow, and sends the pooled
  // fit as soon as it is precise, or after max_deferred_windows windows whatever its precision.
  // 0 windows = always send at once (the round-1 behaviour).
  double max_se_a1 = 0.0007;
  int max_deferred_windows = 3;
};

// The gate above: may the raw fit of `check` be sent at once? Also needs min_flowing_pairs flowing
// pairs: with fewer, a standard error estimated from the residuals is itself unreliable.
bool FitIsPrecise(const WindowCheck& check, const CaseOptions& options);

inline constexpr char kSelfCheckNotice[] =
    "Your water meter is running a remote self-check: please pause water use, then photograph the counter before and "
    "after a test draw.";

class MeterMaintenance;

class MaintenanceCase {
 public:
  enum class State { kCommandIssued, kAcknowledged, kClosed, kWorkOrder, kFitPending };

  // Opens a case from a window whose verdict is steady or unsteady (anything else is refused).
  // `case_number` makes command ids unique across the meter's cases.
  static Result<MaintenanceCase> Open(const PairingEntry& entry, int case_number, const WindowCheck& check,
                                      int64_t now, const CaseOptions& options, CaseOutputs* out);

  Status OnAck(const MaintenanceAck& ack, int64_t now, CaseOutputs* out);
  void OnTick(int64_t now, CaseOutputs* out);
  Status OnWindow(const WindowCheck& check, int64_t now, CaseOutputs* out);
  // The customer's photos compared the register with the reference flowmeter over a span under the
  // correction in force: `within` the photo tolerance, else `corrected` is that correction scaled by
  // the photos' ratio. `what` describes the comparison for the history. Returns the decision:
  // "verified", "corrected", "work_order", "awaiting_ack" or "fit_pending".
  std::string OnPhoto(bool within, const Correction& corrected, const std::string& what, int64_t now, CaseOutputs* out);

  State state() const { return state_; }
  bool final() const { return state_ == State::kClosed || state_ == State::kWorkOrder; }
  const std::vector<HistoryRecord>& history() const { return history_; }
  // The correction the terminal applies once the current command is acknowledged (identity before).
  const Correction& applied() const { return applied_; }
  const MaintenanceCommand& current_command() const { return command_; }
  int refits() const { return refits_; }
  int deferrals() const { return deferrals_; }
  // False when the current command was sent at the deferral limit with an imprecise fit.
  bool sent_precise() const { return sent_precise_; }

 private:
  friend class MeterMaintenance;  // saves and restores the state (a case survives a restart)
  MaintenanceCase(PairingEntry entry, int case_number, CaseOptions options)
      : entry_(std::move(entry)), case_number_(case_number), options_(options) {}
  void Record(int64_t at, const std::string& event, const std::string& detail);
  void Issue(const Correction& c, int64_t now, CaseOutputs* out);
  void OpenWorkOrder(const std::string& reason, int64_t now, CaseOutputs* out);

  PairingEntry entry_;
  int case_number_ = 0;
  CaseOptions options_;
  State state_ = State::kCommandIssued;
  MaintenanceCommand command_;
  int attempt_ = 0;   // commands issued so far (ids end in -<attempt>)
  int retries_ = 0;   // re-issues after expiry, for the current correction
  int refits_ = 0;
  int deferrals_ = 0;  // windows pooled while kFitPending
  bool sent_precise_ = true;
  int64_t acked_at_ = 0;
  Correction applied_;
  std::vector<HistoryRecord> history_;
};

const char* CaseStateName(MaintenanceCase::State s);

}  // namespace mh::water
