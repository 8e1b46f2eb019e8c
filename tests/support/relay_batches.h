// A batch of one reading as a relay forwards it (docs/relay.md §6, §9): signed with the origin
// meter's device key, ready for relay/forward or POST /api/v1/relay/forward.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "meter/batch_auth.h"
#include "relay/messages.h"

namespace mh::testing {

inline relay::ForwardMessage SignedForward(const std::string& relay_id, const std::string& origin, uint16_t failure_code,
                                           int64_t ts, double value, const std::string& device_key_hex) {
  meter::RelayBatch batch{origin, failure_code, {}};
  Reading reading;
  reading.meter_id = origin;
  reading.ts = ts;
  reading.value = value;
  batch.readings.push_back(reading);
  const crypto::Digest tag = *meter::SignBatch(batch, *crypto::HexDecode(device_key_hex));
  return relay::ForwardMessage{relay_id, batch, std::vector<uint8_t>(tag.begin(), tag.end())};
}

}  // namespace mh::testing
