#include "gateway/stream_frames.h"

#include <cstdint>

namespace mh::gateway {

FrameCut CutMeterFrame(std::string_view protocol, std::span<const uint8_t> in) {
  FrameCut cut;
  while (cut.skip < in.size() && in[cut.skip] != 0x68) ++cut.skip;
  const std::span<const uint8_t> f = in.subspan(cut.skip);
  // Where L sits and how many bytes surround DATA.
  const bool cjt188 = protocol == "cjt188";
  const size_t l_at = cjt188 ? 10 : 9;
  const size_t overhead = cjt188 ? 13 : 12;
  if (f.size() <= l_at) return cut;
  const size_t total = overhead + f[l_at];
  if (f.size() >= total) cut.length = total;
  return cut;
}

FrameCut CutWrapperPdu(std::span<const uint8_t> in) {
  FrameCut cut;
  if (in.size() < 8) return cut;
  const size_t length = (size_t{in[6]} << 8) | in[7];
  if (8 + length > kMaxWrapperPdu) {
    cut.length = SIZE_MAX;
    return cut;
  }
  if (in.size() >= 8 + length) cut.length = 8 + length;
  return cut;
}

}  // namespace mh::gateway
