// Classifies one crop of a meter's rolling drum digit (0–9) with a small convolutional network,
// trained by train/train_digits.py and run from ONNX by OpenCV's dnn module; a drum between two
// digits reads as the lower one (the network was trained so). The built-in reader blends in the
// probabilities of rounds 1–3's HOG SVM (hog_classifier.h), as K-fold validation preferred.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "base/status.h"

namespace mh::water::vision {

// One labelled crop of the training or evaluation set.
struct DigitSample {
  cv::Mat image;     // BGR or grey, any size
  int label = 0;     // 0..9: the digit the register reads (transitions: the lower digit)
  double fine = 0;   // the fine label: 3.5 = halfway 3→4 (whole digits: label.0)
  std::string path;
};

// Loads DIR/<0-9>/*.jpg (label = folder) and DIR/transition/*.jpg (fine label = leading number
// of the file name, label = floor of it, so 9.x reads 9). Files are sorted by path.
Result<std::vector<DigitSample>> LoadDigitDirectory(const std::string& dir);

// The fine label a transition file name carries ("3.5_abc.jpg" → 3.5); error when none.
Result<double> FineLabelOfName(const std::string& file_name);

struct DigitGuess {
  int digit = -1;
  double confidence = 0;  // in [0,1]: the network's probability of the chosen digit
  std::array<double, 10> probability{};
};

// The most probable digit and its probability.
DigitGuess GuessOf(const std::array<double, 10>& probability);

class HogClassifier;

class DigitClassifier {
 public:
  // The network's input: one grey crop scaled to kWidth×kHeight.
  static constexpr int kWidth = 24;
  static constexpr int kHeight = 48;

  // The network's input for one crop (CV_32F, kHeight×kWidth): grey, scaled with INTER_AREA,
  // then zero mean and unit deviation (deviation floored at one grey level), so that dim and
  // glaring photos look alike. train_digits.py's standardise() does the same steps.
  static cv::Mat Input(const cv::Mat& crop);

  // The share of the built-in reader's probability that comes from the SVM: chosen by K-fold
  // validation by meter over all training crops (model/README.md).
  static constexpr double kSvmShare = 0.3;
  // The reader compiled into the binary: the network of model/digits_cnn.onnx blended with the
  // SVM of model/digits_model_svm.yml at kSvmShare.
  static Result<DigitClassifier> Builtin();
  // The built-in network alone. The held-out regression guard uses it: the committed SVM was
  // trained on every training crop, the network on the training side of the meter split only.
  static Result<DigitClassifier> BuiltinNetwork();
  // This network with `svm`'s probabilities mixed in: (1 - share) · network + share · svm.
  DigitClassifier BlendedWith(std::shared_ptr<const HogClassifier> svm, double share) const;
  // An ONNX file written by train_digits.py (input 1×1×48×24, output the ten probabilities).
  static Result<DigitClassifier> Load(const std::string& path);

  DigitGuess Classify(const cv::Mat& crop) const;
  // One pass of the network over several crops (faster than one call each). Thread-safe, as
  // Classify is: the daemon reads photos of several requests at once.
  std::vector<DigitGuess> ClassifyAll(const std::vector<cv::Mat>& crops) const;

 private:
  struct Net;
  static Result<DigitClassifier> FromOnnx(const std::vector<uchar>& bytes, const std::string& name);
  std::shared_ptr<Net> net_;
  std::shared_ptr<const HogClassifier> svm_;  // blended in when set
  double svm_share_ = 0;
};

// Per-digit accuracy and the confusion matrix (rows = truth, columns = read).
struct Evaluation {
  int total = 0;
  int correct = 0;
  std::array<std::array<int, 10>, 10> confusion{};
  double accuracy() const { return total ? double(correct) / total : 0; }
};
// The guesses (one per sample, in order) scored against the samples' labels.
Evaluation EvaluateGuesses(const std::vector<DigitSample>& samples, const std::vector<DigitGuess>& guesses);
Evaluation Evaluate(const DigitClassifier& classifier, const std::vector<DigitSample>& samples);
std::string FormatEvaluation(const Evaluation& e);

}  // namespace mh::water::vision
