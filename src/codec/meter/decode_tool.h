// `meterhub decode` — a fixed contract (issue 14, README "Decoding meter frames"):
//   meterhub decode --protocol dlt645|cjt188|dlms|wmbus [--key HEX] [--auth-key HEX] [--keys FILE]
//                   (HEX... | --file F)
// One JSON line per frame in input order (FrameJson / FrameErrorJson); exit 0 when every frame
// decoded, 3 when some did not, 2 on bad usage.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/meter/keys_file.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

// `args` are the words after "decode".
int RunDecodeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);


}  // namespace mh::codec
