// The seams a meter node is handed (SPEC 2): its radio (own uplink, access point, scanner, link to
// a neighbour's relay), its key store and its source of randomness. Firmware implements them over
// the real modem and Wi-Fi chip; the simulator and the tests implement them in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "meter/access_password.h"
#include "meter/batch_auth.h"

namespace mh::meter {

// What a relay broadcasts: the 27-octet SSID and the 65-octet vendor element body (ID 221) of
// access_password.h, OUI and type included. The radio adapter frames it (codec/wifi/beacon.h
// splits the same body into VendorElement{oui, type, payload = body[4..]}).
struct RelayBeacon {
  std::string ssid;
  crypto::Bytes vendor_payload;
};

// One beacon as heard by a scan. `vendor_payload` is the body of its element 221 with our OUI and
// type (65 octets, as in RelayBeacon), empty when the frame had none.
struct HeardBeacon {
  std::string ssid;
  double rssi_dbm = 0;
  crypto::Bytes vendor_payload;
};

// A batch of failed readings with the origin meter's HMAC-SHA256 tag (batch_auth.h).
struct SignedBatch {
  RelayBatch batch;
  crypto::Digest tag{};
};

// The outcome of one attempt over the meter's own uplink.
struct UplinkResult {
  bool ok = false;
  uint16_t failure_code = 0;  // why it failed (modem/network specific); ignored when ok
};

// One relay tried with one batch tonight.
struct RelayTry {
  std::string ssid;            // the relay's SSID (prefix, region code, position code)
  uint16_t failure_code = 0;   // the batch's: failure code of the original upload
  size_t readings = 0;
  bool ok = false;             // the relay reported the head-end's acknowledgement

  bool operator==(const RelayTry&) const = default;
};

// A meter's account of one target sub-period for the head-end (docs/relay.md §9, topic
// meters/<shard>/<id>/relay/outcome): its own uplink since the previous account, every relay it
// tried, the readings retention dropped unsent. Technicians read the failure codes from it.
struct RelayOutcome {
  int64_t night_s = 0;                          // clock seconds at the start of the target sub-period
  uint64_t uplink_attempts = 0;                 // reading uploads over the own uplink since the previous account
  uint64_t uplink_failures = 0;                 // ... of which failed
  std::vector<uint16_t> uplink_failure_codes;   // their distinct failure codes, ascending
  std::vector<RelayTry> relays;                 // in the order tried
  uint64_t aged_out = 0;                        // readings dropped unsent by retention tonight
  uint64_t queued = 0;                          // readings still queued after tonight

  bool operator==(const RelayOutcome&) const = default;
};

class Radio {
 public:
  virtual ~Radio() = default;

  // The meter's own uplink to the head-end (batch.failure_code is 0: a first-hand upload).
  virtual UplinkResult Upload(const RelayBatch& batch) = 0;
  // Sends a night's account over the own uplink; true when the head-end acknowledged it.
  virtual bool UploadOutcome(const RelayOutcome& outcome) = 0;
  // Forwards a neighbour's signed batch over this meter's own uplink (the relay role); true when
  // the head-end acknowledged it.
  virtual bool ForwardUpload(const SignedBatch& batch) = 0;

  // Starts broadcasting `beacon` as a WPA2 access point admitting only `password`; replaces any
  // running access point.
  virtual void StartAccessPoint(const RelayBeacon& beacon, const std::string& password) = 0;
  virtual void StopAccessPoint() = 0;

  // One passive scan: every beacon heard, in the order heard (duplicates possible).
  virtual std::vector<HeardBeacon> Scan() = 0;
  // Joins the relay `ssid` with `password`, hands it `batch` and returns the relay's report:
  // true when the relay forwarded it and the head-end acknowledged it.
  virtual bool SendToRelay(const std::string& ssid, const std::string& password,
                           const SignedBatch& batch) = 0;
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // Every region key this meter currently holds (the current one and those still accepted while
  // keys rotate).
  virtual std::vector<RegionKey> RegionKeys() const = 0;
  // Id of the key a relay must encrypt with now.
  virtual uint8_t CurrentRegionKeyId() const = 0;
  // The meter's own device key for the batch HMAC (never leaves the meter).
  virtual crypto::Bytes DeviceKey() const = 0;
};

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` with unpredictable bytes; an error when none are available.
  virtual Status Fill(std::span<uint8_t> out) = 0;
};

// RandomSource over the OpenSSL CSPRNG (crypto::RandomBytes).
class CryptoRandomSource final : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override;
};

}  // namespace mh::meter
