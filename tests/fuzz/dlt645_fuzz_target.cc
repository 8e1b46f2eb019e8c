#include "codec/dlt645/dlt645.h"
#include "fuzz/meter_fuzz_target.h"
#include "fuzz/sum_frame_fuzz.h"

namespace mh::fuzz {

void FuzzDlt645(const uint8_t* data, size_t size) {
  FuzzSumFrame(
      data, size, 9, 12, [](codec::FrameBytes in) { return codec::dlt645::Decode(in, {}); },
      [](codec::FrameBytes in) {
        auto f = codec::dlt645::ParseFrame(in);
        if (!f.ok()) std::abort();  // it decoded, so its link layer parses
        return codec::dlt645::EncodeFrame(f->address_wire, f->control, f->data, 0);
      });
}

}  // namespace mh::fuzz
