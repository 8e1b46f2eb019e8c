// The one-line JSON form of a decoded frame — the contract of `meterhub decode` and of every
// driver's test vectors:
//   {"protocol":"dlt645","address":"020247020276","registers":[{"channel":"00010000","value":0.02,
//    "unit":"kWh","ts":null,"status":[]}]}
// (plus "status":[...] at frame level when the frame carries flags), or for a frame that did not
// decode {"protocol":"dlt645","error":"byte 14 (checksum): ..."}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

std::string FrameJson(const DecodedFrame& frame);
std::string FrameErrorJson(std::string_view protocol, std::string_view error);

// Hex text to bytes; blanks, '_' and '|' between digits are ignored. An odd digit count or any
// other character is an error naming its position in the text.
Result<std::vector<uint8_t>> ParseHexFrame(std::string_view text);

}  // namespace mh::codec
