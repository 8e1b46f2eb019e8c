// `meterhub demo`'s meters on real protocols (issue 16): a share of the fleet (kProtocolShare of
// --meters) — DL/T 645 and CJ/T 188 meters behind simulated DTUs polled by the daemon's TCP
// gateway, DLMS meters pushing over TCP and wM-Bus meters heard by a receiver that publishes
// their telegrams on raw/wmbus, every second DLMS and wM-Bus meter encrypted (the keys in
// <dir>/frame-keys.csv, [ingest] frame_keys_file); the summary counts them by protocol.
#pragma once

#include <memory>
#include <string>

#include "app/demo_part.h"

namespace mh::app {

inline constexpr double kProtocolShare = 0.10;
// How many of `meters` run on real protocols (the rest publish JSON readings over MQTT).
int ProtocolMeterCount(int meters);

// `count` protocol meters beside `fleet_meters` JSON ones; the keys file goes to `dir`.
std::unique_ptr<DemoPart> MakeProtocolDemoPart(int count, int fleet_meters, const std::string& dir);

}  // namespace mh::app
