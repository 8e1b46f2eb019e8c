// libFuzzer entry point over the water flow-frame decoder (docs/formats/water-frame.md): any
// bytes decode to a frame or to an error naming the field — never a crash; a frame that decodes
// re-encodes to bytes that decode to the same samples.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/water_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto frame = mh::codec::DecodeWaterFrame(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!frame.ok()) return 0;
  auto bytes = mh::codec::EncodeWaterFrame(*frame);
  if (!bytes.ok()) return 0;
  auto again = mh::codec::DecodeWaterFrame(*bytes);
  if (!again.ok() || again->samples.size() != frame->samples.size()) std::abort();
  return 0;
}
