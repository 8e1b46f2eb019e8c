#include "water/vision/hog_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "water/vision/grey.h"

namespace mh::water::vision {

// The model's text, compiled in from model/digits_model_svm.yml (the generated kDigitsModelYaml.cc).
extern const unsigned char kDigitsModelYaml[];
extern const unsigned long kDigitsModelYamlSize;

namespace {

namespace fs = std::filesystem;

const cv::HOGDescriptor& Hog() {
  // 20×40 window, 10×10 blocks of 5×5 cells moving by 5: 3×7 blocks × 4 cells × 9 bins = 756.
  static const cv::HOGDescriptor hog(cv::Size(HogClassifier::kWidth, HogClassifier::kHeight), cv::Size(10, 10),
                                     cv::Size(5, 5), cv::Size(5, 5), 9);
  return hog;
}

const cv::HOGDescriptor& CoarseHog() {
  // The same window in 10×10 cells, 20×20 blocks moving by 10: 1×3 blocks × 4 cells × 9 = 108.
  static const cv::HOGDescriptor hog(cv::Size(HogClassifier::kWidth, HogClassifier::kHeight), cv::Size(20, 20),
                                     cv::Size(10, 10), cv::Size(10, 10), 9);
  return hog;
}

const char* FeatureSetName(FeatureSet set) { return set == FeatureSet::kHogPlus ? "hog+" : "hog"; }

// Scales to the classifier's size and stretches the 2nd..98th percentile of grey to 0..255, so
// that dim and glaring photos give the same gradients.
cv::Mat Normalised(const cv::Mat& crop) {
  cv::Mat small;
  cv::resize(Grey(crop), small, cv::Size(HogClassifier::kWidth, HogClassifier::kHeight), 0, 0, cv::INTER_AREA);
  std::vector<uint8_t> v(small.begin<uint8_t>(), small.end<uint8_t>());
  std::sort(v.begin(), v.end());
  const double lo = v[v.size() * 2 / 100], hi = v[v.size() * 98 / 100];
  const double scale = hi - lo < 8 ? 1.0 : 255.0 / (hi - lo);
  cv::Mat out;
  small.convertTo(out, CV_8U, scale, -lo * scale);
  return out;
}

// A jittered copy for training: small shift, scale and crop changes as a segmenter makes them,
// contrast and brightness changes as photos have them. Integer draws only, so the same seed
// gives the same copies with any standard library.
cv::Mat Jitter(const cv::Mat& image, std::mt19937& rng) {
  auto draw = [&](int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); };
  cv::Mat grey = Grey(image);
  const int w = grey.cols, h = grey.rows;
  const double sx = 1.0 + draw(-8, 8) / 100.0, sy = 1.0 + draw(-8, 8) / 100.0;
  const double dx = draw(-10, 10) / 100.0 * w, dy = draw(-8, 8) / 100.0 * h;
  const double angle = draw(-4, 4);
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), angle, 1.0);
  m.at<double>(0, 0) *= sx;
  m.at<double>(0, 1) *= sx;
  m.at<double>(1, 0) *= sy;
  m.at<double>(1, 1) *= sy;
  m.at<double>(0, 2) += dx + (1 - sx) * w / 2.0;
  m.at<double>(1, 2) += dy + (1 - sy) * h / 2.0;
  cv::Mat out;
  cv::warpAffine(grey, out, m, grey.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  const double contrast = draw(50, 120) / 100.0, bright = draw(-40, 40);
  out.convertTo(out, CV_8U, contrast, bright + (1 - contrast) * 128);
  if (draw(0, 2) == 0) cv::GaussianBlur(out, out, cv::Size(3, 3), draw(3, 10) / 10.0);
  return out;
}

// The crop as the register reader cuts it from a window: the drum between its neighbours on a
// dark frame, cut a little off-centre, a little too wide or narrow, with or without the frame.
cv::Mat InContext(const cv::Mat& image, const cv::Mat& left, const cv::Mat& right, std::mt19937& rng) {
  auto draw = [&](int lo, int hi) { return lo + int(rng() % uint32_t(hi - lo + 1)); };
  const int dw = 28, dh = 52, gap = 2, pad = 4;
  const uchar frame = uchar(draw(10, 60));
  cv::Mat strip(dh + 2 * pad, 3 * (dw + gap), CV_8UC1, cv::Scalar(frame));
  const cv::Mat* drums[3] = {&left, &image, &right};
  for (int i = 0; i < 3; ++i) {
    cv::Mat d;
    cv::resize(Grey(*drums[i]), d, cv::Size(dw, dh), 0, 0, cv::INTER_AREA);
    d.copyTo(strip(cv::Rect(i * (dw + gap) + gap / 2, pad, dw, dh)));
  }
  const double cell = dw + gap;
  const double x = cell + draw(-8, 8) / 100.0 * cell, w = cell * (1 + draw(-8, 8) / 100.0);
  const int inset = draw(0, 9);
  return strip(cv::Rect(int(x), inset, int(w), strip.rows - 2 * inset)).clone();
}

