// The head-end half of seed 000 over the store: meters' relay identities, their usage-level
// reports and each region's target sub-period (SPEC 2.3), region keys and their rotation (2.5),
// forwarded batches accepted once each after the origin's HMAC and kept with their failure code
// (2.6), their readings handed to the same validation pipeline as direct uploads, and the meters'
// nightly outcome reports, with a maintenance work order for a meter whose own uplink keeps
// failing. No transport: commands leave through a CommandSink, readings through a ReadingSink,
// work orders through a WorkOrderSink (the daemon binds MQTT, the pipeline and a webhook).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/reading.h"
#include "meter/batch_auth.h"
#include "meter/night_schedule.h"
#include "meter/radio.h"
#include "meter/slots.h"
#include "relay/region_name.h"
#include "relay/target_subperiod.h"
#include "store/store.h"

namespace mh::relay {

// Sends one command (JSON, docs/relay.md) to a meter; OK once the transport has it.
using CommandSink = std::function<Status(const std::string& meter_id, const std::string& command_json)>;
// Validates and durably stores readings; OK only once they are stored (then the relay is acked).
using ReadingSink = std::function<Status(const std::vector<Reading>& readings, const std::string& source)>;
// Delivers one work order (its JSON); OK once the receiver took it, kUnavailable to try again
// later, anything else when it will never be taken.
using WorkOrderSink = std::function<Status(const std::string& order_json)>;

struct RelayServiceOptions {
  meter::SlotOptions slots;                                  // window, slot length, slots per region
  std::string region_pattern = kDefaultRegionPattern;        // install address → region name
  int max_level = 100;                                       // reports above are refused
  int64_t key_rotation_s = 30 * 86400;                       // RotateDueKeys: rotate keys older than this
  meter::Fanout fanout = meter::Fanout::kAll;                // sent to the meters in relay_target
  int uplink_failure_nights = 3;                             // consecutive failed nights that open a work order
};

struct RelayRegistration {
  std::string meter_id;
  std::string region_code;      // 9 digits
  std::string position_code;    // 6 digits
  std::string install_address;  // the region name is extracted from it (SPEC 2.1)
  std::string device_key_hex;   // empty = generate one
};

struct RegionView {
  std::string region_code;
  std::string region_name;
  int64_t meters = 0;
  std::vector<int> sub_periods;       // allocated (SPEC 2.1)
  std::map<int, double> levels;       // region level per reported sub-period (2.3)
  std::map<int, int64_t> reporters;   // meters that reported each sub-period
  std::optional<int> target;
  std::vector<int> key_ids;           // current first
};

struct ForwardedBatch {
  meter::RelayBatch batch;
  std::vector<uint8_t> tag;     // the origin's HMAC-SHA256
  std::string relay_meter_id;   // the neighbour that carried it
};

enum class ForwardOutcome { kAccepted, kDuplicate };

// A meter's relay picture for technicians: its identity (without the device key), the batches
// it sent through relays with their failure codes, its nightly outcomes, its current streak of
// nights with a failed own uplink, and its work orders.
struct MeterRelayView {
  store::RelayMeter meter;                             // device_key_hex empty
  std::vector<store::RelayBatchRecord> batches;        // newest first
  std::vector<store::RelayOutcomeRecord> outcomes;     // newest night first
  int64_t uplink_failed_nights = 0;                    // consecutive, ending at the latest report
  std::vector<store::RelayWorkOrder> work_orders;      // newest first
};

// The outcomes of a region's meters.
struct RegionOutcomes {
  std::string region_code;
  store::RelayOutcomeTotals totals;
  std::map<std::string, int64_t> failing;              // meter → current streak of failed uplink nights (> 0)
};

// relay_outcomes.uplink_failure_codes: distinct codes ascending, comma-separated ("7,42"). Parsing
// skips anything that is not a code (the text is ours, but a hand-edited row must not throw).
std::string JoinFailureCodes(const std::vector<uint16_t>& codes);
std::vector<uint16_t> SplitFailureCodes(std::string_view text);

// Since the daemon started (the /metrics counters; REST has the stored totals).
struct OutcomeCounters {
  std::atomic<int64_t> reports{0};                 // outcome reports stored (a report sent again is not counted)
  std::atomic<int64_t> uplink_failures{0};         // failed own-uplink uploads they report
  std::atomic<int64_t> uplink_failed_nights{0};    // nights whose every own-uplink upload failed
  std::atomic<int64_t> relay_successes{0};         // (batch, relay) tries that succeeded
  std::atomic<int64_t> relay_failures{0};
  std::atomic<int64_t> aged_out{0};                // readings dropped unsent by the meters' retention
  std::atomic<int64_t> work_orders_opened{0};
  std::atomic<int64_t> work_orders_sent{0};
  std::atomic<int64_t> work_orders_failed{0};      // refused for good by the receiver
};

class RelayService {
 public:
  // Every pointer must outlive the service.
  RelayService(store::Store* store, const Clock* clock, meter::RandomSource* random, CommandSink commands,
               ReadingSink readings, RelayServiceOptions options);

