// SPEC 2.5 [beyond]: a batch of failed readings forwarded through a neighbour's relay carries the
// origin meter's HMAC-SHA256 under its own device key, so the relay (another customer's meter)
// can neither alter nor invent readings. The tag covers a canonical byte encoding (frozen in
// docs/relay.md), independent of the transport (JSON, MQTT, radio) that carries the fields.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/reading.h"
#include "crypto/crypto.h"

namespace mh::meter {

struct RelayBatch {
  std::string origin_meter_id;    // 1–32 chars of [A-Za-z0-9_-] (SPEC 0.1)
  uint16_t failure_code = 0;      // why the origin's own upload failed
  std::vector<Reading> readings;  // each reading's meter_id must be the origin's
};

// version 0x01 | id length (1) | id | failure code (BE16) | count (BE32) | per reading:
// ts (BE64, two's complement) | has value (1: 0 or 1) | [IEEE-754 binary64 bits, BE64] |
// raw length (BE16) | raw bytes. InvalidArgument for a bad meter id, a reading of another meter,
// more than 2^32-1 readings or a raw value over 65535 bytes.
Result<crypto::Bytes> CanonicalBatchBytes(const RelayBatch& batch);

// HMAC-SHA256(device_key, CanonicalBatchBytes(batch)).
Result<crypto::Digest> SignBatch(const RelayBatch& batch, std::span<const uint8_t> device_key);

// OK when `tag` is the batch's tag under `device_key` (constant-time compare); Unauthenticated
// otherwise, InvalidArgument when the batch cannot be encoded.
Status VerifyBatch(const RelayBatch& batch, std::span<const uint8_t> tag,
                   std::span<const uint8_t> device_key);

}  // namespace mh::meter