// A drum caught between digit d and the next: the lower part of d above the upper part of d+1,
// as the drum shows it while rolling; `offset` in (0,1) is how far it has rolled.
cv::Mat RollBetween(const cv::Mat& lower, const cv::Mat& upper, double offset) {
  const cv::Size size(HogClassifier::kWidth * 2, HogClassifier::kHeight * 2);
  cv::Mat a, b, stacked;
  cv::resize(Grey(lower), a, size, 0, 0, cv::INTER_AREA);
  cv::resize(Grey(upper), b, size, 0, 0, cv::INTER_AREA);
  cv::vconcat(a, b, stacked);
  const int y = std::clamp(int(offset * size.height), 0, size.height);
  return stacked(cv::Rect(0, y, size.width, size.height)).clone();
}

cv::Mat Softmax(const cv::Mat& row) {
  double mx;
  cv::minMaxLoc(row, nullptr, &mx);
  cv::Mat e;
  cv::exp((row - mx) * 4.0, e);  // outputs lie in about ±1.7: a temperature of 1/4 spreads them
  return e / cv::sum(e)[0];
}

}  // namespace

int HogClassifier::FeatureLength(FeatureSet set) {
  const int hog = int(Hog().getDescriptorSize());
  return set == FeatureSet::kHog ? hog : hog + int(CoarseHog().getDescriptorSize()) + (kWidth / 2) * (kHeight / 2);
}

cv::Mat HogClassifier::Features(const cv::Mat& crop, FeatureSet set) {
  const cv::Mat norm = Normalised(crop);
  std::vector<float> d;
  Hog().compute(norm, d);
  if (set == FeatureSet::kHogPlus) {
    std::vector<float> coarse;
    CoarseHog().compute(norm, coarse);
    d.insert(d.end(), coarse.begin(), coarse.end());
    // The pixels themselves, with the digit bright: the background is most of the crop, so a
    // bright median means dark digits on a light drum, which are inverted.
    cv::Mat small;
    cv::resize(norm, small, cv::Size(kWidth / 2, kHeight / 2), 0, 0, cv::INTER_AREA);
    std::vector<uint8_t> v(small.begin<uint8_t>(), small.end<uint8_t>());
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    const bool invert = v[v.size() / 2] > 127;
    // Scaled to about the HOG values' range (0..0.4), so neither part drowns the other.
    for (auto it = small.begin<uint8_t>(); it != small.end<uint8_t>(); ++it) {
      d.push_back(float((invert ? 255 - *it : *it) / 255.0 * 0.4));
    }
  }
  return cv::Mat(d, true).reshape(1, 1);
}

TrainingSet HogClassifier::Augment(const std::vector<DigitSample>& samples, const TrainOptions& options) {
  std::mt19937 rng(options.seed);
  TrainingSet set;
  auto add = [&](const cv::Mat& image, int label) {
    set.features.push_back(Features(image, options.features));
    set.labels.push_back(label);
  };
  std::array<std::vector<const DigitSample*>, 10> whole;
  for (const auto& s : samples) {
    if (s.fine == s.label) whole[s.label].push_back(&s);
  }
  for (const auto& s : samples) {
    add(s.image, s.label);
    for (int k = 0; k < options.augment; ++k) {
      if (k % 2 == 0) {
        add(Jitter(s.image, rng), s.label);
      } else {
        const DigitSample& left = samples[rng() % samples.size()];
        const DigitSample& right = samples[rng() % samples.size()];
        add(Jitter(InContext(s.image, left.image, right.image, rng), rng), s.label);
      }
    }
    // Real transitions are few: roll this digit towards random crops of the next one (9 → 0
    // reads 9, as the register does). One draw even when off, so older models retrain the same.
    const auto& next = whole[(s.label + 1) % 10];
    if (s.fine == s.label && !next.empty()) {
      const int n = options.synthetic_transitions / 100 + (int(rng() % 100) < options.synthetic_transitions % 100);
      for (int k = 0; k < n; ++k) {
        const DigitSample* upper = next[rng() % next.size()];
        const int roll = options.roll_min + int(rng() % uint32_t(options.roll_max - options.roll_min + 1));
        add(Jitter(RollBetween(s.image, upper->image, roll / 100.0), rng), s.label);
      }
    }
  }
  return set;
}

