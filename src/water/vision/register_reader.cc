#include "water/vision/register_reader.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "water/vision/grey.h"

namespace mh::water::vision {
namespace {

constexpr char kNoDigitRow[] = "no digit row found: photograph the counter's window straight on, filling the frame";

// The p-th percentile (0..100) of an 8-bit image, from its histogram.
int Percentile(const cv::Mat& grey, double p) {
  std::array<int, 256> hist{};
  for (int y = 0; y < grey.rows; ++y) {
    const uint8_t* row = grey.ptr<uint8_t>(y);
    for (int x = 0; x < grey.cols; ++x) ++hist[row[x]];
  }
  const double target = p / 100.0 * grey.total();
  double seen = 0;
  for (int v = 0; v < 256; ++v) {
    seen += hist[v];
    if (seen >= target) return v;
  }
  return 255;
}

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Corners of a quadrilateral ordered top-left, top-right, bottom-right, bottom-left (fine for
// the tilts a hand-held photo has, well under 45°).
std::array<cv::Point2f, 4> Ordered(const std::vector<cv::Point2f>& pts) {
  std::array<cv::Point2f, 4> o;
  auto by = [&](auto key, bool max) {
    return *std::max_element(pts.begin(), pts.end(), [&](const cv::Point2f& a, const cv::Point2f& b) {
      return max ? key(a) < key(b) : key(a) > key(b);
    });
  };
  o[0] = by([](const cv::Point2f& p) { return p.x + p.y; }, false);
  o[2] = by([](const cv::Point2f& p) { return p.x + p.y; }, true);
  o[1] = by([](const cv::Point2f& p) { return p.y - p.x; }, false);
  o[3] = by([](const cv::Point2f& p) { return p.y - p.x; }, true);
  return o;
}

// The cuts of drum cell [x, x+w) of the window that are averaged: slightly moved, inset and
// widened, so that a window found a few pixels off, or drums not quite evenly spaced, still read.
std::vector<cv::Mat> CellCuts(const cv::Mat& window, double x, double w) {
  const double h = window.rows;
  const std::array<std::array<double, 3>, 5> cuts = {{
      {0, 0.07, 0}, {-0.06, 0.07, 0}, {0.06, 0.07, 0}, {0, 0.03, 0}, {0, 0.1, -0.04}}};  // dx·w, inset·h, widen·w
  std::vector<cv::Mat> out;
  for (const auto& [dx, inset, widen] : cuts) {
    const int x0 = std::max(0, int(std::lround(x + dx * w - widen * w)));
    const int x1 = std::min(window.cols, int(std::lround(x + w + dx * w + widen * w)));
    const int y0 = std::max(0, int(std::lround(inset * h))), y1 = std::min(window.rows, int(std::lround(h - inset * h)));
    if (x1 - x0 < 2 || y1 - y0 < 2) continue;
    out.push_back(window(cv::Rect(x0, y0, x1 - x0, y1 - y0)));
  }
  return out;
}

// A crop of one drum, itself and four copies moved by 5 % of its height (edges replicated).
std::vector<cv::Mat> CropLooks(const cv::Mat& crop) {
  const int m = std::max(1, int(std::lround(crop.rows * 0.05)));
  cv::Mat padded;
  cv::copyMakeBorder(crop, padded, m, m, m, m, cv::BORDER_REPLICATE);
  const std::array<cv::Point, 5> shifts = {{{m, m}, {0, m}, {2 * m, m}, {m, 0}, {m, 2 * m}}};
  std::vector<cv::Mat> out;
  for (const auto& p : shifts) out.push_back(padded(cv::Rect(p.x, p.y, crop.cols, crop.rows)));
  return out;
}

// Classifies every drum from its looks in one pass of the network, averaging each drum's
// probabilities; a drum whose looks are all unusable (or a broken model) gets digit -1.
std::vector<DigitGuess> ClassifyDrums(const std::vector<std::vector<cv::Mat>>& looks, const DigitClassifier& classifier) {
  std::vector<cv::Mat> all;
  for (const auto& l : looks) all.insert(all.end(), l.begin(), l.end());
  const std::vector<DigitGuess> guesses = classifier.ClassifyAll(all);
  std::vector<DigitGuess> out;
  size_t next = 0;
  for (const auto& l : looks) {
    std::array<double, 10> sum{};
    bool ok = !l.empty();
    for (size_t k = 0; k < l.size(); ++k, ++next) {
      ok = ok && guesses[next].digit >= 0;
      for (int d = 0; d < 10; ++d) sum[d] += guesses[next].probability[d] / l.size();
    }
    out.push_back(ok ? GuessOf(sum) : DigitGuess{});
  }
  return out;
}

}  // namespace

double Sharpness(const cv::Mat& grey_in) {
  cv::Mat grey = Grey(grey_in);
  if (grey.empty()) return 0;
  cv::Mat scaled;
  const double f = 48.0 / grey.rows;
  cv::resize(grey, scaled, cv::Size(std::max(1, int(std::lround(grey.cols * f))), 48), 0, 0,
             f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int lo = Percentile(scaled, 1), hi = Percentile(scaled, 99);
  const double k = hi - lo < 1 ? 1.0 : 255.0 / (hi - lo);
  scaled.convertTo(scaled, CV_8U, k, -lo * k);
  cv::Mat lap;
  cv::Laplacian(scaled, lap, CV_64F);
  cv::Scalar mean, dev;
  cv::meanStdDev(lap, mean, dev);
  return dev[0] * dev[0];
}

cv::Mat LocateWindow(const cv::Mat& grey_in, cv::Rect2f* where) {
  const cv::Mat grey = Grey(grey_in);
  cv::Mat smooth, dark;
  cv::GaussianBlur(grey, smooth, cv::Size(5, 5), 0);
  cv::threshold(smooth, dark, 0, 255, cv::THRESH_BINARY_INV | cv::THRESH_OTSU);
  cv::morphologyEx(dark, dark, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(dark, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  const double image_area = double(grey.total());
  int best = -1;
  double best_area = 0;
  for (size_t i = 0; i < contours.size(); ++i) {
    const cv::RotatedRect r = cv::minAreaRect(contours[i]);
    const double w = std::max(r.size.width, r.size.height), h = std::min(r.size.width, r.size.height);
    const double area = cv::contourArea(contours[i]);
    // A row of drums: wider than tall, filling most of its rectangle, not the whole photo.
    if (h < 8 || w / h < 1.2 || w / h > 15) continue;
    if (area < 0.03 * image_area || area > 0.95 * image_area || area < 0.7 * w * h) continue;
    if (area > best_area) best_area = area, best = int(i);
  }
  if (best < 0) return {};
  std::vector<cv::Point> approx;
  cv::approxPolyDP(contours[best], approx, 0.03 * cv::arcLength(contours[best], true), true);
  std::vector<cv::Point2f> corners;
  if (approx.size() == 4 && cv::isContourConvex(approx)) {
    for (const auto& p : approx) corners.emplace_back(p);
  } else {
    cv::Point2f box[4];
    cv::minAreaRect(contours[best]).points(box);
    corners.assign(box, box + 4);
  }
  const auto c = Ordered(corners);
  const float w = (cv::norm(c[1] - c[0]) + cv::norm(c[2] - c[3])) / 2;
  const float h = (cv::norm(c[3] - c[0]) + cv::norm(c[2] - c[1])) / 2;
  if (w < 8 || h < 8 || w < h) return {};
  const cv::Point2f dst[4] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
  cv::Mat window;
  cv::warpPerspective(grey, window, cv::getPerspectiveTransform(c.data(), dst), cv::Size(int(w), int(h)),
                      cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (where) *where = cv::boundingRect(contours[best]);
  return window;
}

RegisterReading ReadRegister(const cv::Mat& image, const DigitClassifier& classifier, const ReadOptions& options) {
  RegisterReading r;
  const cv::Mat grey = Grey(image);
  if (grey.empty()) {
    r.unreadable = "empty image";
    return r;
  }
  const int p1 = Percentile(grey, 1), p99 = Percentile(grey, 99);
  // Dark, or dim and flat: more light helps. Bright and flat (a white wall, a glare-out): the
  // register is not in the picture.
  if (p99 < options.min_brightness || (p99 - p1 < options.min_contrast && p99 < 128)) {
    r.unreadable = "too dark (brightest 1% at grey " + std::to_string(p99) + ", contrast " + std::to_string(p99 - p1) +
                   "): take the photo in more light";
    return r;
  }
  if (p99 - p1 < options.min_contrast) {
    r.unreadable = kNoDigitRow;
    return r;
  }
  cv::Mat window;
  if (options.digits == 1) {
    window = grey;  // a crop of one drum
    r.window = cv::Rect2f(0, 0, float(grey.cols), float(grey.rows));
  } else {
    window = LocateWindow(grey, &r.window);
    if (window.empty()) {
      // A photo already cropped to the counter (the caller says how many drums): the whole image
      // is the window when its shape fits that many drums.
      const double aspect = double(grey.cols) / grey.rows;
      const int n = options.digits;
      if (n >= 2 && aspect > 0.6 * n * options.drum_aspect && aspect < 1.6 * n * options.drum_aspect) {
        window = grey;
        r.window = cv::Rect2f(0, 0, float(grey.cols), float(grey.rows));
      }
    }
    if (window.empty()) {
      r.unreadable = kNoDigitRow;
      return r;
    }
  }
  // Focus is measured inside the window: its edge against the light face stays sharp-looking
  // after the contrast stretch even when the digits are a smear.
  const int inset = window.rows / 8;
  r.sharpness = Sharpness(window.cols > 4 * inset && window.rows > 4 * inset
                              ? window(cv::Rect(inset, inset, window.cols - 2 * inset, window.rows - 2 * inset))
                              : window);
  if (r.sharpness < options.min_sharpness) {
    r.unreadable = "too blurred (variance of Laplacian " + Fixed(r.sharpness, 1) + " < " + Fixed(options.min_sharpness, 0) +
                   "): hold the phone still and focus on the digits";
    return r;
  }
  int n = options.digits;
  if (n <= 0) n = std::max(1, int(std::lround(double(window.cols) / window.rows / options.drum_aspect)));
  const double cell = double(window.cols) / n;
  std::vector<std::vector<cv::Mat>> looks;
  for (int i = 0; i < n; ++i) {
    // A crop of one drum is what the classifier was trained on: no cutting, only small moves.
    looks.push_back(n == 1 && options.digits == 1 ? CropLooks(window) : CellCuts(window, i * cell, cell));
  }
  r.digits = ClassifyDrums(looks, classifier);
  for (const DigitGuess& g : r.digits) {
    if (g.digit < 0) {
      r.unreadable = "no digit model";
      r.value.clear();
      return r;
    }
    r.value += char('0' + g.digit);
  }
  for (int i = 0; i < n; ++i) {
    if (r.digits[i].confidence < options.min_confidence) {
      r.unreadable = "low confidence digit at position " + std::to_string(i + 1) + " of " + std::to_string(n) + " (read " +
                     std::string(1, r.value[i]) + " with p=" + Fixed(r.digits[i].confidence, 2) +
                     "): retake the photo closer, without glare";
      r.value.clear();
      return r;
    }
  }
  return r;
}

}  // namespace mh::water::vision
