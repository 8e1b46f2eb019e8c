// The meter's relay behaviour (SPEC 2.4–2.6) as a portable state machine: a retry queue of failed
// readings, the relay condition, the access-point role (beacon with an encrypted reference) and
// the scanning role (choose relays, forward a signed batch to each, or until the first succeeds),
// retention with a counted loss, and a nightly account of it all for the head-end.
// Single-threaded: the caller drives every method from one thread (the firmware main loop or the
// simulator's event loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/reading.h"
#include "meter/night_schedule.h"
#include "meter/radio.h"
#include "meter/relay_score.h"

namespace mh::meter {

struct MeterIdentity {
  std::string meter_id;       // SPEC 0.1: 1–32 chars of [A-Za-z0-9_-]
  std::string region_code;    // 9 digits
  std::string position_code;  // 6 digits
};

struct MeterNodeOptions {
  int history_days = 7;         // target sub-periods remembered for F (SPEC 2.4)
  double alpha = 3;             // α: lower bound of F in the score
  int k = 3;                    // relays chosen per night
  int max_retention_days = 30;  // a failed reading older than this is dropped and counted
  Fanout fanout = Fanout::kAll; // every chosen relay gets the batch, or relay by relay until one succeeds
  size_t max_pending_outcomes = 30;  // unsent nightly accounts kept; older ones are dropped and counted
};

// A reading the head-end has not acknowledged yet.
struct PendingReading {
  Reading reading;
  int64_t first_failure_s = 0;  // clock seconds of the first failed upload; retention runs from here
  uint16_t failure_code = 0;    // failure code of that first upload
};

// Monotonic counters; readings are counted one by one, attempts per SendToRelay call.
struct MeterNodeCounters {
  uint64_t uploaded_directly = 0;        // readings acknowledged on their first upload
  uint64_t uploaded_on_retry = 0;        // queued readings later acknowledged over the own uplink
  uint64_t delivered_via_relay = 0;      // queued readings acknowledged through a relay
  uint64_t relay_attempts = 0;           // SendToRelay calls
  uint64_t relay_failures = 0;           // SendToRelay calls the relay reported as failed
  uint64_t lost_to_retention = 0;        // readings dropped after max_retention_days
  uint64_t beacons_foreign = 0;          // heard, but not our prefix + region
  uint64_t beacons_rejected = 0;         // our region, but the vendor element did not decrypt
  uint64_t access_point_sessions = 0;    // nights this meter acted as a relay
  uint64_t forwarded_for_others = 0;     // neighbours' batches this meter forwarded successfully
  uint64_t refused_for_others = 0;       // neighbours' batches refused (no session, bad password)
  uint64_t outcomes_sent = 0;            // nightly accounts the head-end acknowledged
  uint64_t outcomes_dropped = 0;         // nightly accounts dropped unsent (max_pending_outcomes)
};

// What one target sub-period did.
struct NightReport {
  enum class Role { kAccessPoint, kScanner };
  Role role = Role::kAccessPoint;
  size_t aged_out = 0;                   // readings dropped by retention before anything else
  // Scanner only:
  size_t beacons_heard = 0;
  std::vector<ScoredRelay> chosen;       // best first
  size_t delivered = 0;                  // queued readings acknowledged tonight
  size_t still_queued = 0;               // left for a later night
  // Access point only:
  std::string ssid;
  // Both: tonight's account (also queued for the head-end, see MeterNode::pending_outcomes).
  RelayOutcome outcome;
};

class MeterNode {
 public:
  // `radio`, `keys`, `clock` and `random` must outlive the node. InvalidArgument for a bad
  // identity or options.
  static Result<MeterNode> Create(MeterIdentity identity, MeterNodeOptions options, Radio& radio,
                                  const KeyStore& keys, const Clock& clock, RandomSource& random);

  // Uploads one reading over the own uplink; on failure queues it with the failure code and the
  // current time. An empty meter_id is filled in; another meter's id is InvalidArgument.
  // Returns whether the upload succeeded.
  Result<bool> RecordReading(Reading reading);

  // Plain retry (no relay): uploads the whole queue over the own uplink in one batch; on success
  // the queue empties. Returns the number of readings acknowledged.
  size_t RetryDirect();

  // SPEC 2.4: the meter holds no reading that failed to reach the server.
  bool RelayCondition() const { return queue_.empty(); }

  // The start of tonight's target sub-period. Ages the queue out first. Then, if the relay
  // condition holds: starts an access point with a fresh reference (until EndTargetSubPeriod);
  // otherwise scans, records which relays were broadcasting (for F), chooses the k best relays and
  // sends them the queued readings, one signed batch per failure code, relay by relay until one
  // reports success (options.fanout = kFirst) or to every chosen relay (kAll). Last, tonight's
  // account joins the pending ones and they go to the head-end over the own uplink, oldest
  // first, until one fails (the rest wait for the next night). Errors only for a broken key store
  // or random source.
  Result<NightReport> OnTargetSubPeriod();
  // The end of the target sub-period: stops the access point if one runs.
  void EndTargetSubPeriod();

  // The relay role: a neighbour joined our access point with `password` and handed `batch`.
  // Forwards it over the own uplink when an access point session is running and the password is
  // the session's (constant-time compare); returns the report sent back to the neighbour. The
  // relay cannot check the batch's tag (it lacks the origin's device key); the head-end does.
  bool HandleRelayedBatch(std::string_view password, const SignedBatch& batch);

  // Drops the queued readings whose first failure lies more than max_retention_days before now,
  // counting each in lost_to_retention. Returns how many were dropped.
  size_t AgeOut();

  // F for a relay SSID: on how many of the last history_days target sub-periods it was seen
  // broadcasting (a night this meter was itself the access point counts as nothing seen).
  int BeaconFrequency(std::string_view ssid) const;

  // The head-end's relay_target sets the fanout (night_schedule.h's TargetAssignment).
  void set_fanout(Fanout fanout) { options_.fanout = fanout; }

  const MeterIdentity& identity() const { return identity_; }
  const MeterNodeOptions& options() const { return options_; }
  const std::deque<PendingReading>& queue() const { return queue_; }
  const MeterNodeCounters& counters() const { return counters_; }
  bool access_point_running() const { return session_password_.has_value(); }
  const std::deque<RelayOutcome>& pending_outcomes() const { return pending_outcomes_; }

 private:
  MeterNode(MeterIdentity identity, MeterNodeOptions options, Radio& radio, const KeyStore& keys,
            const Clock& clock, RandomSource& random);

  Result<NightReport> ActAsAccessPoint(NightReport report);
  Result<NightReport> ScanAndForward(NightReport report);
  void RememberNight(std::set<std::string> seen);
  UplinkResult UploadCounted(const RelayBatch& batch);
  // Closes tonight's account into report->outcome, queues it and sends what is pending.
  void CloseOutcome(int64_t night_s, NightReport* report);

  // Constant after construction.
  MeterIdentity identity_;
  MeterNodeOptions options_;
  Radio* radio_;
  const KeyStore* keys_;
  const Clock* clock_;
  RandomSource* random_;

  std::deque<PendingReading> queue_;                 // oldest first
  std::deque<std::set<std::string>> seen_history_;   // SSIDs seen per target sub-period, newest last
  std::map<std::string, int, std::less<>> seen_count_;  // SSID → nights in seen_history_
  std::optional<std::string> session_password_;      // set while our access point runs
  RelayOutcome outcome_;                             // the account being collected
  std::deque<RelayOutcome> pending_outcomes_;        // closed accounts not yet acknowledged, oldest first
  MeterNodeCounters counters_;
};

}  // namespace mh::meter
