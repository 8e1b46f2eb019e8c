#include "water/vision/video.h"

#include <random>

#include <gtest/gtest.h>

#include "support/test_env.h"
#include "water/vision/render.h"
#include "water/vision/test_glyphs.h"

namespace mh::water::vision {
namespace {


// A hand-held clip of the register: `seconds` at `fps`, the phone drifting a little (rotation and
// noise change from frame to frame), the register showing `value` throughout.
std::vector<cv::Mat> Frames(const Glyphs& g, const std::string& value, double seconds, double fps, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<cv::Mat> frames;
  const int n = static_cast<int>(seconds * fps);
  // A few distinct renders repeated: like a phone held still, and cheap to make.
  std::vector<cv::Mat> looks;
  for (int k = 0; k < 4; ++k) {
    RenderOptions ro;
    ro.rotation_deg = -2 + k;
    ro.noise_sigma = 2;
    looks.push_back(RenderRegister(value, g, ro, rng).image);
  }
  for (int i = 0; i < n; ++i) frames.push_back(looks[(i / 5) % looks.size()]);
  return frames;
}

ReadOptions SixDigits() {
  ReadOptions o;
  o.digits = 6;
  return o;
}

TEST(Video, SniffsMp4AndWebmOnly) {
  EXPECT_EQ(SniffVideo(std::string("\0\0\0\x18" "ftypisom\0\0\0\0", 16)), "mp4");
  EXPECT_EQ(SniffVideo("\x1a\x45\xdf\xa3rest"), "webm");
  EXPECT_EQ(SniffVideo("\x89PNG\r\n\x1a\n"), "");
  EXPECT_EQ(SniffVideo("RIFF....AVI "), "");
}

TEST(Video, ReadsTheRegisterFromAGeneratedMp4AndWebm) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  const auto frames = Frames(*g, "004217", 3, 10, 1);
  for (const std::string format : {"mp4", "webm"}) {
    Result<std::string> clip = EncodeClip(frames, 10, format);
    ASSERT_TRUE(clip.ok()) << clip.status().ToString();
    EXPECT_EQ(SniffVideo(*clip), format);
    Result<ClipReading> r = ReadClip(*clip, Model(), SixDigits(), ClipLimits{});
    ASSERT_TRUE(r.ok()) << format << ": " << r.status().ToString();
    EXPECT_EQ(r->reading.unreadable, "") << format;
    EXPECT_EQ(r->reading.value, "004217") << format << ": " << ::testing::PrintToString(r->frame_values);
    EXPECT_EQ(r->frames, 30) << format;
    EXPECT_EQ(r->sampled, 12) << format;
    EXPECT_GE(r->agreeing, 10) << format;
    EXPECT_NEAR(r->seconds, 3.0, 0.15) << format;
    EXPECT_GT(r->at_s, 2.0) << format;  // the last sampled frame showing it
  }
}

TEST(Video, ARegisterMovingDuringTheClipGivesTheLaterValueOnATie) {
  const Glyphs* g = TestGlyphs();
  if (!g) GTEST_SKIP() << "shared data digits/train absent";
  auto frames = Frames(*g, "000510", 1, 10, 2);
  auto later = Frames(*g, "000511", 1, 10, 3);
  frames.insert(frames.end(), later.begin(), later.end());
  Result<std::string> clip = EncodeClip(frames, 10, "mp4");
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  Result<ClipReading> r = ReadClip(*clip, Model(), SixDigits(), ClipLimits{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->reading.value, "000511") << ::testing::PrintToString(r->frame_values);
}

TEST(Video, AClipOfNothingIsAnsweredClearly) {
  std::vector<cv::Mat> frames(20, cv::Mat(240, 320, CV_8UC3, cv::Scalar(3, 3, 3)));
  Result<std::string> clip = EncodeClip(frames, 10, "mp4");
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  Result<ClipReading> r = ReadClip(*clip, Model(), SixDigits(), ClipLimits{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->reading.ok());
  EXPECT_EQ(r->readable, 0);
  EXPECT_EQ(r->reading.unreadable.rfind("none of the 12 frames read (too dark", 0), 0u) << r->reading.unreadable;
  EXPECT_NE(r->reading.unreadable.find("film the counter steadily"), std::string::npos);
}

TEST(Video, CorruptAndForeignClipsAreInvalid) {
  std::vector<cv::Mat> frames(20, cv::Mat(240, 320, CV_8UC3, cv::Scalar(90, 90, 90)));
  Result<std::string> clip = EncodeClip(frames, 10, "mp4");
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  // The ftyp box kept, everything after it garbled: the container cannot be opened.
  std::string corrupt = clip->substr(0, 32);
  std::mt19937 rng(9);
  for (int i = 0; i < 4000; ++i) corrupt.push_back(static_cast<char>(rng()));
  Result<ClipReading> r = ReadClip(corrupt, Model(), SixDigits(), ClipLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  // Truncated to its first third.
  r = ReadClip(clip->substr(0, clip->size() / 3), Model(), SixDigits(), ClipLimits{});
  if (r.ok()) {
    EXPECT_FALSE(r->reading.ok());  // whatever decoded holds no register
  } else {
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  }
  r = ReadClip("GIF89a not a clip", Model(), SixDigits(), ClipLimits{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "not an MP4 or WebM video (other formats are not accepted)");
}

TEST(Video, CapsAreCheckedBeforeDecoding) {
  std::vector<cv::Mat> frames(40, cv::Mat(240, 320, CV_8UC3, cv::Scalar(90, 90, 90)));
  Result<std::string> clip = EncodeClip(frames, 10, "mp4");  // 4 s, 40 frames of 76,800 pixels
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  auto refused = [&](ClipLimits l, const std::string& names) {
    Result<ClipReading> r = ReadClip(*clip, Model(), SixDigits(), l);
    ASSERT_FALSE(r.ok()) << names;
    EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
    EXPECT_NE(r.status().message().find(names), std::string::npos) << r.status().ToString();
  };
  ClipLimits l;
  l.max_bytes = static_cast<int64_t>(clip->size()) - 1;
  refused(l, "water.max_upload_bytes");
  l = ClipLimits{};
  l.max_pixels = 320 * 240 - 1;
  refused(l, "water.max_photo_pixels");
  l = ClipLimits{};
  l.max_frames = 39;
  refused(l, "water.max_video_frames");
  l = ClipLimits{};
  l.max_seconds = 3.5;
  refused(l, "water.max_video_seconds");
  l = ClipLimits{};
  l.max_frames = 40;
  l.max_seconds = 4;
  EXPECT_TRUE(ReadClip(*clip, Model(), SixDigits(), l).ok());
}

}  // namespace
}  // namespace mh::water::vision
