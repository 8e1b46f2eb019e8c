#include "codec/cjt188/cjt188.h"
#include "fuzz/meter_fuzz_target.h"
#include "fuzz/sum_frame_fuzz.h"

namespace mh::fuzz {

void FuzzCjt188(const uint8_t* data, size_t size) {
  FuzzSumFrame(
      data, size, 10, 14, [](codec::FrameBytes in) { return codec::cjt188::Decode(in, {}); },
      [](codec::FrameBytes in) {
        auto f = codec::cjt188::ParseFrame(in);
        if (!f.ok()) std::abort();  // it decoded, so its link layer parses
        return codec::cjt188::EncodeFrame(f->meter_type, f->address_wire, f->control, f->data, 0);
      });
}

}  // namespace mh::fuzz
