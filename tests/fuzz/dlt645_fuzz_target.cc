#include <cstdlib>
#include <vector>

#include "codec/dlt645/dlt645.h"
#include "codec/meter/frame_json.h"
#include "fuzz/meter_fuzz_target.h"

namespace mh::fuzz {

namespace {

void Check(const uint8_t* data, size_t size) {
  const codec::FrameBytes in(data, size);
  auto decoded = codec::dlt645::Decode(in, {});
  if (!decoded.ok()) {
    if (decoded.status().message().rfind("byte ", 0) != 0) std::abort();  // every error names a byte
    return;
  }
  if (!decoded->address || decoded->address->size() != 12) std::abort();
  if (codec::FrameJson(*decoded).empty()) std::abort();
  auto frame = codec::dlt645::ParseFrame(in);
  if (!frame.ok()) std::abort();
  const std::vector<uint8_t> again = codec::dlt645::EncodeFrame(frame->address_wire, frame->control, frame->data, 0);
  size_t start = 0;
  while (start < size && data[start] == 0xfe) ++start;
  if (again != std::vector<uint8_t>(data + start, data + size)) std::abort();
}

}  // namespace

void FuzzDlt645(const uint8_t* data, size_t size) {
  Check(data, size);
  // The same bytes with the checksum and end marker made right (where the length byte allows),
  // so that mutations reach the control codes and the values behind the checksum.
  size_t p = 0;
  while (p < size && data[p] == 0xfe) ++p;
  if (size - p <= 9) return;
  std::vector<uint8_t> fixed(data, data + size);
  const size_t end = p + 9 + 1 + fixed[p + 9];  // index of the checksum
  if (end + 2 > fixed.size()) return;
  fixed.resize(end + 2);
  uint8_t cs = 0;
  for (size_t i = p; i < end; ++i) cs = static_cast<uint8_t>(cs + fixed[i]);
  fixed[end] = cs;
  fixed[end + 1] = 0x16;
  Check(fixed.data(), fixed.size());
}

}  // namespace mh::fuzz
