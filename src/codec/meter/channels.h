// MeterHub's channel names for the registers the protocol decoders return (docs/channels.md):
// a frame's "00010000" (DL/T 645), "1-0:1.8.0.255" (DLMS), "volume" (wM-Bus) or
// "current_cumulative_flow" (CJ/T 188) all become a channel of the meter — import_kwh,
// volume_m3, ... — in one unit per channel, so a meter's registers compare whatever the protocol.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/meter/meter_frame.h"
#include "core/reading.h"

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

// The DL/T 645-2007 data identifier (8 hex digits) a poll reads for a channel: "00010000" for
// import_kwh, ..., the identifier itself for "dlt645:XXXXXXXX"; "" when the channel has none.
std::string Dlt645DataIdOf(std::string_view channel);

// The nearest multiple of a meter's interval (900 s when not positive): a frame read a little
// before or after the quarter hour is that quarter hour's reading, and its redelivery (or a
// repeated poll) the same reading.
int64_t ReadingStamp(int64_t now, int64_t interval_s);

// The readings of `meter_id` a decoded frame's registers make, one per register under its
// channel (ToChannel); a register the frame does not date is stamped `stamp`. Used by the raw
// frames over MQTT and the TCP gateway alike.
std::vector<Reading> RegisterReadings(std::string_view protocol, const std::string& meter_id,
                                      const std::vector<DecodedRegister>& registers, int64_t stamp);

}  // namespace mh::codec
