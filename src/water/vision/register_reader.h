// Reads the register of a water meter from a photo of its counter: finds the window of rolling
// drums, cuts it into digits, classifies each, and returns the digit string or why it cannot.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "water/vision/digit_classifier.h"

namespace mh::water::vision {

struct ReadOptions {
  int digits = 0;                 // drums in the window; 0 = estimate from the window's shape
  // A digit read with less probability is "low confidence": chosen on registers rendered from
  // held-out training meters, a wrong register counted as 3 refusals (model/README.md;
  // `mh_eval_digits --render DIR/train --side validation --sweep-cutoff`).
  double min_confidence = 0.55;
  double min_brightness = 60;     // 99th percentile of grey below this: too dark
  double min_contrast = 25;       // 99th − 1st percentile of grey below this: too dark (flat)
  double min_sharpness = 120;     // variance of the Laplacian of the window scaled to 48 px high
  // Width of one drum over the window's height, used only when `digits` is 0.
  double drum_aspect = 0.5;
};

struct RegisterReading {
  std::string value;               // the digits read, most significant first (empty: unreadable)
  std::string unreadable;          // why it could not be read, empty when read
  std::vector<DigitGuess> digits;  // one guess per drum, when segmentation got that far
  cv::Rect2f window;               // where the window was found (image coordinates, bounding box)
  double sharpness = 0;            // the measured variance of the Laplacian
  bool ok() const { return unreadable.empty(); }
};

RegisterReading ReadRegister(const cv::Mat& image, const DigitClassifier& classifier, const ReadOptions& options);

// The variance of the Laplacian of `grey` once scaled to 48 px high and contrast-stretched: the
// measure of focus the reader uses (exposed for tests and for choosing the threshold).
double Sharpness(const cv::Mat& grey);

// Finds the window of drums (a dark rectangle with the register's aspect) and returns it
// straightened (rotation and perspective undone); empty when none is found.
cv::Mat LocateWindow(const cv::Mat& grey, cv::Rect2f* where = nullptr);

}  // namespace mh::water::vision
