// Renders synthetic photos of an odometer-style register for evaluating the reader: real drum
// digit crops (from a <0-9>/ directory of crops) pasted side by side in a dark window on a light
// meter face, with drum roll, blur, glare, rotation, noise, perspective and dimming.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "base/status.h"
#include "water/vision/digit_classifier.h"

namespace mh::water::vision {

// Whole-digit crops to paste, by digit.
struct Glyphs {
  std::array<std::vector<cv::Mat>, 10> crops;
};
// The whole-digit crops of `samples` (transitions are not used: the renderer rolls drums itself).
Glyphs GlyphsOf(const std::vector<DigitSample>& samples);
// Loads DIR/<0-9>/*.jpg as GlyphsOf(LoadDigitDirectory(DIR)); an error when a digit has none.
Result<Glyphs> LoadGlyphs(const std::string& dir);

struct RenderOptions {
  int digits = 6;
  int drum_width = 30;         // px of one drum in the straight register, before distortion
  int drum_height = 60;        // drum_width / drum_height = ReadOptions::drum_aspect
  double roll = 0;             // how far the last drum has rolled towards the next digit, 0..1
  double blur_sigma = 0;       // Gaussian blur of the whole photo, px
  double glare = 0;            // strength of a bright blob, 0..1 (1 saturates its centre)
  double rotation_deg = 0;     // rotation of the photo
  double perspective = 0;      // corner displacement as a fraction of the register's height
  double noise_sigma = 0;      // Gaussian noise, grey levels
  double brightness = 1;       // exposure factor (0.05 = a photo in the dark)
};

struct RenderedRegister {
  cv::Mat image;      // BGR
  std::string value;  // what the register reads: a rolling drum reads as the lower digit
};

// Renders the register showing `value` (one char '0'..'9' per drum); the last drum rolls by
// options.roll, and each 9 before it that the roll carries over rolls with it, as on a real
// odometer. Crops are drawn from `glyphs` with `rng`.
RenderedRegister RenderRegister(const std::string& value, const Glyphs& glyphs, const RenderOptions& options,
                                std::mt19937& rng);

// Draws a random register and random disturbances within the ranges of a hand-held phone photo
// (rotation ±8°, mild perspective, blur σ ≤ 1, glare, noise, roll of the last drum in half the
// cases) and renders it.
RenderedRegister RandomRegister(const Glyphs& glyphs, int digits, std::mt19937& rng, RenderOptions* used = nullptr);

}  // namespace mh::water::vision
