#include "water/maintenance.h"

#include <cstdio>

namespace mh::water {

const char* CaseStateName(MaintenanceCase::State s) {
  switch (s) {
    case MaintenanceCase::State::kCommandIssued: return "command_issued";
    case MaintenanceCase::State::kAcknowledged: return "acknowledged";
    case MaintenanceCase::State::kClosed: return "closed";
    case MaintenanceCase::State::kWorkOrder: return "work_order";
    case MaintenanceCase::State::kFitPending: return "fit_pending";
  }
  return "?";
}

WindowCheck CheckWindow(int64_t window_start, const std::vector<FlowPair>& pairs, const Correction& applied,
                        const PreCheckOptions& options, double flow_floor) {
  std::vector<FlowPair> raw = pairs;
  for (FlowPair& p : raw) p.q2 = applied.Forward(p.q2);
  return CheckWindow(window_start, pairs, raw, options, flow_floor);
}

WindowCheck CheckWindow(int64_t window_start, const std::vector<FlowPair>& reported, const std::vector<FlowPair>& raw,
                        const PreCheckOptions& options, double flow_floor) {
  WindowCheck w;
  w.window_start = window_start;
  for (const FlowPair& p : reported) w.flowing_pairs += p.q1 >= flow_floor ? 1 : 0;
  w.reported = PreCheck(reported, options);
  w.raw_fit = FitMapping(raw);
  return w;
}

bool FitIsPrecise(const WindowCheck& check, const CaseOptions& options) {
  const Mapping& fit = check.raw_fit;
  if (options.max_deferred_windows <= 0 || fit.use_power) return true;
  if (fit.linear.degenerate || !(fit.linear.a1 > 0) || check.flowing_pairs < options.min_flowing_pairs) return false;
  return fit.linear.se_a1_robust <= options.max_se_a1 * fit.linear.a1;
}

namespace {
std::string Precision(const WindowCheck& check) {
  const Mapping& fit = check.raw_fit;
  if (fit.linear.degenerate) return "slope unknown (no flow spread)";
  char buf[128];
  std::snprintf(buf, sizeof buf, "se(a1) %.3f %% over %d flowing pairs", 100 * fit.linear.se_a1_robust / fit.linear.a1,
                check.flowing_pairs);
  return buf;
}
}  // namespace

Result<MaintenanceCase> MaintenanceCase::Open(const PairingEntry& entry, int case_number, const WindowCheck& check,
                                              int64_t now, const CaseOptions& options, CaseOutputs* out) {
  const Verdict v = check.reported.verdict;
  if (v != Verdict::kSteady && v != Verdict::kUnsteady) {
    return FailedPrecondition(std::string("no case to open for verdict ") + VerdictName(v));
  }
  MaintenanceCase c(entry, case_number, options);
  c.Record(now, "detected", "window " + std::to_string(check.window_start) + ": " + check.reported.reason);
  if (v == Verdict::kUnsteady) {
    c.OpenWorkOrder("unsteady deviation: " + check.reported.reason, now, out);
  } else if (!FitIsPrecise(check, options)) {
    c.state_ = State::kFitPending;
    c.Record(now, "fit_deferred", Precision(check) + ": pooling the next windows before sending parameters");
  } else {
    c.Issue(check.raw_fit.correction, now, out);
  }
  return c;
}

void MaintenanceCase::Record(int64_t at, const std::string& event, const std::string& detail) {
  history_.push_back({at, entry_.feature_code, event, detail});
}

void MaintenanceCase::Issue(const Correction& c, int64_t now, CaseOutputs* out) {
  ++attempt_;
  command_ = MaintenanceCommand{entry_.feature_code + "-" + std::to_string(case_number_) + "-" + std::to_string(attempt_),
                                entry_.feature_code, now, now + options_.command_ttl_s, c};
  state_ = State::kCommandIssued;
  out->commands.push_back(command_);
  Record(now, "command_issued", command_.command_id + ": " + c.ToString() + ", expires " + std::to_string(command_.expires_at));
  if (!entry_.phone.empty()) {
    out->notices.push_back({entry_.phone, entry_.feature_code, kSelfCheckNotice, now, c});
    Record(now, "notified", entry_.phone);
  }
}

void MaintenanceCase::OpenWorkOrder(const std::string& reason, int64_t now, CaseOutputs* out) {
  state_ = State::kWorkOrder;
  out->work_orders.push_back({entry_.feature_code, entry_.terminal_id, reason, now});
  Record(now, "work_order", reason);
}

Status MaintenanceCase::OnAck(const MaintenanceAck& ack, int64_t now, CaseOutputs* out) {
  if (state_ != State::kCommandIssued) {
    Record(now, "ack_refused", ack.command_id + ": case is " + CaseStateName(state_));
    return FailedPrecondition("ack " + ack.command_id + ": case is " + CaseStateName(state_));
  }
  if (ack.command_id != command_.command_id || ack.feature_code != entry_.feature_code) {
    Record(now, "ack_refused", ack.command_id + ": waiting for " + command_.command_id);
    return InvalidArgument("ack " + ack.command_id + " does not answer " + command_.command_id);
  }
  if (ack.applied_at > command_.expires_at) {
    Record(now, "ack_refused", ack.command_id + ": applied after expiry");
    return InvalidArgument("ack " + ack.command_id + ": applied at " + std::to_string(ack.applied_at) + " after expiry");
  }
  state_ = State::kAcknowledged;
  acked_at_ = ack.applied_at;
  applied_ = command_.correction;
  Record(now, "acknowledged", ack.command_id + " applied at " + std::to_string(ack.applied_at));
  return Status::Ok();
}

void MaintenanceCase::OnTick(int64_t now, CaseOutputs* out) {
  if (state_ != State::kCommandIssued || now <= command_.expires_at) return;
  Record(now, "command_expired", command_.command_id);
  if (retries_ < options_.max_command_retries) {
    ++retries_;
    Issue(command_.correction, now, out);
  } else {
    OpenWorkOrder("terminal did not acknowledge " + command_.command_id, now, out);
  }
}

Status MaintenanceCase::OnWindow(const WindowCheck& check, int64_t now, CaseOutputs* out) {
  if (state_ == State::kFitPending) {
    // `check` judges every window since detection, pooled (MeterMaintenance).
    const std::string w = "windows since detection, pooled to " + std::to_string(check.window_start) + ": " + check.reported.reason;
    switch (check.reported.verdict) {
      case Verdict::kUnsteady:
        OpenWorkOrder("unsteady deviation: " + w, now, out);
        return Status::Ok();
      case Verdict::kNone:
        // The pooled data do not show the deviation (yet): the detecting window may have seen
        // flows the others lack. Keep pooling; at the limit the deviation is not confirmed.
        if (++deferrals_ >= options_.max_deferred_windows) {
          state_ = State::kClosed;
          Record(now, "closed", "deviation not confirmed: " + w);
        } else {
          Record(now, "fit_deferred", "pooled windows within tolerance: " + w);
        }
        return Status::Ok();
      case Verdict::kTooFewPairs:
        Record(now, "window_ignored", w);
        return Status::Ok();
      case Verdict::kSteady:
        ++deferrals_;
        sent_precise_ = FitIsPrecise(check, options_);
        if (sent_precise_ || deferrals_ >= options_.max_deferred_windows) {
          Record(now, "fit_pooled", Precision(check) + " after " + std::to_string(deferrals_) + " more window(s)");
          Issue(check.raw_fit.correction, now, out);
        } else {
          Record(now, "fit_deferred", Precision(check) + " after " + std::to_string(deferrals_) + " more window(s)");
        }
        return Status::Ok();
    }
    return Status::Ok();
  }
  if (state_ != State::kAcknowledged) {
    Record(now, "window_ignored", "window " + std::to_string(check.window_start) + ": case is " + CaseStateName(state_));
    return Status::Ok();
  }
  if (check.window_start < acked_at_) {
    Record(now, "window_ignored", "window " + std::to_string(check.window_start) + " started before the correction");
    return Status::Ok();
  }
  const std::string w = "window " + std::to_string(check.window_start) + ": " + check.reported.reason;
  switch (check.reported.verdict) {
    case Verdict::kTooFewPairs:
      Record(now, "window_ignored", w);
      return Status::Ok();
    case Verdict::kNone:
      if (check.flowing_pairs < options_.min_flowing_pairs) {
        Record(now, "window_ignored", w + " (too little flow to verify: " + std::to_string(check.flowing_pairs) + " flowing pairs)");
        return Status::Ok();
      }
      Record(now, "verified_clean", w);
      state_ = State::kClosed;
      Record(now, "closed", "deviation gone after " + command_.command_id);
      return Status::Ok();
    case Verdict::kSteady:
      if (refits_ < options_.max_refits) {
        ++refits_;
        retries_ = 0;
        Record(now, "refit", w);
        Issue(check.raw_fit.correction, now, out);
      } else {
        OpenWorkOrder("deviation persists after refit: " + check.reported.reason, now, out);
      }
      return Status::Ok();
    case Verdict::kUnsteady:
      OpenWorkOrder("unsteady after correction: " + check.reported.reason, now, out);
      return Status::Ok();
  }
  return Status::Ok();
}

std::string MaintenanceCase::OnPhoto(bool within, const Correction& corrected, const std::string& what, int64_t now,
                                     CaseOutputs* out) {
  if (state_ == State::kCommandIssued) {
    Record(now, "photo_noted", what + ": " + command_.command_id + " not acknowledged yet");
    return "awaiting_ack";
  }
  if (state_ == State::kFitPending) {
    Record(now, "photo_noted", what + ": parameters not fitted yet");
    return "fit_pending";
  }
  if (state_ != State::kAcknowledged) return "";
  if (within) {
    Record(now, "verified_by_photo", what);
    state_ = State::kClosed;
    Record(now, "closed", "deviation gone after " + command_.command_id + " (photo comparison)");
    return "verified";
  }
  if (refits_ < options_.max_refits) {
    ++refits_;
    retries_ = 0;
    Record(now, "photo_refit", what);
    Issue(corrected, now, out);
    return "corrected";
  }
  OpenWorkOrder("deviation persists after refit: " + what, now, out);
  return "work_order";
}

}  // namespace mh::water
