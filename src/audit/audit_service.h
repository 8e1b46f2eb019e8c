// The audit server in the daemon (SPEC 4.5): commissions meters (their code and comparison table
// into the ledger — the audit side's, never the meter's word — and their user attribute and
// region), takes the plugin's first monitoring times into the ledger, keeps each meter's latest
// segments, sets each meter's cycle length from its consumption before its next cycle (SPEC 4.1),
// fetches a meter's segments when an audit is requested, runs audits on request and on a schedule,
// records every result, and opens an inspection order on any alarm and sends it.
// Transport-free: the daemon feeds it MQTT payloads and REST calls; commands and orders leave
// through the functions it is given, the readings come through a ConsumptionSource.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alerts/channel.h"
#include "audit/audit.h"
#include "audit/consumption_source.h"
#include "audit/cycle_planner.h"
#include "audit/messages.h"
#include "audit/segment_requests.h"
#include "audit/verified_ledger.h"
#include "base/clock.h"
#include "base/status.h"
#include "meter/audit/plugin.h"
#include "store/audit_store.h"

namespace mh::audit {

struct AuditServiceOptions {
  int64_t tolerance_s = 1;
  int max_send_attempts = 5;         // then the order is "failed"
  int64_t segments_timeout_ms = 30000;  // audit.segments_timeout: how long a run waits for the meter
  int max_silent = 3;                // audit.max_silent: unanswered requests in a row that open an order
  int max_waiting_runs = 4;          // audit.max_waiting_runs: runs waiting for segments at once
  CyclePlanOptions cycle;            // SPEC 4.1: history days, w, D_min, D_max
};

// Sends one inspection order (Message.json = the order JSON).
using OrderSender = std::function<Status(const alerts::Message&)>;
// Publishes a command on the meter's command topic (meters/<shard>/<id>/commands).
using CommandSender = std::function<Status(const std::string& meter_id, const std::string& payload)>;

// What the service talks to besides its ledger and store. Each may be empty/null.
struct AuditServiceIo {
  OrderSender send_order;          // empty: orders stay "open"
  CommandSender send_command;      // empty (no broker): runs use the stored segments, no cycle lengths are sent
  ConsumptionSource* readings = nullptr;  // null: no registration check, no cycle lengths
};

// The 32-byte Ed25519 private key in `path` (64 hex chars); generated and written with mode 0600
// when the file does not exist. FailedPrecondition when it exists but is not a key, or is readable
// by group/others.
Result<std::string> LoadOrCreateLedgerKey(const std::string& path);

// What a commissioning (or re-commissioning) sets.
struct CommissionRequest {
  std::string fixed_image;                      // the meter's fixed segment image (bytes)
  std::string compare_text;                     // mh-compare 1; empty: the reference table (lines 3-11)
  std::optional<int64_t> registered_at;         // absent: when already commissioned, that time; else now
  std::optional<std::string> user_attribute;    // "enterprise" | "residential" (default, or unchanged)
  std::optional<std::string> region;            // a 9-digit region code (SPEC 0.1); "" clears it
  std::string reason;                           // re-commissioning: why (1–200 printable chars)
};

struct CommissionResult {
  int number = 0;            // 0 = the first commissioning
  bool appended = false;     // false: the same commissioning again (idempotent)
  int64_t registered_at = 0;
  std::string compare_text;
  store::AuditMeterRow meter;
  int64_t ledger_size = 0;
};

class AuditService {
 public:
  // `ledger` and `store` (and io.readings) must outlive the service.
  AuditService(AuditLedger* ledger, store::AuditStore* store, const Clock* clock, AuditServiceIo io,
               AuditServiceOptions options = {});
  ~AuditService();

  // One first monitoring time of a commissioned meter, appended durably before this returns (then
  // the message is acked). The open of a cycle's first window sends the meter its next cycle length.
  Status HandleSignal(const std::string& meter_id, std::string_view payload);
  // The meter's segments, kept as its latest; an answer to a request goes to the run waiting for it.
  Status HandleSegments(const std::string& meter_id, std::string_view payload);

