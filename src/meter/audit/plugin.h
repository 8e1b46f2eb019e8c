// SPEC 4.2 and 4.4: the monitoring plugin inside the meter firmware. During the day's window it
// records every start and stop of the metering signal (first monitoring times) and hands them at
// once to an uploader (real-time upload to the ledger); it watches the code interface of the fixed
// segment (second monitoring times) and writes them into the dynamic segment, one line per window:
// slot pairs, pseudo start/end with labels at the window edges, the suffix with the slot count
// (the expected count of the same window next cycle), and the adjusted cycle D'. The head-end's
// cycle length D (SPEC 4.1, sent as a command) takes the place of the preset constant C in D'.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "meter/audit/dynamic_segment.h"
#include "meter/audit/firmware.h"
#include "meter/audit/schedule.h"

namespace mh::meter::audit {

// One first monitoring time. Each window yields kOpen (seq 0, with the signal state at the window
// start), the edges in order (seq 1..n), and kClose (seq n+1, the state at the window end).
struct SignalEvent {
  enum Kind : uint8_t { kOpen, kStart, kStop, kClose };
  std::string meter_id;
  int64_t day = 0;      // local epoch day of the window
  int window = 1;       // 1..d
  int d = 1;            // the cycle length the window belongs to
  int32_t tz_offset_s = 0;
  int64_t seq = 0;
  int64_t t = 0;        // UTC epoch seconds
  Kind kind = kOpen;
  bool on = false;      // kOpen/kClose: the signal state at that edge of the window
  bool operator==(const SignalEvent&) const = default;
};
const char* SignalEventKindName(SignalEvent::Kind kind);

// The real-time upload seam (to the ledger, via whatever transport the meter has).
class Uploader {
 public:
  virtual ~Uploader() = default;
  virtual void Upload(const SignalEvent& event) = 0;
};

struct PluginOptions {
  AdjustOptions adjust;
};

class AuditPlugin final : public FirmwareObserver {
 public:
  // `uploader` must outlive the plugin. Windows open and close at their own boundary times, in
  // order, as AdvanceTo (or any event) reaches them, starting with window 1 of `first_cycle`.
  AuditPlugin(std::string meter_id, const Cycle& first_cycle, Uploader* uploader, const PluginOptions& options = {});

  void AdvanceTo(int64_t t) override;
  void OnSignal(int64_t t, bool on) override;
  void OnInvocationStart(int64_t t) override;
  void OnInvocationEnd(int64_t t) override;

  // The head-end's cycle length D (SPEC 4.1) for the cycles starting on local day `from_day` or
  // later: from then on D' = max(1, round(D / (1 + λ·(s1 + s2)))) — D in place of C — until the
  // head-end sends another. A cycle already running keeps its length (its windows are in the
  // ledger). D < 1 is ignored.
  void SetServerCycleLength(int d, int64_t from_day);

  const DynamicSegment& dynamic_segment() const { return segment_; }
  // What the meter reports when asked for its segments: the dynamic segment holding its latest
  // closed window — the running cycle's once one of its windows closed, until then the cycle that
  // just ended (its lines are cleared at the new cycle's start).
  const DynamicSegment& ReportedSegment() const;
  // The segment as stored in the meter: an attacker (or a test) may rewrite it.
  DynamicSegment* mutable_dynamic_segment() { return &segment_; }
  const Cycle& cycle() const { return segment_.cycle; }
  bool window_open() const { return open_; }
  uint64_t uploaded() const { return uploaded_; }
  // Called with the finished segment just before a new cycle resets it.
  void SetCycleEndHook(std::function<void(const DynamicSegment&)> hook) { cycle_end_hook_ = std::move(hook); }

 private:
  void OpenWindow(int window);
  void CloseWindow();
  void StartNextCycle();
  void Emit(SignalEvent::Kind kind, int64_t t, bool on);
  // C, or the head-end's D that applies to the cycle after the current one.
  double BaseForNextCycle() const;
  int NextCycleLength() const;

  std::string meter_id_;
  Uploader* uploader_;
  PluginOptions options_;
  DynamicSegment segment_;
  std::map<int, int> expected_;   // window → last cycle's suffix (same D only)
  std::optional<int> server_d_;   // the head-end's D in force (replaces C)
  std::optional<std::pair<int, int64_t>> pending_server_d_;  // (D, from day) not in force yet
  std::optional<DynamicSegment> last_finished_;
  std::function<void(const DynamicSegment&)> cycle_end_hook_;

  int next_window_ = 1;
  bool open_ = false;
  int64_t start_utc_ = 0, end_utc_ = 0;
  int64_t seq_ = 0;
  WindowLine line_;
  std::optional<SlotPair> pending_;  // an invocation started, not yet ended
  bool signal_on_ = false;
  bool invoking_ = false;
  uint64_t uploaded_ = 0;
};

}  // namespace mh::meter::audit