Result<HogClassifier> HogClassifier::Train(const std::vector<DigitSample>& samples, const TrainOptions& options) {
  if (samples.empty()) return InvalidArgument("no training samples");
  return Fit(Augment(samples, options), options);
}

Result<HogClassifier> HogClassifier::Fit(const TrainingSet& set, const TrainOptions& options) {
  if (set.features.empty()) return InvalidArgument("no training samples");
  Member m;
  m.features = options.features;
  // The weights start from OpenCV's fixed generator, the SVM solver is deterministic; one thread
  // keeps every sum in one order, so the same data gives the same file.
  const int threads = cv::getNumThreads();
  cv::setNumThreads(1);
  bool ok = false;
  if (options.kind == ModelKind::kMlp) {
    cv::Mat targets(int(set.labels.size()), 10, CV_32F, cv::Scalar(-1));
    for (size_t i = 0; i < set.labels.size(); ++i) targets.at<float>(int(i), set.labels[i]) = 1;
    m.mlp = cv::ml::ANN_MLP::create();
    m.mlp->setLayerSizes(std::vector<int>{set.features.cols, options.hidden, 10});
    m.mlp->setActivationFunction(cv::ml::ANN_MLP::SIGMOID_SYM);
    m.mlp->setTrainMethod(cv::ml::ANN_MLP::BACKPROP, 0.01, 0.1);
    m.mlp->setTermCriteria(cv::TermCriteria(cv::TermCriteria::MAX_ITER + cv::TermCriteria::EPS, options.iterations, 1e-6));
    ok = m.mlp->train(cv::ml::TrainData::create(set.features, cv::ml::ROW_SAMPLE, targets));
  } else {
    const cv::PCA pca(set.features, cv::Mat(), cv::PCA::DATA_AS_ROW, std::min(options.pca, set.features.cols));
    m.pca_mean = pca.mean.clone();
    pca.eigenvectors.convertTo(m.pca_basis, CV_32F);
    const cv::Mat projected = pca.project(set.features);
    // γ relative to the spread of the projected crops: mean squared distance of fixed pairs.
    double spread = 0;
    const int n = projected.rows, pairs = std::min(n, 2000);
    for (int i = 0; i < pairs; ++i) {
      const double d = cv::norm(projected.row(i), projected.row(int((i * 7919L + 1) % n)), cv::NORM_L2);
      spread += d * d / pairs;
    }
    m.svm = cv::ml::SVM::create();
    m.svm->setType(cv::ml::SVM::C_SVC);
    m.svm->setKernel(cv::ml::SVM::RBF);
    m.svm->setC(options.svm_c);
    m.svm->setGamma(options.svm_gamma / std::max(spread, 1e-9));
    m.svm->setTermCriteria(cv::TermCriteria(cv::TermCriteria::MAX_ITER + cv::TermCriteria::EPS, 100000, 1e-3));
    ok = m.svm->train(cv::ml::TrainData::create(projected, cv::ml::ROW_SAMPLE, cv::Mat(set.labels, true)));
    m.sigmoid = options.svm_sigmoid;
    if (ok) m.PrepareSvm();
  }
  cv::setNumThreads(threads);
  if (!ok) return Internal(options.kind == ModelKind::kMlp ? "the perceptron did not train" : "the SVM did not train");
  HogClassifier c;
  c.members_.push_back(std::move(m));
  return c;
}

void HogClassifier::Member::PrepareSvm() {
  support = svm->getSupportVectors();
  gamma = svm->getGamma();
  support_norm.resize(support.rows);
  for (int j = 0; j < support.rows; ++j) support_norm[j] = support.row(j).dot(support.row(j));
  pairs.clear();
  for (int i = 0; i < 45; ++i) {
    Pair p;
    cv::Mat alpha, index;
    p.rho = svm->getDecisionFunction(i, alpha, index);
    alpha.convertTo(alpha, CV_64F);
    p.alpha.assign(alpha.begin<double>(), alpha.end<double>());
    p.index.assign(index.begin<int>(), index.end<int>());
    pairs.push_back(std::move(p));
  }
}

