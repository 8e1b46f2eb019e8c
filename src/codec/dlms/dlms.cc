#include "codec/dlms/dlms.h"

#include "codec/dlms/apdu.h"
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

}  // namespace mh::codec
