#include "water/vision/render.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace mh::water::vision {
namespace {

// Integer draws only, so that one seed renders the same images with any standard library.
int Draw(std::mt19937& rng, int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); }

cv::Mat Drum(const Glyphs& glyphs, int digit, double roll, const cv::Size& size, std::mt19937& rng) {
  const auto& a = glyphs.crops[digit];
  cv::Mat lower;
  cv::resize(a[rng() % a.size()], lower, size, 0, 0, cv::INTER_AREA);
  if (roll <= 0) return lower;
  // The drum turns upwards: the lower digit leaves at the top, the next one enters from below.
  const auto& b = glyphs.crops[(digit + 1) % 10];
  cv::Mat upper, stacked;
  cv::resize(b[rng() % b.size()], upper, size, 0, 0, cv::INTER_AREA);
  cv::vconcat(lower, upper, stacked);
  const int y = std::clamp(int(std::lround(roll * size.height)), 0, size.height);
  return stacked(cv::Rect(0, y, size.width, size.height)).clone();
}

}  // namespace

Glyphs GlyphsOf(const std::vector<DigitSample>& samples) {
  Glyphs g;
  for (const auto& s : samples) {
    if (s.fine == s.label) g.crops[s.label].push_back(s.image);
  }
  return g;
}

Result<Glyphs> LoadGlyphs(const std::string& dir) {
  MH_ASSIGN_OR_RETURN(const std::vector<DigitSample> samples, LoadDigitDirectory(dir));
  Glyphs g = GlyphsOf(samples);
  for (int d = 0; d < 10; ++d) {
    if (g.crops[d].empty()) return NotFound("no crops of digit " + std::to_string(d) + " in " + dir);
  }
  return g;
}

RenderedRegister RenderRegister(const std::string& value, const Glyphs& glyphs, const RenderOptions& o,
                                std::mt19937& rng) {
  const int n = int(value.size());
  const int gap = 2, pad = 4, margin_x = 50, margin_y = 40;
  const cv::Size drum(o.drum_width - gap, o.drum_height - 2 * pad);
  const int window_w = n * o.drum_width + 2 * pad, window_h = o.drum_height;
  cv::Mat face(window_h + 2 * margin_y, window_w + 2 * margin_x, CV_8UC3);
  // A light meter face with a soft gradient, and the dark window of the counter.
  for (int y = 0; y < face.rows; ++y) {
    const uchar v = cv::saturate_cast<uchar>(225 - 25.0 * y / face.rows);
    face.row(y).setTo(cv::Scalar(v - 5, v, v + 3));
  }
  const cv::Rect window(margin_x, margin_y, window_w, window_h);
  face(window).setTo(cv::Scalar(28, 26, 24));
  // The last drum rolls; a carry turns every 9 to its left with it.
  std::vector<double> roll(n, 0.0);
  if (n > 0 && o.roll > 0) {
    roll[n - 1] = o.roll;
    for (int i = n - 1; i > 0 && value[i] == '9'; --i) roll[i - 1] = o.roll;
  }
  for (int i = 0; i < n; ++i) {
    const cv::Mat d = Drum(glyphs, value[i] - '0', roll[i], drum, rng);
    d.copyTo(face(cv::Rect(margin_x + pad + i * o.drum_width + gap / 2, margin_y + pad, drum.width, drum.height)));
  }
  cv::Mat photo = face;
  // Rotation and perspective in one homography about the centre of the window.
  const cv::Point2f c(margin_x + window_w / 2.0f, margin_y + window_h / 2.0f);
  const cv::Point2f src[4] = {{0, 0}, {float(face.cols), 0}, {float(face.cols), float(face.rows)}, {0, float(face.rows)}};
  cv::Point2f dst[4];
  const double a = o.rotation_deg * CV_PI / 180, p = o.perspective * window_h;
  for (int k = 0; k < 4; ++k) {
    cv::Point2f q = src[k] - c;
    // Perspective: the right edge nearer the camera (taller) than the left.
    q.y *= 1.0f + float((q.x > 0 ? 1 : -1) * p / face.rows);
    dst[k] = c + cv::Point2f(float(q.x * std::cos(a) - q.y * std::sin(a)), float(q.x * std::sin(a) + q.y * std::cos(a)));
  }
  cv::warpPerspective(face, photo, cv::getPerspectiveTransform(src, dst), face.size(), cv::INTER_LINEAR,
                      cv::BORDER_REPLICATE);
  if (o.glare > 0) {
    // A bright blob, as a lamp reflected on the glass, somewhere over the window.
    cv::Mat blob(photo.size(), CV_32F, cv::Scalar(0));
    const cv::Point centre(margin_x + Draw(rng, 0, window_w), margin_y + Draw(rng, 0, window_h));
    cv::circle(blob, centre, window_h / 3, cv::Scalar(1), cv::FILLED, cv::LINE_AA);
    cv::GaussianBlur(blob, blob, cv::Size(0, 0), window_h / 4.0);
    double mx;
    cv::minMaxLoc(blob, nullptr, &mx);
    cv::Mat f, blob3;
    photo.convertTo(f, CV_32FC3);
    cv::merge(std::vector<cv::Mat>(3, blob * (255.0 * o.glare / std::max(mx, 1e-6))), blob3);
    f += blob3;
    f.convertTo(photo, CV_8UC3);
  }
  if (o.blur_sigma > 0) cv::GaussianBlur(photo, photo, cv::Size(0, 0), o.blur_sigma);
  if (o.brightness != 1) photo.convertTo(photo, CV_8UC3, o.brightness);
  if (o.noise_sigma > 0) {
    cv::Mat noise(photo.size(), CV_16SC3);
    cv::RNG cv_rng(rng());
    cv_rng.fill(noise, cv::RNG::NORMAL, 0, o.noise_sigma);
    cv::Mat f;
    photo.convertTo(f, CV_16SC3);
    f += noise;
    f.convertTo(photo, CV_8UC3);
  }
  RenderedRegister r;
  r.image = photo;
  r.value = value;
  return r;
}

RenderedRegister RandomRegister(const Glyphs& glyphs, int digits, std::mt19937& rng, RenderOptions* used) {
  RenderOptions o;
  o.digits = digits;
  std::string value;
  for (int i = 0; i < digits; ++i) value += char('0' + Draw(rng, 0, 9));
  o.roll = Draw(rng, 0, 1) ? Draw(rng, 10, 80) / 100.0 : 0;
  o.rotation_deg = Draw(rng, -80, 80) / 10.0;
  o.perspective = Draw(rng, 0, 15) / 100.0;
  o.blur_sigma = Draw(rng, 0, 10) / 10.0;
  o.glare = Draw(rng, 0, 2) == 0 ? Draw(rng, 20, 60) / 100.0 : 0;
  o.noise_sigma = Draw(rng, 0, 8);
  o.brightness = Draw(rng, 60, 110) / 100.0;
  if (used) *used = o;
  return RenderRegister(value, glyphs, o, rng);
}

}  // namespace mh::water::vision
