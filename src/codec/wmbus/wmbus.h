// Wireless M-Bus / OMS (EN 13757-4, EN 13757-3, OMS Vol. 2): one telegram in, the meter's
// address ("KAM12345678": manufacturer code + 8-digit id) and its registers out. Format and
// choices: docs/formats/wmbus.md.
#pragma once

#include "base/status.h"
#include "codec/meter/driver.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

// Decodes one telegram with or without its link-layer CRCs. Errors name the byte offset in
// `frame` and the field; a wrong key is Unauthenticated, a missing one FailedPrecondition.
Result<DecodedFrame> DecodeWmbus(FrameBytes frame, const DecodeKeys& keys);

// The "wmbus" driver: DecodeWmbus and its test vectors (wmbus/vectors.cc).
const ProtocolDriver& WmbusDriver();

}  // namespace mh::codec
