// Raw meter-protocol frames over MQTT (issue 16): a meter, or the concentrator / DTU it sits
// behind, publishes the frames it read on meters/<shard>/<device_id>/raw/<protocol>. Each frame is
// decoded (src/codec), its address finds the registered meter (POST /api/v1/meters `protocol`,
// `address`, `gateway`) and its registers become readings of that meter's channels
// (docs/channels.md), which then take the ordinary pipeline.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"
#include "core/reading.h"
#include "store/store.h"

namespace mh::ingest {

inline constexpr std::array<std::string_view, 4> kRawProtocols = {"dlt645", "cjt188", "dlms", "wmbus"};

// The readings one frame carries. `payload` is the frame's bytes, or the frame as hex text (a
// payload of hex digits and blanks only). `device_id` is the publisher: the meter the address
// names, or its gateway. A register without its own time is stamped with `now` rounded to the
// meter's interval, so a redelivered frame lands on the same reading.
// `keys` decrypt encrypted frames (wM-Bus modes 5/7, DLMS ciphering; `[ingest] frame_keys_file`).
// Errors: InvalidArgument names what is wrong with the message (undecodable frame — the decoder's
// error, a missing or wrong key included —, no address, an address no meter has, a meter not
// behind this device); a store error is returned as it is (the message is then retried, not
// rejected).
Result<std::vector<Reading>> RawFrameReadings(store::Store& store, std::string_view device_id,
                                              std::string_view protocol, std::string_view payload, int64_t now,
                                              const codec::DecodeKeys& keys = codec::DecodeKeys{});

}  // namespace mh::ingest
