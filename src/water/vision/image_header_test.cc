#include "water/vision/image_header.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

namespace mh::water::vision {
namespace {

std::string Encode(const std::string& ext, int width, int height) {
  std::vector<uchar> out;
  cv::imencode(ext, cv::Mat(height, width, CV_8UC3, cv::Scalar(40, 80, 120)), out);
  return std::string(out.begin(), out.end());
}

TEST(ImageHeader, ReadsPngAndJpegSizes) {
  auto png = ReadImageHeader(Encode(".png", 320, 200));
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  EXPECT_EQ(png->format, "png");
  EXPECT_EQ(png->width, 320);
  EXPECT_EQ(png->height, 200);
  auto jpeg = ReadImageHeader(Encode(".jpg", 641, 479));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  EXPECT_EQ(jpeg->format, "jpeg");
  EXPECT_EQ(jpeg->width, 641);
  EXPECT_EQ(jpeg->height, 479);
}

TEST(ImageHeader, RefusesOtherFormatsAndBrokenHeaders) {
  for (const std::string& body : {std::string("not an image"), Encode(".bmp", 10, 10), Encode(".tiff", 10, 10),
                                  Encode(".ppm", 10, 10), std::string("\x89PNG\r\n\x1a\n", 8), std::string("\xFF\xD8\xFF", 3),
                                  Encode(".png", 10, 10).substr(0, 20), Encode(".jpg", 10, 10).substr(0, 10), std::string()}) {
    EXPECT_EQ(ReadImageHeader(body).status().code(), StatusCode::kInvalidArgument) << body.size();
    EXPECT_EQ(DecodePhoto(body, kDefaultMaxPhotoPixels).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ImageHeader, DecodesOnlyWithinThePixelLimit) {
  const std::string png = Encode(".png", 100, 50);
  auto image = DecodePhoto(png, 5000);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->cols, 100);
  auto refused = DecodePhoto(png, 4999);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("100 x 50 = 5000 pixels"), std::string::npos) << refused.status().message();
  // A header declaring 16,000 x 16,000 with no image data behind it: refused on the header alone.
  std::string bomb = png;
  const unsigned char size[8] = {0, 0, 0x3E, 0x80, 0, 0, 0x3E, 0x80};
  bomb.replace(16, 8, reinterpret_cast<const char*>(size), 8);
  EXPECT_EQ(DecodePhoto(bomb, kDefaultMaxPhotoPixels).status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace mh::water::vision
