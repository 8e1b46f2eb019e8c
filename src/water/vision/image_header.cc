#include "water/vision/image_header.h"

#include <cstring>

#include <opencv2/imgcodecs.hpp>

namespace mh::water::vision {
namespace {

uint32_t Be32(std::string_view b, size_t at) {
  return (uint32_t{static_cast<uint8_t>(b[at])} << 24) | (uint32_t{static_cast<uint8_t>(b[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[at + 2])} << 8) | uint32_t{static_cast<uint8_t>(b[at + 3])};
}
uint16_t Be16(std::string_view b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) | static_cast<uint8_t>(b[at + 1]));
}

Result<ImageHeader> PngHeader(std::string_view b) {
  // Signature, then the IHDR chunk: length 13, "IHDR", width, height (big-endian), ...
  if (b.size() < 8 + 8 + 13) return InvalidArgument("PNG: truncated before the end of its IHDR header");
  if (Be32(b, 8) != 13 || b.substr(12, 4) != "IHDR") return InvalidArgument("PNG: the first chunk is not IHDR");
  ImageHeader h{"png", Be32(b, 16), Be32(b, 20)};
  if (h.width == 0 || h.height == 0 || h.width > 0x7FFFFFFF || h.height > 0x7FFFFFFF) {
    return InvalidArgument("PNG: invalid size " + std::to_string(h.width) + " x " + std::to_string(h.height));
  }
  return h;
}

bool IsStartOfFrame(uint8_t marker) {
  // SOF0-3, 5-7, 9-11, 13-15 (C4 is DHT, C8 reserved, CC is DAC).
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

Result<ImageHeader> JpegHeader(std::string_view b) {
  size_t i = 2;  // after SOI
  while (i + 4 <= b.size()) {
    if (static_cast<uint8_t>(b[i]) != 0xFF) return InvalidArgument("JPEG: no marker at byte " + std::to_string(i));
    while (i < b.size() && static_cast<uint8_t>(b[i]) == 0xFF) ++i;  // fill bytes
    if (i >= b.size()) break;
    const uint8_t marker = static_cast<uint8_t>(b[i++]);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return InvalidArgument("JPEG: no frame header before the image data");
    if (i + 2 > b.size()) break;
    const uint16_t length = Be16(b, i);
    if (length < 2) return InvalidArgument("JPEG: bad segment length at byte " + std::to_string(i));
    if (IsStartOfFrame(marker)) {
      if (length < 8 || i + 7 > b.size()) break;
      ImageHeader h{"jpeg", Be16(b, i + 5), Be16(b, i + 3)};
      if (h.width == 0 || h.height == 0) {
        return InvalidArgument("JPEG: frame size " + std::to_string(h.width) + " x " + std::to_string(h.height) +
                               " (a height given later in a DNL segment is not accepted)");
      }
      return h;
    }
    i += length;
  }
  return InvalidArgument("JPEG: truncated before its frame header");
}

}  // namespace

Result<ImageHeader> ReadImageHeader(std::string_view bytes) {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return PngHeader(bytes);
  if (bytes.size() >= 3 && static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8 &&
      static_cast<uint8_t>(bytes[2]) == 0xFF) {
    return JpegHeader(bytes);
  }
  return InvalidArgument("not a JPEG or PNG image (other formats are not accepted)");
}

Result<cv::Mat> DecodePhoto(std::string_view bytes, int64_t max_pixels) {
  MH_ASSIGN_OR_RETURN(ImageHeader h, ReadImageHeader(bytes));
  const int64_t pixels = h.width * h.height;
  if (pixels > max_pixels) {
    return ResourceExhausted("the photo is " + std::to_string(h.width) + " x " + std::to_string(h.height) + " = " +
                             std::to_string(pixels) + " pixels, more than the " + std::to_string(max_pixels) +
                             " accepted (water.max_photo_pixels); send a smaller photo");
  }
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return ResourceExhausted("the photo is larger than 2 GiB");
  cv::Mat image;
  try {
    image = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
                         cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
  }
  if (image.empty()) return InvalidArgument("cannot decode the " + h.format + " image (damaged or truncated)");
  return image;
}

}  // namespace mh::water::vision
