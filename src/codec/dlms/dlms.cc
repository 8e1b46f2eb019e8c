#include "codec/dlms/dlms.h"

#include "codec/dlms/apdu.h"
#include "codec/dlms/axdr.h"
#include "codec/dlms/cosem.h"
#include "codec/dlms/hdlc.h"

namespace mh::codec {

Result<DecodedFrame> DecodeDlms(FrameBytes frame, const DecodeKeys& keys) {
  MH_ASSIGN_OR_RETURN(dlms::Apdu apdu, dlms::ReadApdu(frame));
  MH_ASSIGN_OR_RETURN(dlms::Notification notification, dlms::ReadNotification(apdu, keys));
  MH_ASSIGN_OR_RETURN(dlms::PushContent content, dlms::ReadPushList(notification.body));
  DecodedFrame out;
  out.protocol = "dlms";
  out.address = notification.system_title ? notification.system_title : content.device;
  // The push's own date-time dates its registers; else the list's clock entry.
  std::optional<int64_t> ts;
  if (notification.date_time) ts = dlms::DateTimeToEpoch(*notification.date_time);
  if (!ts) ts = content.clock;
  for (DecodedRegister& r : content.registers) r.ts = ts;
  out.registers = std::move(content.registers);
  out.status = std::move(content.status);
  return out;
}

std::optional<std::string> DlmsSystemTitle(FrameBytes frame) {
  Result<dlms::Apdu> apdu = dlms::ReadApdu(frame);
  if (!apdu.ok()) return std::nullopt;
  const std::vector<uint8_t>& b = apdu->bytes;
  constexpr uint8_t kGeneralGloCiphering = 0xDB;
  if (b.size() < 10 || b[0] != kGeneralGloCiphering || b[1] != 8) return std::nullopt;
  return dlms::UpperHex(std::span(b).subspan(2, 8));
}

}  // namespace mh::codec
