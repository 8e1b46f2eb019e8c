// Identifiers of SPEC 0.1: meter ids and the MQTT shard a meter's readings travel on.
#pragma once

#include <cstdint>
#include <string_view>

namespace mh {

// 1–32 chars of [A-Za-z0-9_-].
bool IsValidMeterId(std::string_view id);

// FNV-1a 32-bit hash (offset basis 2166136261, prime 16777619).
uint32_t Fnv1a32(std::string_view data);

inline constexpr int kShardCount = 64;
// SPEC 0.2: <shard> = FNV-1a-32(meter_id) mod 64.
inline int ShardOf(std::string_view meter_id) { return static_cast<int>(Fnv1a32(meter_id) % kShardCount); }

}  // namespace mh