  // Registers (or re-registers) a meter's relay identity. A region's first meter gets the region
  // its first key. The meter is sent its region's keys and, when known, the target. The returned
  // record holds the device key (generated when none was given). NotFound when the meter is not
  // registered (store meters table): nothing is written; InvalidArgument for a bad field or an
  // install address longer than kMaxInstallAddressBytes.
  Result<store::RelayMeter> RegisterMeter(const RelayRegistration& registration);

  // A meter's (sub-period, level) pairs, replacing its earlier ones. Returns the region's target
  // afterwards; a changed target goes to every meter of the region, an unchanged one to the
  // reporter. InvalidArgument for a sub-period not allocated to the region or a bad level,
  // NotFound for an unregistered meter.
  Result<std::optional<int>> Report(const std::string& meter_id, const std::vector<LevelReport>& reports);

  Result<std::vector<RegionView>> Regions();
  Result<RegionView> Region(const std::string& region_code);  // NotFound when it has no meters

  // A fresh key (next id 1..255, wrapping) becomes the region's current one; the previous stays
  // valid, older ones are deleted. Every meter of the region gets the keys. Returns the new id.
  Result<int> RotateKey(const std::string& region_code);
  // Rotates every region whose current key is older than key_rotation_s; returns how many.
  Result<int> RotateDueKeys();

  // A forwarded batch: kAccepted once its readings are stored, kDuplicate when the same batch
  // came before (by another relay, or again); Unauthenticated when the origin's tag fails (a
  // relay altered or invented readings), NotFound for an unknown origin — both recorded.
  Result<ForwardOutcome> Forward(const ForwardedBatch& forwarded);

  Result<store::RelayBatchTotals> Totals();

  // Where work orders go; without a sink they stay "open" (listed over REST). Set before use.
  void SetWorkOrderSink(WorkOrderSink send) { work_orders_ = std::move(send); }
  // Called from the reporting thread when an order was opened (the daemon wakes its sender).
  void SetWorkOrderOpenedHook(std::function<void()> hook) { order_opened_ = std::move(hook); }

  // A meter's account of one night (docs/relay.md §9). Kept once per (meter, night): OK(true) when
  // new, OK(false) when that night was reported before (nothing changes, no second work order).
  // A night is an uplink failure when the meter tried its own uplink and every upload failed;
  // the uplink_failure_nights-th consecutive one (nights 12–36 h apart) opens one work order for
  // the streak. NotFound for an unregistered meter.
  Result<bool> Outcome(const std::string& meter_id, const meter::RelayOutcome& outcome);
  // Sends the "open" work orders through the sink, oldest first: sent → "sent", refused for good
  // → "failed", not delivered (kUnavailable) → stays "open" for the next pass. Returns how many
  // were sent; without a sink nothing happens.
  int SendPendingWorkOrders();

  Result<MeterRelayView> MeterView(const std::string& meter_id, int64_t limit);  // NotFound when unregistered
  Result<RegionOutcomes> RegionOutcomeView(const std::string& region_code);      // NotFound when it has no meters
  const OutcomeCounters& outcome_counters() const { return counters_; }
  const RelayServiceOptions& options() const { return options_; }

 private:
  Result<RegionView> BuildView(const std::string& region_code, const std::vector<store::RelayMeter>& meters);
  Result<std::vector<LevelReport>> ReportsOf(const std::string& region_code);
  Status SendKeys(const store::RelayMeter& meter, const std::vector<store::RegionKeyRecord>& keys);
  Status SendTarget(const store::RelayMeter& meter, int target);
  // Consecutive failed uplink nights ending at the newest of `newest_first` (at most its size).
  static int64_t FailedStreak(const std::vector<store::RelayOutcomeRecord>& newest_first);
  Status OpenWorkOrderIfDue(const store::RelayMeter& meter, int64_t night);

  store::Store* const store_;
  const Clock* const clock_;
  meter::RandomSource* const random_;
  const CommandSink commands_;
  const ReadingSink readings_;
  const RelayServiceOptions options_;
  int slot_count_ = 0;
  WorkOrderSink work_orders_;              // set before use
  std::function<void()> order_opened_;     // set before use
  std::mutex send_mu_;                     // one work-order sending pass at a time
  OutcomeCounters counters_;
};

}  // namespace mh::relay
