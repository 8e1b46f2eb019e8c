// A meter photo's size read from its header, before anything is decoded: a 275 KB PNG can declare
// 16,000 × 16,000 pixels and take a gigabyte to decode (a decompression bomb). Only the two formats
// a phone sends, whose headers are checked here, are ever handed to the decoder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <opencv2/core.hpp>

#include "base/status.h"
#include "water/upload_caps.h"

namespace mh::water::vision {

struct ImageHeader {
  std::string format;  // "png" | "jpeg"
  int64_t width = 0;
  int64_t height = 0;
};

// The format and size from a PNG's IHDR or a JPEG's first SOFn frame header. InvalidArgument for
// anything else (another format, a truncated or malformed header, a zero dimension).
Result<ImageHeader> ReadImageHeader(std::string_view bytes);

inline constexpr int64_t kDefaultMaxPhotoPixels = UploadCaps{}.max_pixels;

// Decodes a PNG or JPEG photo to BGR only after its header passed: ResourceExhausted (naming
// the size and the limit) when it declares more than `max_pixels`, InvalidArgument when it is not a
// PNG or JPEG or does not decode.
Result<cv::Mat> DecodePhoto(std::string_view bytes, int64_t max_pixels);

}  // namespace mh::water::vision
