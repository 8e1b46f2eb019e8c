// The second opinion of the digit reader: rounds 1–3's classifier of a drum crop from HOG features
// with an RBF support-vector machine or small perceptrons (OpenCV ml; several members average their
// probabilities). The built-in HogClassifier blends its probabilities with the network's
// (digit_classifier.h); mh_train_digits trains it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/ml.hpp>

#include "base/status.h"
#include "water/vision/digit_classifier.h"

namespace mh::water::vision {

// The feature sets a model may use; the model file names its set ("features: hog|hog+").
enum class FeatureSet {
  kHog,      // HOG with 5×5 cells (756)
  kHogPlus,  // + HOG with 10×10 cells (108) + the 10×20 grey image, bright digit on dark (200)
};

// What a member of the ensemble is.
enum class ModelKind {
  kMlp,  // a perceptron (cv::ml::ANN_MLP), softmax of its outputs
  kSvm,  // PCA of the features, then an RBF SVM (cv::ml::SVM, one-vs-one); probabilities by
         // pairwise coupling of sigmoids of the pairs' decision values
};

struct TrainOptions {
  // Defaults chosen on a validation split of the training crops and on registers rendered from
  // the held-out training crops, never on the test meters: the perceptron's in round 1
  // (NOTES-digits.md), the SVM's in round 3 (NOTES-digits3.md; the committed model adds
  // --kind svm --augment 6 --synthetic-transitions 100).
  int hidden = 128;                // hidden-layer width of the perceptron
  int iterations = 200;            // back-propagation epochs
  int augment = 2;                 // extra copies of each crop: jittered; cut from a register strip
  // Synthetic rolled transitions, in % of the whole-digit crops (200 = two per crop): the lower
  // part of the digit over the upper part of a crop of the next one, labelled with the digit.
  int synthetic_transitions = 0;
  int roll_min = 15, roll_max = 85;  // % of a drum's height the synthetic transitions roll by
  uint32_t seed = 20260101;        // the jitter's generator: the same data gives the same model
  FeatureSet features = FeatureSet::kHog;
  ModelKind kind = ModelKind::kMlp;
  int pca = 80;             // SVM: principal components kept (keeps the model file small)
  double svm_c = 10;        // SVM: the soft margin's cost
  double svm_gamma = 3;     // SVM: RBF γ as a multiple of 1 / (mean squared distance of two crops)
  double svm_sigmoid = 8;   // SVM: slope of the sigmoid turning a decision value into P(i | i or j)
};

// Feature rows and labels of the (augmented) training crops, before fitting a model.
struct TrainingSet {
  cv::Mat features;  // CV_32F, one row per crop
  std::vector<int> labels;
};

// The digit a drum reads, from the classes' probabilities. A drum caught between d and d+1 looks
// like both, and the register then reads d; so when the two most likely classes are d+1 and d
// (in that order, 9→0 included) and d has at least `rolling_share`, it reads d, with the
// confidence p(d)+p(d+1). A negative `rolling_share` turns this off (plain arg-max).
DigitGuess DecideDigit(const std::array<double, 10>& probability, double rolling_share);

class HogClassifier {
 public:
  // The input size every crop is scaled to, and the feature length.
  static constexpr int kWidth = 20;
  static constexpr int kHeight = 40;
  static int FeatureLength(FeatureSet set = FeatureSet::kHog);

  // Features of one crop: grey, scaled to kWidth×kHeight, contrast-stretched, HOG (unsigned
  // gradients, so white-on-black and black-on-white drums look alike).
  static cv::Mat Features(const cv::Mat& crop, FeatureSet set = FeatureSet::kHog);
  FeatureSet feature_set() const { return members_.empty() ? FeatureSet::kHog : members_.front().features; }

  static Result<HogClassifier> Train(const std::vector<DigitSample>& samples, const TrainOptions& options);
  // The two halves of Train, so that several models can be fitted to one augmented set.
  static TrainingSet Augment(const std::vector<DigitSample>& samples, const TrainOptions& options);
  static Result<HogClassifier> Fit(const TrainingSet& set, const TrainOptions& options);
  // The model compiled into the binary, src/water/vision/model/digits_model_svm.yml: one RBF SVM
  // on HOG (round 3; it beat rounds 1–2's perceptrons and every ensemble with them, NOTES-digits3.md).
  static Result<HogClassifier> Builtin();
  // One model file, or several separated by commas (an ensemble).
  static Result<HogClassifier> Load(const std::string& paths);
  // An ensemble writes all its members into the one file.
  Status Save(const std::string& path) const;
  // A classifier averaging the probabilities of all members of `parts`.
  static HogClassifier Ensemble(const std::vector<HogClassifier>& parts);
  int members() const { return int(members_.size()); }
  // Sets the coupling slope of every SVM member (chosen on held-out crops; saved with the model).
  void set_svm_sigmoid(double slope);

  DigitGuess Classify(const cv::Mat& crop) const;

  // The share above which the lower of two adjacent top classes is read (see DecideDigit);
  // chosen on the group validation split of the training crops (NOTES-digits2.md).
  static constexpr double kRollingShare = -1;
  void set_rolling_share(double share) { rolling_share_ = share; }
  double rolling_share() const { return rolling_share_; }

 private:
  static Result<HogClassifier> FromText(const std::string& yaml);
  struct Member {
    FeatureSet features = FeatureSet::kHog;
    cv::Ptr<cv::ml::ANN_MLP> mlp;  // set for a perceptron
    cv::Ptr<cv::ml::SVM> svm;      // set for an SVM, with its projection and coupling slope
    cv::Mat pca_mean, pca_basis;   // 1×F and P×F (CV_32F)
    double sigmoid = 8;
    // The SVM's parts, taken out once for the probabilities: support vectors (rows), RBF γ, and
    // per pair (i<j, in OpenCV's order) ρ, the weights and the support vectors they use.
    struct Pair {
      double rho = 0;
      std::vector<double> alpha;
      std::vector<int> index;
    };
    cv::Mat support;
    std::vector<double> support_norm;  // |s|² of each support vector
    double gamma = 0;
    std::vector<Pair> pairs;
    void PrepareSvm();
    std::array<double, 10> Probabilities(const cv::Mat& features) const;
  };
  std::vector<Member> members_;
  double rolling_share_ = kRollingShare;
};

Evaluation Evaluate(const HogClassifier& classifier, const std::vector<DigitSample>& samples);

}  // namespace mh::water::vision
