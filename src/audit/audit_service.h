// The audit server in the daemon (SPEC 4.5): takes the plugin's first monitoring times into the
// ledger (idempotent per (meter, window, seq)), keeps each meter's segments, registers a meter's
// initial fixed code at commissioning, runs audits on request and on a schedule, records every
// result, and opens an inspection order on any alarm and sends it (e.g. to a webhook).
// Transport-free: the daemon feeds it MQTT payloads and REST calls; orders leave through `send`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "alerts/channel.h"
#include "audit/audit.h"
#include "audit/verified_ledger.h"
#include "base/clock.h"
#include "base/status.h"
#include "meter/audit/plugin.h"
#include "store/audit_store.h"

namespace mh::audit {

struct AuditServiceOptions {
  int64_t tolerance_s = 1;
  int max_send_attempts = 5;  // then the order is "failed"
};

// Sends one inspection order (Message.json = the order JSON). Empty: orders stay "open".
using OrderSender = std::function<Status(const alerts::Message&)>;

// The 32-byte Ed25519 private key in `path` (64 hex chars); generated and written with mode 0600
// when the file does not exist. FailedPrecondition when it exists but is not a key, or is readable
// by group/others.
Result<std::string> LoadOrCreateLedgerKey(const std::string& path);

// MQTT payloads (docs/formats/audit.md "Audit topics"):
//   audit/signal:   {"seq":1,"day":20777,"signal":"mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=… edge=start"}
//   audit/segments: {"fixed_image_hex":"…","dynamic":"mh-dynamic 1\n…","compare":"mh-compare 1\n…"}
class AuditService {
 public:
  // `ledger` and `store` must outlive the service.
  AuditService(AuditLedger* ledger, store::AuditStore* store, const Clock* clock, OrderSender send,
               AuditServiceOptions options = {});
  ~AuditService();

  // One first monitoring time, appended durably before this returns (then the message is acked).
  Status HandleSignal(const std::string& meter_id, std::string_view payload);
  Status HandleSegments(const std::string& meter_id, std::string_view payload);
  // Registers the initial fixed code (commissioning). AlreadyExists when another image is registered.
  Status Commission(const std::string& meter_id, std::string_view fixed_image, int64_t registered_at);

  // Runs the audit of one meter now and records it. NotFound when the meter sent no segments.
  Result<store::AuditResultRow> Run(const std::string& meter_id, const std::string& trigger);
  // Audits every meter that sent segments; retries unsent orders. Returns how many were audited.
  Result<int> RunAll(const std::string& trigger);
  // Sends the orders still "open" (each at most once per call).
  int SendPendingOrders();

  // A background thread calling RunAll("schedule") every interval_s (> 0) until Stop().
  void StartSchedule(int64_t interval_s);
  void Stop();

  AuditLedger& ledger() { return *ledger_; }
  store::AuditStore& store() { return *store_; }
  uint64_t audits() const { return audits_; }
  uint64_t alarms() const { return alarmed_; }

 private:
  Status SendOrder(store::InspectionOrderRow* order);  // updates state/attempts; requires mu_
  // Run without the whole-log check for deleted rows (RunAll does it once per pass).
  Result<store::AuditResultRow> RunOne(const std::string& meter_id, const std::string& trigger);

  AuditLedger* const ledger_;
  store::AuditStore* const store_;
  const Clock* const clock_;
  const OrderSender send_;
  const AuditServiceOptions options_;
  std::mutex mu_;  // one audit (or order sending pass) at a time
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread thread_;     // the schedule; touched by StartSchedule/Stop only
  std::atomic<uint64_t> audits_{0}, alarmed_{0};
};

// The MQTT payloads a meter sends (the simulator's and the tests' meters use these).
std::string SignalMessage(const meter::audit::SignalEvent& event);
std::string SegmentsMessage(std::string_view fixed_image, std::string_view dynamic_text, std::string_view compare_text);

// The order as JSON (what a webhook receives):
// {"type":"inspection_order","order_id":…,"meter":…,"opened_at":…,"priority":…,"summary":…,"alarms":[…],"reasons":[…]}
std::string InspectionOrderJson(const InspectionOrder& order, const std::vector<std::string>& alarms);

}  // namespace mh::audit