  // Commissioning: code and table into the ledger (commissioning 0). NotFound when the readings
  // store does not know the meter; AlreadyExists when it was commissioned with something else
  // (a change is a re-commissioning).
  Result<CommissionResult> Commission(const std::string& meter_id, const CommissionRequest& request);
  // A new code and table (a firmware update) with a reason: the next commissioning's entries.
  // NotFound when the meter was never commissioned. The same request again is a no-op.
  Result<CommissionResult> Recommission(const std::string& meter_id, const CommissionRequest& request);
  Result<std::optional<store::AuditMeterRow>> Meter(const std::string& meter_id) { return store_->GetMeter(meter_id); }

  // Runs the audit of one meter now and records it. With a command sender the meter is asked for
  // its segments first and the run waits up to segments_timeout for them ("segments":"fresh");
  // a silent meter is audited on its stored segments when it has some ("stored", flagged silent).
  // Unavailable when max_waiting_runs runs are waiting already; NotFound when the meter is not
  // commissioned or there are no segments to audit.
  Result<store::AuditResultRow> Run(const std::string& meter_id, const std::string& trigger);
  // Audits every meter that sent segments, on its stored segments; retries unsent orders. Returns
  // how many were audited.
  Result<int> RunAll(const std::string& trigger);
  // Sends the orders still "open" (each at most once per call).
  int SendPendingOrders();

  // A background thread calling RunAll("schedule") every interval_s (> 0) until Stop().
  // `active` set: a due run is skipped while it returns false (scale-out: one worker audits).
  void StartSchedule(int64_t interval_s, std::function<bool()> active = {});
  // Stops the schedule and wakes every run waiting for segments.
  void Stop();

  AuditLedger& ledger() { return *ledger_; }
  store::AuditStore& store() { return *store_; }
  const AuditServiceOptions& options() const { return options_; }
  uint64_t audits() const { return audits_; }
  uint64_t alarms() const { return alarmed_; }
  uint64_t silent_requests() const { return silent_; }
  uint64_t cycles_sent() const { return cycles_sent_; }
  uint64_t cycle_errors() const { return cycle_errors_; }

 private:
  enum class Fetch { kNotAsked, kAnswered, kSilent, kNotSent };
  Status SendOrder(store::InspectionOrderRow* order);  // updates state/attempts; requires mu_
  // The audit on `fresh` segments (or the stored ones), recorded.
  Result<store::AuditResultRow> RunOne(const std::string& meter_id, const std::string& trigger,
                                       const std::optional<store::AuditSegments>& fresh, Fetch fetch,
                                       const std::string& fetch_error);
  Result<store::AuditResultRow> Record(const std::string& meter_id, AuditResult result,
                                       store::AuditResultRow row);  // requires mu_
  Result<CommissionResult> Append(const std::string& meter_id, const CommissionRequest& request, int number,
                                  const std::string& reason, const std::optional<Commissioning>& latest);
  Result<std::optional<Commissioning>> LatestOf(const std::string& meter_id);
  Result<bool> IsCommissioned(const std::string& meter_id);
  // After the open of window 1 of a cycle: the next cycle's length to the meter.
  Status SendNextCycle(const meter::audit::SignalEvent& open);

  AuditLedger* const ledger_;
  store::AuditStore* const store_;
  const Clock* const clock_;
  const AuditServiceIo io_;
  const AuditServiceOptions options_;
  SegmentRequests requests_;
  std::mutex mu_;  // one audit (or order sending pass, or commissioning) at a time
  std::mutex plan_mu_;
  CyclePlanner planner_;  // guarded by plan_mu_
  std::mutex known_mu_;
  std::set<std::string> commissioned_;  // guarded by known_mu_: meters known to be commissioned
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread thread_;     // the schedule; touched by StartSchedule/Stop only
  std::atomic<uint64_t> audits_{0}, alarmed_{0}, silent_{0}, cycles_sent_{0}, cycle_errors_{0};
};

// The order as JSON (what a webhook receives):
// {"type":"inspection_order","order_id":…,"meter":…,"opened_at":…,"priority":…,"summary":…,"alarms":[…],"reasons":[…]}
std::string InspectionOrderJson(const InspectionOrder& order, const std::vector<std::string>& alarms);

}  // namespace mh::audit
