#include "ingest/raw_frames.h"

#include <string>

#include "codec/meter/channels.h"
#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

namespace mh::ingest {
namespace {

bool IsHexText(std::string_view payload) {
  bool digits = false;
  for (char c : payload) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
    digits |= hex;
  }
  return digits;
}

}  // namespace

Result<std::vector<Reading>> RawFrameReadings(store::Store& store, std::string_view device_id,
                                              std::string_view protocol, std::string_view payload, int64_t now,
                                              const codec::DecodeKeys& keys) {
  const codec::ProtocolDriver* driver = codec::FindDriver(protocol);
  if (driver == nullptr) return InvalidArgument("no decoder for protocol '" + std::string(protocol) + "'");
  std::vector<uint8_t> bytes;
  if (IsHexText(payload)) {
    MH_ASSIGN_OR_RETURN(bytes, codec::ParseHexFrame(payload));
  } else {
    bytes.assign(payload.begin(), payload.end());
  }
  if (bytes.empty()) return InvalidArgument(std::string(protocol) + " frame: empty payload");
  // An encrypted frame whose key is missing or wrong fails here with the decoder's error and is
  // kept as a rejected message (the key itself never appears in it).
  Result<codec::DecodedFrame> frame = driver->decode(bytes, keys);
  if (!frame.ok()) return InvalidArgument(std::string(protocol) + " frame: " + frame.status().message());
  if (!frame->address || frame->address->empty())
    return InvalidArgument(std::string(protocol) + " frame carries no meter address");
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> meter, store.FindMeterByAddress(std::string(protocol), *frame->address));
  if (!meter)
    return InvalidArgument("no meter is registered with " + std::string(protocol) + " address " + *frame->address);
  if (meter->meter_id != device_id && meter->gateway != device_id) {
    return InvalidArgument("meter " + meter->meter_id + " (" + std::string(protocol) + " address " + *frame->address +
                           ") is not behind " + std::string(device_id) +
                           (meter->gateway.empty() ? " (it has no gateway)" : " (its gateway is " + meter->gateway + ")"));
  }
  if (frame->registers.empty())
    return InvalidArgument(std::string(protocol) + " frame from address " + *frame->address + " carries no register");
  return codec::RegisterReadings(protocol, meter->meter_id, frame->registers,
                                 codec::ReadingStamp(now, meter->interval_s));
}

}  // namespace mh::ingest
