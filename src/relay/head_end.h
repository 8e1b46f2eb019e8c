// The head-end half of seed 000 as domain logic — no store, no transport: it collects the
// meters' usage-level reports per region and decides each region's target sub-period (SPEC 2.3),
// keeps the region keys with rotation (2.5), and accepts a forwarded batch once the origin
// meter's HMAC checks out, once however many relays carried it (2.6).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "meter/access_password.h"
#include "meter/batch_auth.h"
#include "relay/target_subperiod.h"

namespace mh::relay {

// Where the head-end finds a meter's device key (provisioned at commissioning).
class DeviceKeys {
 public:
  virtual ~DeviceKeys() = default;
  virtual std::optional<std::vector<uint8_t>> DeviceKey(const std::string& meter_id) const = 0;
};

// A batch as a relay delivers it: the origin's readings, the origin's tag, and who carried it.
struct ForwardedBatch {
  meter::RelayBatch batch;
  std::vector<uint8_t> tag;     // HMAC-SHA256 of the origin meter
  std::string relay_meter_id;   // the neighbour that forwarded it
};

struct RelayStats {
  int64_t accepted = 0;         // batches whose readings go on to validation
  int64_t duplicates = 0;       // the same batch again (another relay, or a retry)
  int64_t rejected = 0;         // bad tag: altered or invented by a relay
  int64_t unknown_origin = 0;   // no device key for the origin
  int64_t readings = 0;         // readings in accepted batches
};

class HeadEnd {
 public:
  // "*keys" must outlive the head-end. `remembered_batches` bounds the duplicate memory (the
  // store's idempotent upserts stay the last line of defence after that).
  explicit HeadEnd(const DeviceKeys* keys, size_t remembered_batches = 100000);

  // SPEC 2.3: a meter's (sub-period, level) report; the region's target is recomputed from all.
  void Report(const std::string& region_code, const LevelReport& report);
  std::optional<int> Target(const std::string& region_code) const;
  std::map<int, double> Levels(const std::string& region_code) const;

  // SPEC 2.5: a fresh random AES-256 key for the region with the next key id (1..255, then
  // wrapping; 0 is never used). The previous key stays valid so that beacons made just before a
  // rotation still open.
  Result<meter::RegionKey> RotateKey(const std::string& region_code);
  // The region's current key first, then the previous one; empty when none was issued.
  std::vector<meter::RegionKey> Keys(const std::string& region_code) const;

  // SPEC 2.6 / [beyond]: OK(true) for a new batch whose tag verifies under the origin's device
  // key — its readings go on to the same validation as direct uploads; OK(false) for a batch
  // already accepted; Unauthenticated for a bad tag; NotFound for an unknown origin.
  Result<bool> Accept(const ForwardedBatch& forwarded);

  RelayStats stats() const;

 private:
  const DeviceKeys* const keys_;
  const size_t remembered_;

  mutable std::mutex mu_;
  std::map<std::string, std::vector<LevelReport>> reports_;             // guarded by mu_
  std::map<std::string, std::vector<meter::RegionKey>> region_keys_;     // guarded by mu_; current first
  std::unordered_set<std::string> seen_;                                 // guarded by mu_; batch tags
  std::deque<std::string> seen_order_;                                   // guarded by mu_; for eviction
  RelayStats stats_;                                                     // guarded by mu_
};

}  // namespace mh::relay
