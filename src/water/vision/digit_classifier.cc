#include "water/vision/digit_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "water/vision/grey.h"
#include "water/vision/hog_classifier.h"

namespace mh::water::vision {

// The model's bytes, compiled in from model/digits_cnn.onnx (the generated kDigitsModelOnnx.cc).
extern const unsigned char kDigitsModelOnnx[];
extern const unsigned long kDigitsModelOnnxSize;

namespace {

namespace fs = std::filesystem;

}  // namespace

// cv::dnn::Net keeps its buffers inside and is not safe to run from two threads at once.
struct DigitClassifier::Net {
  cv::dnn::Net net;
  std::mutex mu;
};

Result<double> FineLabelOfName(const std::string& file_name) {
  const char* s = file_name.c_str();
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || v < 0 || v >= 10) return InvalidArgument("no fine label (like 3.5_) at the start of '" + file_name + "'");
  return v;
}

Result<std::vector<DigitSample>> LoadDigitDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound("digit directory " + dir + " does not exist");
  std::vector<std::pair<std::string, std::string>> files;  // path, folder
  for (const auto& sub : fs::directory_iterator(dir, ec)) {
    if (!sub.is_directory()) continue;
    const std::string folder = sub.path().filename().string();
    const bool digit = folder.size() == 1 && folder[0] >= '0' && folder[0] <= '9';
    if (!digit && folder != "transition") continue;
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      const std::string ext = f.path().extension().string();
      if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") files.emplace_back(f.path().string(), folder);
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<DigitSample> out;
  for (const auto& [path, folder] : files) {
    DigitSample s;
    s.path = path;
    s.image = cv::imread(path, cv::IMREAD_COLOR);
    if (s.image.empty()) return InvalidArgument("cannot decode image " + path);
    if (folder == "transition") {
      MH_ASSIGN_OR_RETURN(double fine, FineLabelOfName(fs::path(path).filename().string()));
      s.fine = fine;
      s.label = std::min(9, int(std::floor(fine)));
    } else {
      s.label = folder[0] - '0';
      s.fine = s.label;
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) return NotFound("no digit images under " + dir + " (expected <0-9|transition>/*.jpg)");
  return out;
}

cv::Mat DigitClassifier::Input(const cv::Mat& crop) {
  cv::Mat small, wide;
  cv::resize(Grey(crop), small, cv::Size(kWidth, kHeight), 0, 0, cv::INTER_AREA);
  small.convertTo(wide, CV_64F);
  cv::Scalar mean, dev;
  cv::meanStdDev(wide, mean, dev);
  cv::Mat out;
  wide.convertTo(out, CV_32F, 1.0 / std::max(dev[0], 1.0), -mean[0] / std::max(dev[0], 1.0));
  return out;
}

Result<DigitClassifier> DigitClassifier::FromOnnx(const std::vector<uchar>& bytes, const std::string& name) {
  DigitClassifier c;
  c.net_ = std::make_shared<Net>();
  try {
    c.net_->net = cv::dnn::readNetFromONNX(bytes);
    c.net_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    c.net_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return InvalidArgument("cannot parse digits model " + name + " as ONNX: " + e.what());
  }
  if (c.net_->net.empty()) return InvalidArgument("digits model " + name + " holds no network");
  // One pass on a blank crop proves the shapes: input 1×1×kHeight×kWidth, ten outputs.
  const std::vector<DigitGuess> g = c.ClassifyAll({cv::Mat(kHeight, kWidth, CV_8UC1, cv::Scalar(128))});
  if (g.size() != 1 || g[0].digit < 0) {
    return InvalidArgument("digits model " + name + " does not map a 1x1x" + std::to_string(kHeight) + "x" +
                           std::to_string(kWidth) + " crop to ten probabilities");
  }
  return c;
}

Result<DigitClassifier> DigitClassifier::BuiltinNetwork() {
  static const Result<DigitClassifier> model = FromOnnx(
      std::vector<uchar>(kDigitsModelOnnx, kDigitsModelOnnx + kDigitsModelOnnxSize), "built-in digits_cnn.onnx");
  return model;
}

Result<DigitClassifier> DigitClassifier::Builtin() {
  static const Result<DigitClassifier> model = []() -> Result<DigitClassifier> {
    MH_ASSIGN_OR_RETURN(DigitClassifier network, BuiltinNetwork());
    MH_ASSIGN_OR_RETURN(HogClassifier svm, HogClassifier::Builtin());
    return network.BlendedWith(std::make_shared<const HogClassifier>(std::move(svm)), kSvmShare);
  }();
  return model;
}

DigitClassifier DigitClassifier::BlendedWith(std::shared_ptr<const HogClassifier> svm, double share) const {
  DigitClassifier c = *this;
  c.svm_ = std::move(svm);
  c.svm_share_ = share;
  return c;
}

Result<DigitClassifier> DigitClassifier::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || fs::is_directory(path, ec)) return NotFound("cannot open model " + path);
  const std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FromOnnx(bytes, path);
}