std::array<double, 10> HogClassifier::Member::Probabilities(const cv::Mat& f) const {
  std::array<double, 10> p{};
  if (mlp) {
    cv::Mat out;
    mlp->predict(f, out);
    const cv::Mat s = Softmax(out.row(0));
    for (int i = 0; i < 10; ++i) p[i] = s.at<float>(0, i);
    return p;
  }
  // RBF kernel against every support vector, then each pair's decision value (> 0: the lower
  // class), as cv::ml::SVM::predict computes them. |x − s|² = |x|² + |s|² − 2 x·s, one product.
  const cv::Mat x = (f - pca_mean) * pca_basis.t();
  cv::Mat dots = support * x.t();  // one column
  std::vector<double> k(support.rows);
  const double xx = x.dot(x);
  for (int j = 0; j < support.rows; ++j) {
    k[j] = std::exp(-gamma * std::max(0.0, xx + support_norm[j] - 2.0 * dots.at<float>(j)));
  }
  // r[i][j] = P(i | i or j) = sigmoid(slope · decision); coupled into one distribution by
  // p_i = 1 / (Σ_j 1/r_ij − (K−2)) (Price et al., 1995), then normalised.
  std::array<std::array<double, 10>, 10> r{};
  int pair = 0;
  for (int i = 0; i < 10; ++i) {
    for (int j = i + 1; j < 10; ++j, ++pair) {
      const Pair& df = pairs[pair];
      double sum = -df.rho;
      for (size_t a = 0; a < df.alpha.size(); ++a) sum += df.alpha[a] * k[df.index[a]];
      const double q = std::clamp(1.0 / (1.0 + std::exp(-sigmoid * sum)), 1e-6, 1 - 1e-6);
      r[i][j] = q;
      r[j][i] = 1 - q;
    }
  }
  double total = 0;
  for (int i = 0; i < 10; ++i) {
    double inv = 0;
    for (int j = 0; j < 10; ++j) {
      if (j != i) inv += 1 / r[i][j];
    }
    p[i] = 1 / std::max(inv - 8, 1.0);
    total += p[i];
  }
  for (double& v : p) v /= total;
  return p;
}

namespace {

// Keys of member i in a model file: "digits_mlp" / "features" for the first (as in round 1),
// "digits_mlp_2" / "features_2" … for the next ones.
std::string MemberKey(const char* base, size_t i) { return i == 0 ? base : base + ("_" + std::to_string(i + 1)); }

}  // namespace

Result<HogClassifier> HogClassifier::FromText(const std::string& yaml) {
  try {
    cv::FileStorage fs(yaml, cv::FileStorage::READ | cv::FileStorage::MEMORY);
    HogClassifier c;
    for (size_t i = 0; !fs[MemberKey("digits_mlp", i)].empty() || !fs[MemberKey("digits_svm", i)].empty(); ++i) {
      // Models of round 1 name no feature set: they are HOG only.
      const cv::FileNode f = fs[MemberKey("features", i)];
      const std::string set = f.empty() ? "hog" : std::string(f);
      if (set != "hog" && set != "hog+") return InvalidArgument("unknown feature set '" + set + "' in digits model");
      Member m;
      m.features = set == "hog+" ? FeatureSet::kHogPlus : FeatureSet::kHog;
      if (!fs[MemberKey("digits_svm", i)].empty()) {
        fs[MemberKey("pca_mean", i)] >> m.pca_mean;
        fs[MemberKey("pca_basis", i)] >> m.pca_basis;
        m.sigmoid = double(fs[MemberKey("svm_sigmoid", i)]);
        m.svm = cv::ml::SVM::create();
        m.svm->read(fs[MemberKey("digits_svm", i)]);
        if (m.pca_basis.empty() || m.pca_basis.cols != FeatureLength(m.features) || m.pca_mean.cols != m.pca_basis.cols ||
            m.pca_basis.type() != CV_32F || m.pca_mean.type() != CV_32F || !m.svm->isTrained() ||
            m.svm->getVarCount() != m.pca_basis.rows || m.svm->getKernelType() != cv::ml::SVM::RBF ||
            m.svm->getSupportVectors().type() != CV_32F) {
          return InvalidArgument("not a digits SVM model for feature set " + set);
        }
        m.PrepareSvm();
        c.members_.push_back(std::move(m));
        continue;
      }
      m.mlp = cv::ml::ANN_MLP::create();
      m.mlp->read(fs[MemberKey("digits_mlp", i)]);
      const cv::Mat layers = m.mlp->getLayerSizes();
      if (layers.rows * layers.cols < 3 || layers.at<int>(0) != FeatureLength(m.features) ||
          layers.at<int>(int(layers.total()) - 1) != 10) {
        return InvalidArgument("not a digits model for feature set " + set);
      }
      c.members_.push_back(std::move(m));
    }
    if (c.members_.empty()) return InvalidArgument("no digits_mlp in the digits model");
    return c;
  } catch (const cv::Exception& e) {
    return InvalidArgument(std::string("cannot parse digits model: ") + e.what());
  }
}

