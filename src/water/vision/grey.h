// The 8-bit grey of a photo or crop (BGR, BGRA or grey already): what every reader of digits
// works on.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace mh::water::vision {

inline cv::Mat Grey(const cv::Mat& image) {
  cv::Mat grey;
  if (image.channels() == 3) {
    cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
  } else {
    grey = image;
  }
  if (grey.depth() != CV_8U) grey.convertTo(grey, CV_8U);
  return grey;
}

}  // namespace mh::water::vision