DigitGuess GuessOf(const std::array<double, 10>& probability) {
  DigitGuess g;
  g.probability = probability;
  g.digit = int(std::max_element(probability.begin(), probability.end()) - probability.begin());
  g.confidence = probability[g.digit];
  return g;
}

std::vector<DigitGuess> DigitClassifier::ClassifyAll(const std::vector<cv::Mat>& crops) const {
  std::vector<DigitGuess> out(crops.size());
  std::vector<int> used;  // indices of the non-empty crops, in blob order
  for (size_t i = 0; i < crops.size(); ++i) {
    if (!crops[i].empty()) used.push_back(int(i));
  }
  if (!net_) return out;
  // Batches of at most 64 crops keep the network's buffers small.
  for (size_t first = 0; first < used.size(); first += 64) {
    const int n = int(std::min<size_t>(64, used.size() - first));
    cv::Mat blob(std::vector<int>{n, 1, kHeight, kWidth}, CV_32F);
    for (int k = 0; k < n; ++k) {
      Input(crops[used[first + k]]).copyTo(cv::Mat(kHeight, kWidth, CV_32F, blob.ptr<float>(k)));
    }
    cv::Mat prob;
    try {
      std::lock_guard lock(net_->mu);
      net_->net.setInput(blob);
      prob = net_->net.forward().clone();
    } catch (const cv::Exception&) {
      return out;  // a model of the wrong shape: the guesses stay "no digit" (-1)
    }
    if (prob.total() != size_t(n) * 10 || prob.type() != CV_32F) return out;
    prob = prob.reshape(1, n);
    for (int k = 0; k < n; ++k) {
      std::array<double, 10> p{};
      for (int d = 0; d < 10; ++d) p[d] = prob.at<float>(k, d);
      if (svm_) {
        const std::array<double, 10> q = svm_->Classify(crops[used[first + k]]).probability;
        for (int d = 0; d < 10; ++d) p[d] = (1 - svm_share_) * p[d] + svm_share_ * q[d];
      }
      out[used[first + k]] = GuessOf(p);
    }
  }
  return out;
}

DigitGuess DigitClassifier::Classify(const cv::Mat& crop) const { return ClassifyAll({crop}).front(); }

Evaluation Evaluate(const DigitClassifier& classifier, const std::vector<DigitSample>& samples) {
  std::vector<cv::Mat> crops;
  for (const auto& s : samples) crops.push_back(s.image);
  return EvaluateGuesses(samples, classifier.ClassifyAll(crops));
}

Evaluation EvaluateGuesses(const std::vector<DigitSample>& samples, const std::vector<DigitGuess>& guesses) {
  Evaluation e;
  for (size_t i = 0; i < samples.size(); ++i) {
    const DigitSample& s = samples[i];
    const int got = guesses[i].digit;
    ++e.total;
    if (got == s.label) ++e.correct;
    if (got >= 0) ++e.confusion[s.label][got];
  }
  return e;
}

std::string FormatEvaluation(const Evaluation& e) {
  std::ostringstream o;
  o << "accuracy " << e.correct << "/" << e.total << " = " << cv::format("%.2f", 100.0 * e.accuracy()) << " %\n";
  o << "truth\\read    0    1    2    3    4    5    6    7    8    9\n";
  for (int t = 0; t < 10; ++t) {
    o << "        " << t << " ";
    for (int r = 0; r < 10; ++r) o << cv::format("%5d", e.confusion[t][r]);
    o << "\n";
  }
  return o.str();
}

}  // namespace mh::water::vision
