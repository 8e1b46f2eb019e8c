#include "water/meter_maintenance.h"

#include <algorithm>

namespace mh::water {

void MeterMaintenance::OnWindow(int64_t window_start, const std::vector<FlowPair>& pairs, int64_t now,
                                CaseOutputs* out) {
  std::vector<FlowPair> raw = pairs;
  for (FlowPair& p : raw) p.q2 = (p.t < applied_since_ ? previous_ : applied_).Forward(p.q2);

  if (awaiting_visit()) return;
  if (!case_ || case_->final()) {
    const WindowCheck check = CheckWindow(window_start, pairs, raw, precheck_);
    const Verdict v = check.reported.verdict;
    if (v != Verdict::kSteady && v != Verdict::kUnsteady) return;
    if (case_) closed_history_.insert(closed_history_.end(), case_->history().begin(), case_->history().end());
    auto opened = MaintenanceCase::Open(entry_, ++cases_, check, now, options_, out);
    if (!opened.ok()) return;
    case_.emplace(std::move(*opened));
    raw_since_detection_ = raw;
    verify_.clear();
    return;
  }

  raw_since_detection_.insert(raw_since_detection_.end(), raw.begin(), raw.end());
  if (raw_since_detection_.size() > kMaxPooledPairs) {
    raw_since_detection_.erase(raw_since_detection_.begin(), raw_since_detection_.end() - kMaxPooledPairs);
  }
  if (case_->state() != MaintenanceCase::State::kAcknowledged) {
    (void)case_->OnWindow(CheckWindow(window_start, pairs, raw, precheck_), now, out);
    return;
  }
  // Only samples taken under the acknowledged correction can verify it.
  for (const FlowPair& p : pairs) {
    if (p.t >= applied_since_) verify_.push_back(p);
  }
  // A meter that never sees flow would pool forever: keep the most recent kMaxPooledPairs.
  if (verify_.size() > kMaxPooledPairs) verify_.erase(verify_.begin(), verify_.end() - kMaxPooledPairs);
  WindowCheck check = CheckWindow(window_start, verify_, raw_since_detection_, precheck_);
  check.window_start = std::max(window_start, applied_since_);
  const bool conclusive = check.reported.verdict == Verdict::kSteady || check.reported.verdict == Verdict::kUnsteady ||
                          check.flowing_pairs >= options_.min_flowing_pairs;
  if (!conclusive) {
    (void)case_->OnWindow(check, now, out);  // recorded as window_ignored, pairs kept for the next one
    return;
  }
  (void)case_->OnWindow(check, now, out);
  verify_.clear();
}

namespace {
Status AckGuard(const std::optional<MaintenanceCase>& c, const MaintenanceAck& ack) {
  if (!c) return FailedPrecondition("ack " + ack.command_id + ": no maintenance case");
  return Status::Ok();
}
}  // namespace

Status MeterMaintenance::OnAck(const MaintenanceAck& ack, int64_t now, CaseOutputs* out) {
  MH_RETURN_IF_ERROR(AckGuard(case_, ack));
  MH_RETURN_IF_ERROR(case_->OnAck(ack, now, out));
  previous_ = applied_;
  applied_ = case_->applied();
  applied_since_ = ack.applied_at;
  verify_.clear();
  return Status::Ok();
}

bool MeterMaintenance::awaiting_visit() const {
  return case_ && case_->state() == MaintenanceCase::State::kWorkOrder;
}

void MeterMaintenance::OnSiteVisitDone(int64_t now, const Correction& terminal_correction) {
  if (case_) closed_history_.insert(closed_history_.end(), case_->history().begin(), case_->history().end());
  closed_history_.push_back({now, entry_.feature_code, "site_visit_done", terminal_correction.ToString()});
  case_.reset();
  previous_ = applied_ = terminal_correction;
  applied_since_ = now;
  raw_since_detection_.clear();
  verify_.clear();
}

void MeterMaintenance::OnTick(int64_t now, CaseOutputs* out) {
  if (case_) case_->OnTick(now, out);
}

std::vector<HistoryRecord> MeterMaintenance::History() const {
  std::vector<HistoryRecord> h = closed_history_;
  if (case_) h.insert(h.end(), case_->history().begin(), case_->history().end());
  return h;
}

}  // namespace mh::water
