// DLMS/COSEM push APDUs: the data-notification (tag 0x0F: long-invoke-id-and-priority, optional
// date-time, notification body) in clear or inside general-glo-ciphering (tag 0xDB, security
// suite 0: AES-128-GCM, IV = system title || invocation counter, AAD = security control byte ||
// authentication key, 12-byte tag), with the encryption key and authentication key of the
// system title (DecodeKeys::For, else any).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "codec/dlms/axdr.h"
#include "codec/dlms/hdlc.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec::dlms {

struct Notification {
  std::optional<std::string> system_title;             // uppercase hex, ciphered APDUs only
  uint32_t invoke_id_and_priority = 0;
  std::optional<std::array<uint8_t, 12>> date_time;    // as sent
  Data body;
};

// A missing key is FailedPrecondition; a wrong one Unauthenticated ("authentication tag
// mismatch" when the frame is authenticated, else the decrypted APDU fails to parse).
Result<Notification> ReadNotification(const Apdu& apdu, const DecodeKeys& keys);

}  // namespace mh::codec::dlms