HogClassifier HogClassifier::Ensemble(const std::vector<HogClassifier>& parts) {
  HogClassifier c;
  for (const auto& p : parts) c.members_.insert(c.members_.end(), p.members_.begin(), p.members_.end());
  if (!parts.empty()) c.rolling_share_ = parts.front().rolling_share_;
  return c;
}

void HogClassifier::set_svm_sigmoid(double slope) {
  for (Member& m : members_) {
    if (m.svm) m.sigmoid = slope;
  }
}

Result<HogClassifier> HogClassifier::Builtin() {
  static const Result<HogClassifier> model = FromText(std::string(reinterpret_cast<const char*>(kDigitsModelYaml), kDigitsModelYamlSize));
  return model;
}

Result<HogClassifier> HogClassifier::Load(const std::string& paths) {
  std::vector<HogClassifier> parts;
  size_t start = 0;
  while (start <= paths.size()) {
    const size_t comma = std::min(paths.find(',', start), paths.size());
    const std::string path = paths.substr(start, comma - start);
    start = comma + 1;
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot open model " + path);
    std::stringstream text;
    text << in.rdbuf();
    auto c = FromText(text.str());
    if (!c.ok()) return c.status().WithContext("model " + path);
    parts.push_back(*std::move(c));
  }
  return parts.size() == 1 ? parts.front() : Ensemble(parts);
}

Status HogClassifier::Save(const std::string& path) const {
  try {
    // Base64 blobs keep the committed file small; the name comes first for readers of the file.
    cv::FileStorage fs(path, cv::FileStorage::WRITE | cv::FileStorage::BASE64);
    if (!fs.isOpened()) return InvalidArgument("cannot write model " + path);
    for (size_t i = 0; i < members_.size(); ++i) {
      if (members_[i].features != FeatureSet::kHog) fs << MemberKey("features", i) << FeatureSetName(members_[i].features);
      if (members_[i].svm) {
        fs << MemberKey("pca_mean", i) << members_[i].pca_mean << MemberKey("pca_basis", i) << members_[i].pca_basis;
        fs << MemberKey("svm_sigmoid", i) << members_[i].sigmoid;
        fs << MemberKey("digits_svm", i) << "{";
        members_[i].svm->write(fs);
      } else {
        fs << MemberKey("digits_mlp", i) << "{";
        members_[i].mlp->write(fs);
      }
      fs << "}";
    }
    fs.release();
    return Status::Ok();
  } catch (const cv::Exception& e) {
    return Internal("cannot write model " + path + ": " + e.what());
  }
}

DigitGuess DecideDigit(const std::array<double, 10>& probability, double rolling_share) {
  DigitGuess g;
  g.probability = probability;
  int top = 0, second = -1;
  for (int d = 1; d < 10; ++d) {
    if (probability[d] > probability[top]) top = d;
  }
  for (int d = 0; d < 10; ++d) {
    if (d != top && (second < 0 || probability[d] > probability[second])) second = d;
  }
  g.digit = top;
  g.confidence = probability[top];
  if (rolling_share >= 0 && second == (top + 9) % 10 && probability[second] >= rolling_share) {
    g.digit = second;
    g.confidence = probability[second] + probability[top];
  }
  return g;
}

DigitGuess HogClassifier::Classify(const cv::Mat& crop) const {
  if (crop.empty() || members_.empty()) return DigitGuess{};
  // An ensemble averages its members' probabilities.
  std::array<double, 10> probability{};
  // Members sharing a feature set share its computation.
  cv::Mat features[2];
  for (const Member& m : members_) {
    cv::Mat& f = features[m.features == FeatureSet::kHogPlus];
    if (f.empty()) f = Features(crop, m.features);
    const std::array<double, 10> p = m.Probabilities(f);
    for (int i = 0; i < 10; ++i) probability[i] += float(p[i]) / members_.size();  // as round 2 summed
  }
  return DecideDigit(probability, rolling_share_);
}

Evaluation Evaluate(const HogClassifier& classifier, const std::vector<DigitSample>& samples) {
  std::vector<DigitGuess> guesses;
  for (const auto& s : samples) guesses.push_back(classifier.Classify(s.image));
  return EvaluateGuesses(samples, guesses);
}

}  // namespace mh::water::vision
