// The head-end half of seed 000 over the store: meters' relay identities, their usage-level
// reports and each region's target sub-period (SPEC 2.3), region keys and their rotation (2.5),
// and forwarded batches accepted once each after the origin's HMAC (2.6), their readings handed
// to the same validation pipeline as direct uploads. No transport: commands leave through a
// CommandSink, readings through a ReadingSink (the daemon binds MQTT and the pipeline).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "core/reading.h"
#include "meter/batch_auth.h"
#include "meter/radio.h"
#include "meter/slots.h"
#include "relay/target_subperiod.h"
#include "store/store.h"

namespace mh::relay {

// Sends one command (JSON, docs/relay.md) to a meter; OK once the transport has it.
using CommandSink = std::function<Status(const std::string& meter_id, const std::string& command_json)>;
// Validates and durably stores readings; OK only once they are stored (then the relay is acked).
using ReadingSink = std::function<Status(const std::vector<Reading>& readings, const std::string& source)>;

struct RelayServiceOptions {
  meter::SlotOptions slots;                                  // window, slot length, slots per region
  std::string region_pattern = meter::kDefaultRegionPattern; // install address → region name
  int max_level = 100;                                       // reports above are refused
  int64_t key_rotation_s = 30 * 86400;                       // RotateDueKeys: rotate keys older than this
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

class RelayService {
 public:
  // Every pointer must outlive the service.
  RelayService(store::Store* store, const Clock* clock, meter::RandomSource* random, CommandSink commands,
               ReadingSink readings, RelayServiceOptions options);

  // Registers (or re-registers) a meter's relay identity. A region's first meter gets the region
  // its first key. The meter is sent its region's keys and, when known, the target. The returned
  // record holds the device key (generated when none was given).
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

 private:
  Result<RegionView> BuildView(const std::string& region_code, const std::vector<store::RelayMeter>& meters);
  Result<std::vector<LevelReport>> ReportsOf(const std::string& region_code);
  Status SendKeys(const store::RelayMeter& meter, const std::vector<store::RegionKeyRecord>& keys);
  Status SendTarget(const store::RelayMeter& meter, int target);

  store::Store* const store_;
  const Clock* const clock_;
  meter::RandomSource* const random_;
  const CommandSink commands_;
  const ReadingSink readings_;
  const RelayServiceOptions options_;
  int slot_count_ = 0;
};

}  // namespace mh::relay
