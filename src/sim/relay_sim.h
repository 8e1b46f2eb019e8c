// SPEC 2.7 / 6.1: relay vs plain retry on the same fleet and the same draws. Follows the cohort of
// readings that failed their first upload on day 1 and reports, night by night, the share of it
// delivered and the radio transmissions spent beyond the first uploads.
//
// Two engines: the direct one makes the decisions of meter::MeterNode (SPEC 2.4–2.6) itself —
// relay condition, scan, F over the last history_days target sub-periods, meter::ChooseRelays,
// relay by relay until the first success — without the beacon crypto; the other drives a real
// MeterNode per meter. A test holds them to identical figures.
//
// Counting: an extra transmission is a plain-retry uplink attempt, a meter-to-meter data frame
// to a relay, or a relay's forwarding uplink attempt. Acknowledgements (head-end → meter, relay →
// origin report), the relays' beacons and the meters' nightly outcome reports are not counted,
// for either strategy. With fanout "all" (the default, SPEC 2.6) a queued meter sends its batch to
// each chosen relay; with "first" relay by relay until one succeeds — the extra frames and
// forwards of "all" show in the extra transmissions per delivered reading.
// Scan: a relay's beacon is heard when tonight's RSSI of the pair exceeds the Wi-Fi threshold; the
// data frame to it then succeeds with wifi_frame_success. A queued meter in the relay strategy
// does not also retry over its own uplink (SPEC 2.4: it scans instead).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "meter/night_schedule.h"
#include "meter/radio.h"
#include "sim/radio_model.h"

namespace mh::sim {

struct RelaySimOptions {
  // kRelay is the seed's method alone: a meter holding failed readings scans for relays instead
  // of retrying its own uplink. kRelayWithRetry is what a deployed meter does: in its target
  // sub-period it first retries its own uplink exactly as plain retry does (same draws), then
  // scans for relays if readings are still queued.
  enum Strategy { kPlainRetry, kRelay, kRelayWithRetry };
  // kDirect makes MeterNode's decisions with meter::ChooseRelays directly (fast); kMeterNode runs a
  // real meter::MeterNode per meter over a simulated Radio (beacon crypto included, slower). Both
  // draw from the same streams in the same order and give identical figures (relay_sim_test).
  enum Engine { kDirect, kMeterNode };

  int meters = 2000;        // fleet size; streets of radio.street_length
  int nights = 7;           // days simulated; night d follows day d
  uint64_t seed = 1;        // the whole fleet and every draw follow from it
  Strategy strategy = kPlainRetry;
  Engine engine = kDirect;
  int k = 3;                // relays chosen per night (SPEC 2.4)
  double alpha = 3;         // α of the relay score
  int history_days = 7;     // target sub-periods remembered for F
  int plain_attempts = 3;   // plain retry: attempts per queued batch per night
  meter::Fanout fanout = meter::Fanout::kAll;  // relay strategies: every chosen relay, or until the first succeeds
  bool readings_every_day = true;  // days 2.. also upload (their failures queue up, not the cohort)
  std::string id_prefix = "m";     // meter ids are id_prefix + index
  std::function<void()> night_done;  // called after each simulated night (progress display)
  RadioModelOptions radio;
};

const char* StrategyName(RelaySimOptions::Strategy strategy);

struct RelaySimNight {
  int night = 0;
  uint64_t cohort_delivered = 0;      // day-1 failed readings delivered by the end of this night
  double cohort_delivered_fraction = 0;
  uint64_t queued_meters = 0;         // meters with a non-empty queue at the start of the night
  uint64_t relays = 0;                // relay strategy: meters meeting the relay condition
  uint64_t delivered_readings = 0;    // queued readings (any day) delivered tonight
  uint64_t uplink_attempts = 0;       // tonight: retries over the own uplink or relays' forwards
  uint64_t wifi_frames = 0;           // tonight: meter-to-meter data frames
  uint64_t extra_transmissions = 0;   // uplink_attempts + wifi_frames
  // Cumulative extra transmissions / cumulative delivered queued readings (0 when none).
  double extra_per_delivered = 0;

  bool operator==(const RelaySimNight&) const = default;
};

struct RelaySimReport {
  RelaySimOptions::Strategy strategy = RelaySimOptions::kPlainRetry;
  int meters = 0;
  uint64_t seed = 0;
  uint64_t poor_meters = 0;           // p_i drawn from the poor tail
  uint64_t cohort_readings = 0;       // readings that failed their first upload on day 1
  uint64_t cohort_meters = 0;         // meters holding at least one of them
  std::vector<RelaySimNight> nights;
  // Per meter: the night its day-1 failures were delivered; 0 = never (or none failed).
  std::vector<uint8_t> cohort_delivered_night;
  // Per meter: how many of its readings failed on day 1.
  std::vector<uint16_t> cohort_per_meter;
  uint64_t undelivered_readings = 0;  // kMeterNode engine: readings still queued after the last night
  double wall_seconds = 0;            // not part of the figures: excluded from SameFigures
};

// Why the day-1 readings still queued after `night` were not delivered: each undelivered meter
// falls in the first class that applies, weighted by its queued cohort readings.
struct UndeliveredCause {
  std::string cause;
  uint64_t meters = 0;
  uint64_t readings = 0;
};
std::vector<UndeliveredCause> UndeliveredCauses(const RelaySimReport& report, const RadioModel& model,
                                                int night);

// True when two reports carry identical figures (everything but wall_seconds).
bool SameFigures(const RelaySimReport& a, const RelaySimReport& b);

// Runs one strategy. InvalidArgument for bad options.
Result<RelaySimReport> RunRelayStrategy(const RelaySimOptions& options);
// The same, on an already drawn model (options.meters/nights/seed/radio must match it).
Result<RelaySimReport> RunRelayStrategy(const RelaySimOptions& options, const RadioModel& model);

// The simulated fleet's identities: meter id, 9-digit region code of a street (one region per
// street), 6-digit position code.
std::string SimMeterId(const RelaySimOptions& options, int meter);
std::string SimRegionCode(int street);
std::string SimPositionCode(int position);

// Where a MeterNode fleet's successful transmissions really go (a running head-end), and the keys
// its meters hold. Called from the simulation thread.
class FleetLink {
 public:
  virtual ~FleetLink() = default;
  virtual const meter::KeyStore& Keys(int meter) = 0;
  virtual void Uploaded(int meter, const meter::RelayBatch& batch) = 0;   // own uplink went through
  virtual void Forwarded(int relay, const meter::SignedBatch& batch) = 0; // a relay's forward went through
  virtual void OutcomeUploaded(int meter, const meter::RelayOutcome& outcome) = 0;  // a night's account went through
  // The fanout the head-end told this meter (relay_target); nullopt = RelaySimOptions::fanout.
  virtual std::optional<meter::Fanout> FanoutOf(int meter) = 0;
  virtual Status EndOfNight(int night) = 0;                               // e.g. wait for the acks
};

// The kMeterNode engine with every successful transmission also handed to `link`.
Result<RelaySimReport> RunNodeFleet(const RelaySimOptions& options, const RadioModel& model, FleetLink* link);

// `meterhub sim relay --meters N [--nights 7] [--seed S] [--k 3] [--fanout all|first] [--csv OUT.csv] [model options]`:
// runs both strategies on the same seed and prints the parameters, a per-night table and the wall
// time. Exit 0, 2 for bad options, 1 when the CSV cannot be written.
int RunRelaySim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

}  // namespace mh::sim
