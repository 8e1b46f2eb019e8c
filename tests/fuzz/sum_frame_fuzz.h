// The fuzz step both sum-checked meter framings (DL/T 645, CJ/T 188) share, given the decoder's
// parts: any bytes decode to a frame or to an error starting "byte " — never a crash; a frame that
// decodes has an address of `digits` digits, prints as JSON, and re-encodes from its parts to
// exactly the bytes given (wake-up bytes aside). Each input is tried a second time with its
// checksum and end marker made right (the length byte at `length_at` after the 0x68 allowing),
// so that mutations reach the control codes and values behind the checksum.
#pragma once

#include <cstdlib>
#include <vector>

#include "codec/meter/frame_json.h"

namespace mh::fuzz {

template <typename Decode, typename Reencode>
void CheckSumFrame(const uint8_t* data, size_t size, size_t digits, Decode decode, Reencode reencode) {
  const codec::FrameBytes in(data, size);
  auto decoded = decode(in);
  if (!decoded.ok()) {
    if (decoded.status().message().rfind("byte ", 0) != 0) std::abort();
    return;
  }
  if (!decoded->address || decoded->address->size() != digits) std::abort();
  if (codec::FrameJson(*decoded).empty()) std::abort();
  size_t start = 0;
  while (start < size && data[start] == 0xfe) ++start;
  if (reencode(in) != std::vector<uint8_t>(data + start, data + size)) std::abort();
}

template <typename Decode, typename Reencode>
void FuzzSumFrame(const uint8_t* data, size_t size, size_t length_at, size_t digits, Decode decode, Reencode reencode) {
  CheckSumFrame(data, size, digits, decode, reencode);
  size_t p = 0;
  while (p < size && data[p] == 0xfe) ++p;
  if (size - p <= length_at) return;
  std::vector<uint8_t> fixed(data, data + size);
  const size_t end = p + length_at + 1 + fixed[p + length_at];  // where the checksum goes
  if (end + 2 > fixed.size()) return;
  fixed.resize(end + 2);
  uint8_t cs = 0;
  for (size_t i = p; i < end; ++i) cs = static_cast<uint8_t>(cs + fixed[i]);
  fixed[end] = cs;
  fixed[end + 1] = 0x16;
  CheckSumFrame(fixed.data(), fixed.size(), digits, decode, reencode);
}

}  // namespace mh::fuzz
