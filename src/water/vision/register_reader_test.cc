#include "water/vision/register_reader.h"

#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "support/test_env.h"
#include "water/vision/render.h"
#include "water/vision/test_glyphs.h"

namespace mh::water::vision {
namespace {


TEST(RegisterReader, BlackPhotoIsTooDark) {
  const auto r = ReadRegister(cv::Mat(200, 400, CV_8UC3, cv::Scalar(3, 3, 3)), Model(), ReadOptions{});
  EXPECT_EQ(r.unreadable, "too dark (brightest 1% at grey 3, contrast 0): take the photo in more light");
  EXPECT_EQ(r.value, "");
}

TEST(RegisterReader, WhiteOutHasNoDigitRow) {
  const auto r = ReadRegister(cv::Mat(200, 400, CV_8UC3, cv::Scalar::all(250)), Model(), ReadOptions{});
  EXPECT_EQ(r.unreadable, "no digit row found: photograph the counter's window straight on, filling the frame");
}

TEST(RegisterReader, PlainWallHasNoDigitRow) {
  cv::Mat wall(200, 400, CV_8UC1);
  cv::randu(wall, 150, 220);
  const auto r = ReadRegister(wall, Model(), ReadOptions{});
  EXPECT_EQ(r.unreadable, "no digit row found: photograph the counter's window straight on, filling the frame");
}

TEST(RegisterReader, ReadsACleanRenderedRegister) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  std::mt19937 rng(3);
  const auto reg = RenderRegister("072958", *g, RenderOptions{}, rng);
  ReadOptions o;
  o.digits = 6;
  const auto r = ReadRegister(reg.image, Model(), o);
  EXPECT_EQ(r.unreadable, "");
  EXPECT_EQ(r.value, "072958");
  // Without --digits the count comes from the window's shape.
  EXPECT_EQ(ReadRegister(reg.image, Model(), ReadOptions{}).value, "072958");
}

TEST(RegisterReader, TiltedRegisterIsStraightened) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  std::mt19937 rng(5);
  RenderOptions ro;
  ro.rotation_deg = -8;
  ro.perspective = 0.12;
  const auto reg = RenderRegister("1399", *g, ro, rng);
  ReadOptions o;
  o.digits = 4;
  const auto r = ReadRegister(reg.image, Model(), o);
  EXPECT_EQ(r.value, "1399") << r.unreadable;
  EXPECT_GT(r.window.width, 4 * ro.drum_width * 0.9);
}

TEST(RegisterReader, DrumBetweenNineAndZeroReadsNine) {
  // The fine label 9.x of a drum rolling from 9 to 0 reads 9 (the lower digit), not 0.
  const std::string dir = mh::testing::SharedData("digits/train/transition");
  if (!mh::testing::Exists(dir)) GTEST_SKIP() << "shared data digits/train absent";
  auto all = LoadDigitDirectory(mh::testing::SharedData("digits/train"));
  ASSERT_TRUE(all.ok());
  ReadOptions o;
  o.digits = 1;
  int nines = 0;
  for (const auto& s : *all) {
    if (s.fine <= 9.0) continue;
    ++nines;
    const auto r = ReadRegister(s.image, Model(), o);
    EXPECT_TRUE(r.value == "9" || !r.ok()) << s.path << " read " << r.value;
  }
  EXPECT_GT(nines, 10);
}

TEST(RegisterReader, HeavyBlurIsTooBlurred) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  std::mt19937 rng(7);
  RenderOptions ro;
  ro.blur_sigma = 6;
  const auto reg = RenderRegister("123456", *g, ro, rng);
  ReadOptions o;
  o.digits = 6;
  const auto r = ReadRegister(reg.image, Model(), o);
  EXPECT_EQ(r.unreadable.rfind("too blurred (variance of Laplacian ", 0), 0u) << r.unreadable;
  EXPECT_LT(r.sharpness, o.min_sharpness);
}

TEST(RegisterReader, UnsureDigitIsNamedByPosition) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  ReadOptions o;
  o.digits = 1;
  o.min_confidence = 1.01;  // nothing is that sure: the first position is reported
  const auto r = ReadRegister(g->crops[5][0], Model(), o);
  EXPECT_EQ(r.unreadable.rfind("low confidence digit at position 1 of 1 (read ", 0), 0u) << r.unreadable;
  EXPECT_EQ(r.value, "");
}

TEST(Sharpness, FallsWithBlur) {
  cv::Mat img(48, 100, CV_8UC1, cv::Scalar(20));
  cv::putText(img, "0123", {5, 38}, cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(230), 2);
  cv::Mat blurred;
  cv::GaussianBlur(img, blurred, cv::Size(0, 0), 3);
  EXPECT_GT(Sharpness(img), 10 * Sharpness(blurred));
}

}  // namespace
}  // namespace mh::water::vision
