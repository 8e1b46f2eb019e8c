#include "water/vision/render.h"

#include <random>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace mh::water::vision {
namespace {

// Ten flat glyphs, grey level 20·(digit+1), so the test can tell which digit was pasted where.
Glyphs FlatGlyphs() {
  Glyphs g;
  for (int d = 0; d < 10; ++d) g.crops[d].push_back(cv::Mat(44, 24, CV_8UC3, cv::Scalar::all(20 * (d + 1))));
  return g;
}

// The mean grey of the middle of drum i in an unrotated render (geometry of RenderRegister).
double DrumMean(const cv::Mat& img, int i, const RenderOptions& o) {
  const int x = 50 + 4 + i * o.drum_width + o.drum_width / 4, y = 40 + 4;
  return cv::mean(img(cv::Rect(x, y, o.drum_width / 2, o.drum_height - 8)))[0];
}

TEST(Render, PastesOneDrumPerDigit) {
  std::mt19937 rng(1);
  RenderOptions o;
  const auto r = RenderRegister("0379", FlatGlyphs(), o, rng);
  EXPECT_EQ(r.value, "0379");
  EXPECT_EQ(r.image.cols, 4 * o.drum_width + 8 + 100);
  EXPECT_EQ(r.image.rows, o.drum_height + 80);
  EXPECT_NEAR(DrumMean(r.image, 0, o), 20, 1);
  EXPECT_NEAR(DrumMean(r.image, 1, o), 80, 1);
  EXPECT_NEAR(DrumMean(r.image, 2, o), 160, 1);
  EXPECT_NEAR(DrumMean(r.image, 3, o), 200, 1);
}

TEST(Render, RollCarriesOverNines) {
  std::mt19937 rng(1);
  RenderOptions o;
  o.roll = 0.5;  // 2199 → 2200 halfway: the last three drums show half of each digit and the next
  const auto r = RenderRegister("2199", FlatGlyphs(), o, rng);
  EXPECT_EQ(r.value, "2199");
  EXPECT_NEAR(DrumMean(r.image, 0, o), 60, 1);           // the 2 stays
  EXPECT_NEAR(DrumMean(r.image, 1, o), (40 + 60) / 2, 3);  // 1 → 2
  EXPECT_NEAR(DrumMean(r.image, 2, o), (200 + 20) / 2, 3); // 9 → 0
  EXPECT_NEAR(DrumMean(r.image, 3, o), (200 + 20) / 2, 3);
}

TEST(Render, SameSeedSameImage) {
  const Glyphs g = FlatGlyphs();
  std::mt19937 a(42), b(42);
  RenderOptions used_a, used_b;
  const auto ra = RandomRegister(g, 5, a, &used_a), rb = RandomRegister(g, 5, b, &used_b);
  EXPECT_EQ(ra.value, rb.value);
  EXPECT_EQ(cv::norm(ra.image, rb.image, cv::NORM_INF), 0);
  EXPECT_EQ(used_a.rotation_deg, used_b.rotation_deg);
}

TEST(Render, DimmingDarkens) {
  std::mt19937 rng(1);
  RenderOptions o;
  o.brightness = 0.05;
  const auto r = RenderRegister("12", FlatGlyphs(), o, rng);
  double mx;
  cv::minMaxLoc(r.image.reshape(1), nullptr, &mx);
  EXPECT_LE(mx, 12);
}

}  // namespace
}  // namespace mh::water::vision
