// For the reader's tests: the built-in model and the digits/train crops registers are rendered from
// (null when the shared data are absent: the test skips). These check the reader's mechanics, not the
// model's accuracy on unseen meters (mh_eval_digits and water_read_cli_test do that, on digits/test).
#pragma once

#include "support/test_env.h"
#include "water/vision/digit_classifier.h"
#include "water/vision/render.h"

namespace mh::water::vision {

inline const DigitClassifier& Model() {
  static const DigitClassifier c = *DigitClassifier::Builtin();
  return c;
}

inline const Glyphs* TestGlyphs() {
  static const Result<Glyphs> g = LoadGlyphs(mh::testing::SharedData("digits/train"));
  return g.ok() ? &*g : nullptr;
}

}  // namespace mh::water::vision
