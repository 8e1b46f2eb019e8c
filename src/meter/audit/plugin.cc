#include "meter/audit/plugin.h"

namespace mh::meter::audit {

const char* SignalEventKindName(SignalEvent::Kind kind) {
  switch (kind) {
    case SignalEvent::kOpen: return "open";
    case SignalEvent::kStart: return "start";
    case SignalEvent::kStop: return "stop";
    case SignalEvent::kClose: return "close";
  }
  return "?";
}

AuditPlugin::AuditPlugin(std::string meter_id, const Cycle& first_cycle, Uploader* uploader, const PluginOptions& options)
    : meter_id_(std::move(meter_id)), uploader_(uploader), options_(options) {
  segment_.meter_id = meter_id_;
  segment_.cycle = first_cycle;
  segment_.next_d = NextCycleLength();
}

double AuditPlugin::BaseForNextCycle() const {
  if (pending_server_d_ && pending_server_d_->second <= segment_.cycle.EndDay()) return pending_server_d_->first;
  if (server_d_) return *server_d_;
  return options_.adjust.cycle_constant;
}

int AuditPlugin::NextCycleLength() const {
  AdjustOptions o = options_.adjust;
  o.cycle_constant = BaseForNextCycle();
  return AdjustedCycleLength(segment_.start_labels, segment_.end_labels, o);
}

void AuditPlugin::SetServerCycleLength(int d, int64_t from_day) {
  if (d < 1) return;
  pending_server_d_ = std::make_pair(d, from_day);
  segment_.next_d = NextCycleLength();
}

const DynamicSegment& AuditPlugin::ReportedSegment() const {
  if (segment_.lines.empty() && last_finished_) return *last_finished_;
  return segment_;
}

void AuditPlugin::AdvanceTo(int64_t t) {
  while (true) {
    if (open_) {
      if (t < end_utc_) break;
      CloseWindow();
    } else {
      if (next_window_ > segment_.cycle.d) {
        // The next cycle starts at local midnight of the day after this one.
        if (t < segment_.cycle.EndDay() * kDaySeconds - segment_.cycle.tz_offset_s) break;
        StartNextCycle();
      }
      if (t < segment_.cycle.WindowStartUtc(next_window_)) break;
      OpenWindow(next_window_);
    }
  }
}

void AuditPlugin::Emit(SignalEvent::Kind kind, int64_t t, bool on) {
  SignalEvent e;
  e.meter_id = meter_id_;
  e.day = line_.day;
  e.window = line_.window;
  e.d = segment_.cycle.d;
  e.tz_offset_s = segment_.cycle.tz_offset_s;
  e.seq = seq_++;
  e.t = t;
  e.kind = kind;
  e.on = on;
  ++uploaded_;
  if (uploader_) uploader_->Upload(e);
}

void AuditPlugin::OpenWindow(int window) {
  open_ = true;
  start_utc_ = segment_.cycle.WindowStartUtc(window);
  end_utc_ = segment_.cycle.WindowEndUtc(window);
  seq_ = 0;
  line_ = WindowLine{};
  line_.window = window;
  line_.day = segment_.cycle.DayOfWindow(window);
  auto it = expected_.find(window);
  line_.expect = it == expected_.end() ? 0 : it->second;
  line_.pairs.reserve(static_cast<size_t>(line_.expect / 2));
  Emit(SignalEvent::kOpen, start_utc_, signal_on_);
  pending_.reset();
  if (invoking_) {
    // Already running at the window start: the window start is its pseudo start (SPEC 4.4).
    pending_ = SlotPair{0, 0, true, false};
    ++segment_.start_labels;
  }
}

void AuditPlugin::CloseWindow() {
  if (pending_) {
    // Still running at the window end: the window end is its pseudo end.
    pending_->end = end_utc_ - start_utc_;
    pending_->end_label = true;
    line_.pairs.push_back(*pending_);
    pending_.reset();
    ++segment_.end_labels;
  }
  Emit(SignalEvent::kClose, end_utc_, signal_on_);
  line_.suffix = static_cast<int>(2 * line_.pairs.size());
  expected_[line_.window] = line_.suffix;
  segment_.lines.push_back(line_);
  segment_.next_d = NextCycleLength();
  open_ = false;
  ++next_window_;
}

void AuditPlugin::StartNextCycle() {
  if (cycle_end_hook_) cycle_end_hook_(segment_);
  last_finished_ = segment_;
  Cycle next = segment_.cycle;
  next.first_day = segment_.cycle.EndDay();
  next.d = NextCycleLength();
  if (pending_server_d_ && pending_server_d_->second <= next.first_day) {
    server_d_ = pending_server_d_->first;
    pending_server_d_.reset();
  }
  if (next.d != segment_.cycle.d) expected_.clear();  // other windows: last counts do not apply
  segment_.cycle = next;
  segment_.lines.clear();
  segment_.start_labels = segment_.end_labels = 0;
  segment_.next_d = NextCycleLength();
  next_window_ = 1;
}

void AuditPlugin::OnSignal(int64_t t, bool on) {
  AdvanceTo(t);
  if (on == signal_on_) return;
  signal_on_ = on;
  if (open_) Emit(on ? SignalEvent::kStart : SignalEvent::kStop, t, on);
}

void AuditPlugin::OnInvocationStart(int64_t t) {
  AdvanceTo(t);
  if (invoking_) return;
  invoking_ = true;
  if (open_) pending_ = SlotPair{t - start_utc_, 0, false, false};
}

void AuditPlugin::OnInvocationEnd(int64_t t) {
  AdvanceTo(t);
  if (!invoking_) return;
  invoking_ = false;
  if (open_ && pending_) {
    pending_->end = t - start_utc_;
    line_.pairs.push_back(*pending_);
    pending_.reset();
  }
}

}  // namespace mh::meter::audit
