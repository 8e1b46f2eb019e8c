// MeterHub's channel names for the registers the protocol decoders return (docs/channels.md):
// a frame's "00010000" (DL/T 645), "1-0:1.8.0.255" (DLMS), "volume" (wM-Bus) or
// "current_cumulative_flow" (CJ/T 188) all become a channel of the meter — import_kwh,
// volume_m3, ... — in one unit per channel, so a meter's registers compare whatever the protocol.
#pragma once

#include <string>
#include <string_view>

#include "codec/meter/meter_frame.h"

namespace mh::codec {

struct ChannelValue {
  std::string channel;
  double value = 0;
};

// The channel a decoded register is stored as. A register MeterHub has no name for keeps the
// protocol's own, prefixed: "dlt645:02010100", "wmbus:flow_temperature" (value as decoded).
ChannelValue ToChannel(std::string_view protocol, const DecodedRegister& reg);

// Whether a channel counts up (energy, volume): its consumption is the difference between
// readings. The named channels of docs/channels.md are; prefixed protocol names are not.
bool IsCumulativeChannel(std::string_view channel);

}  // namespace mh::codec
