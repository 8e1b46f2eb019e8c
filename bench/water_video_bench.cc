// Time to decode and read a customer's 10-second clip of the register (issue 17 item 1): the clip
// is written once with OpenCV's VideoWriter from a register rendered from digits/train crops (the
// phone drifting a little between frames), then ReadClip decodes every frame through FFmpeg and
// reads the 12 sampled ones. Run: build/bench/water_video_bench --benchmark_min_time=3
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include <opencv2/imgproc.hpp>

#include "water/vision/render.h"
#include "water/vision/video.h"

namespace {

using namespace mh::water::vision;
using mh::Result;

// A 10 s clip at 30 fps, the register scaled to fill about half the frame's width.
Result<std::string> Clip(const std::string& format, int width, int height) {
  static const Result<Glyphs> glyphs = LoadGlyphs(std::string(MH_SHARED_DATA_DIR) + "/digits/train");
  if (!glyphs.ok()) return glyphs.status();
  std::mt19937 rng(1);
  std::vector<cv::Mat> looks;
  for (int k = 0; k < 6; ++k) {
    RenderOptions ro;
    ro.rotation_deg = -3 + k;
    ro.noise_sigma = 2;
    cv::Mat reg = RenderRegister("004217", *glyphs, ro, rng).image, frame(height, width, CV_8UC3, cv::Scalar(200, 200, 200));
    cv::Mat scaled;
    const double f = std::min(0.5 * width / reg.cols, 0.8 * height / reg.rows);
    cv::resize(reg, scaled, cv::Size(), f, f, cv::INTER_CUBIC);
    scaled.copyTo(frame(cv::Rect((width - scaled.cols) / 2, (height - scaled.rows) / 2, scaled.cols, scaled.rows)));
    looks.push_back(frame);
  }
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 300; ++i) frames.push_back(looks[(i / 10) % looks.size()]);
  return EncodeClip(frames, 30, format);
}

void ReadTenSecondClip(benchmark::State& state, const std::string& format, int width, int height) {
  const Result<std::string> clip = Clip(format, width, height);
  if (!clip.ok()) {
    state.SkipWithError(clip.status().ToString().c_str());
    return;
  }
  static const DigitClassifier model = *DigitClassifier::Builtin();
  ReadOptions ro;
  ro.digits = 6;
  std::string value;
  for (auto _ : state) {
    Result<ClipReading> r = ReadClip(*clip, model, ro, ClipLimits{});
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    value = r->reading.ok() ? r->reading.value : r->reading.unreadable;
  }
  state.SetLabel(format + " " + std::to_string(width) + "x" + std::to_string(height) + ", " +
                 std::to_string(clip->size() / 1024) + " KiB, read " + value);
}

BENCHMARK_CAPTURE(ReadTenSecondClip, mp4_640x480, std::string("mp4"), 640, 480)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(ReadTenSecondClip, webm_640x480, std::string("webm"), 640, 480)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(ReadTenSecondClip, mp4_1280x720, std::string("mp4"), 1280, 720)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
