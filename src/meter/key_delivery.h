// SPEC 2.5: region keys reach a meter sealed under its own device key, so the command that
// carries them (MQTT `meters/<shard>/<id>/commands`) reveals nothing to the broker or to other
// meters. Both halves live here: the head-end seals, the meter opens. Bytes frozen in docs/relay.md.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"
#include "meter/access_password.h"
#include "meter/radio.h"

namespace mh::meter {

// Wrapping key = HMAC-SHA256(device key, "meterhub/region-keys/v1"); sealed =
// nonce (12) | AES-256-GCM(plaintext, AAD = meter id) | tag (16), plaintext =
// count (1) | per key: id (1) | key (32), the current key first. InvalidArgument for no keys,
// more than 255, or a key id 0.
Result<crypto::Bytes> SealRegionKeys(std::span<const uint8_t> device_key, std::string_view meter_id,
                                     const std::vector<RegionKey>& keys, RandomSource& random);

// The keys, current first. Unauthenticated when the seal does not open under this meter's key
// (another meter's keys, altered bytes); InvalidArgument for a malformed plaintext.
Result<std::vector<RegionKey>> OpenRegionKeys(std::span<const uint8_t> device_key, std::string_view meter_id,
                                              std::span<const uint8_t> sealed);

}  // namespace mh::meter
