// DLMS/COSEM push frames (IEC 62056-46 HDLC, the IEC 62056-47 wrapper, data-notification APDUs
// in clear or under general-glo-ciphering): the meter's address (system title, logical device
// name or meter id) and its registers named by OBIS code. Format and choices: docs/formats/dlms.md.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "codec/meter/driver.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

// Decodes one push: one HDLC frame, several HDLC frames of one segmented APDU on one line, a
// wrapper PDU or a bare APDU. Errors name the byte offset and the field; a wrong key is
// Unauthenticated ("authentication tag mismatch"), never garbage registers.
Result<DecodedFrame> DecodeDlms(FrameBytes frame, const DecodeKeys& keys);

// The system title of a ciphered push (general-glo-ciphering), read without keys and printed as
// DecodeDlms prints it: which meter sent a push that does not decipher. nullopt when the frame
// holds no ciphered APDU.
std::optional<std::string> DlmsSystemTitle(FrameBytes frame);

// The "dlms" driver: DecodeDlms and its test vectors (dlms/vectors.cc).
const ProtocolDriver& DlmsDriver();

}  // namespace mh::codec
