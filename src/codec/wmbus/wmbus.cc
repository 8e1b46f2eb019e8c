#include "codec/wmbus/wmbus.h"

#include "codec/wmbus/link_layer.h"
#include "codec/wmbus/records.h"
#include "codec/wmbus/transport.h"

namespace mh::codec {

Result<DecodedFrame> DecodeWmbus(FrameBytes frame, const DecodeKeys& keys) {
  MH_ASSIGN_OR_RETURN(wmbus::Telegram telegram, wmbus::ReadLinkLayer(frame));
  MH_ASSIGN_OR_RETURN(wmbus::ApplicationData app, wmbus::ReadTransport(telegram, keys));
  DecodedFrame out;
  out.protocol = "wmbus";
  out.address = app.address;
  out.status = std::move(app.status);
  MH_RETURN_IF_ERROR(wmbus::ReadRecords(app.bytes, app.origin, &out.registers, &out.status));
  return out;
}

}  // namespace mh::codec
