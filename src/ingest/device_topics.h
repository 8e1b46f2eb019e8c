// The MQTT topics of a device: meters/<shard>/<device_id>/<suffix>. A device publishes on the
// uplink suffixes and subscribes to its commands; `meterhub mqtt acl` grants each device exactly
// these on its own id, and the daemon accepts nothing else.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace mh::ingest {

inline constexpr std::array<std::string_view, 12> kUplinkSuffixes = {
    "readings",                         // SPEC 0.2
    "relay/report", "relay/forward",    // seed 000: usage levels, relayed batches,
    "relay/outcome",                    //   nightly relay outcomes
    "audit/signal", "audit/segments",   // seed 002: first monitoring times, dynamic segment
    "water/frame", "water/ack",         // seed 001: flow frames, maintenance acks
    "raw/dlt645", "raw/cjt188",         // issue 16: raw meter-protocol frames of the device, or of
    "raw/dlms", "raw/wmbus",            //   the meters registered behind it (ingest/raw_frames.h)
};
inline constexpr std::string_view kCommandSuffix = "commands";  // daemon → device

bool IsUplinkSuffix(std::string_view suffix);
// meters/<ShardOf(device_id)>/<device_id>/<suffix>
std::string DeviceTopic(std::string_view device_id, std::string_view suffix);

}  // namespace mh::ingest
