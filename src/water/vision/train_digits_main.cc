// Trains the drum-digit classifier from a directory of labelled crops and writes the model:
//   mh_train_digits --data DIR/train --out model/digits_model.yml [--features hog|hog+] [--augment N]
// --validate holds out whole meter groups (--split groups, default; see meter_groups.h) or every
// 5th crop (--split every5th, round 1) and reports accuracy on them (the model written then is
// the one trained without them). --evaluate M[,M2] reports a trained model on the held-out crops.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "water/vision/digit_classifier.h"
#include "water/vision/meter_groups.h"
#include "water/vision/register_reader.h"

namespace vision = mh::water::vision;

namespace {

// Held-out figures of a trained model for several rolling shares (see DecideDigit): the
// classifier alone on all, whole and transition crops, and the reader with `--digits 1`.
void SweepRollingShare(vision::DigitClassifier model, const std::vector<vision::DigitSample>& held) {
  for (double share : {-1.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35}) {
    model.set_rolling_share(share);
    int all = 0, whole = 0, whole_n = 0, rolling = 0, rolling_n = 0, right = 0, wrong = 0, refused = 0;
    vision::ReadOptions o;
    o.digits = 1;
    for (const auto& s : held) {
      const bool ok = model.Classify(s.image).digit == s.label;
      all += ok;
      if (s.fine == s.label) whole_n++, whole += ok;
      else rolling_n++, rolling += ok;
      const auto r = vision::ReadRegister(s.image, model, o);
      if (!r.ok()) ++refused;
      else if (r.value == std::string(1, char('0' + s.label))) ++right;
      else ++wrong;
    }
    std::printf("rolling share %5.2f: classifier %d/%zu = %.2f %% (whole %d/%d, transitions %d/%d); "
                "reader right %d wrong %d unreadable %d\n",
                share, all, held.size(), 100.0 * all / held.size(), whole, whole_n, rolling, rolling_n, right, wrong,
                refused);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, out;
  bool validate = false;
  std::string split = "groups";
  double near = 14;
  bool show_groups = false;
  std::string evaluate;
  vision::TrainOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "mh_train_digits: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") data = next();
    else if (a == "--out") out = next();
    else if (a == "--validate") validate = true;
    else if (a == "--split") split = next();
    else if (a == "--near") near = std::stod(next());
    else if (a == "--show-groups") show_groups = true;
    else if (a == "--evaluate") evaluate = next(), validate = true;
    else if (a == "--features") {
      const std::string f = next();
      if (f != "hog" && f != "hog+") {
        std::cerr << "mh_train_digits: --features must be hog or hog+\n";
        return 2;
      }
      options.features = f == "hog+" ? vision::FeatureSet::kHogPlus : vision::FeatureSet::kHog;
    } else if (a == "--hidden") options.hidden = std::stoi(next());
    else if (a == "--iterations") options.iterations = std::stoi(next());
    else if (a == "--augment") options.augment = std::stoi(next());
    else if (a == "--synthetic-transitions") options.synthetic_transitions = std::stoi(next());
    else {
      std::cerr << "usage: mh_train_digits --data DIR --out MODEL.yml [--validate] [--hidden 128] [--iterations 200] [--augment 2] [--synthetic-transitions 0]\n";
      return 2;
    }
  }
  if (data.empty() || (out.empty() && !validate)) {
    std::cerr << "usage: mh_train_digits --data DIR --out MODEL.yml [--validate]\n";
    return 2;
  }
  auto samples = vision::LoadDigitDirectory(data);
  if (!samples.ok()) {
    std::cerr << "mh_train_digits: " << samples.status().message() << "\n";
    return 2;
  }
  std::vector<vision::DigitSample> train, held;
  if (!validate) {
    train = *samples;
  } else if (split == "every5th") {
    for (size_t i = 0; i < samples->size(); ++i) (i % 5 == 4 ? held : train).push_back((*samples)[i]);
  } else if (split == "groups") {
    const std::vector<int> groups = vision::MeterGroups(*samples, near);
    vision::SplitByGroup(*samples, groups, 20, &train, &held);
    const int count = *std::max_element(groups.begin(), groups.end()) + 1;
    std::vector<int> size(count, 0);
    for (int g : groups) ++size[g];
    std::sort(size.rbegin(), size.rend());
    std::cerr << count << " meter groups; largest:";
    for (int i = 0; i < std::min(count, 12); ++i) std::cerr << " " << size[i];
    std::cerr << "; validation " << held.size() << " crops\n";
    if (show_groups) {
      for (size_t i = 0; i < samples->size(); ++i) std::cout << groups[i] << " " << (*samples)[i].path << "\n";
      return 0;
    }
  } else {
    std::cerr << "mh_train_digits: --split must be groups or every5th\n";
    return 2;
  }
  if (!evaluate.empty()) {
    auto model = vision::DigitClassifier::Load(evaluate);
    if (!model.ok()) {
      std::cerr << "mh_train_digits: " << model.status().message() << "\n";
      return 2;
    }
    SweepRollingShare(*model, held);
    return 0;
  }
  std::cerr << "training on " << train.size() << " crops (+" << options.augment << " jittered copies each)\n";
  auto model = vision::DigitClassifier::Train(train, options);
  if (!model.ok()) {
    std::cerr << "mh_train_digits: " << model.status().message() << "\n";
    return 1;
  }
  std::cout << "train " << vision::FormatEvaluation(vision::Evaluate(*model, train));
  if (validate) {
    std::cout << "validation (" << split << " split of --data) " << vision::FormatEvaluation(vision::Evaluate(*model, held));
    std::vector<vision::DigitSample> whole, rolling;
    for (const auto& s : held) (s.fine == s.label ? whole : rolling).push_back(s);
    auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n') + 1); };
    std::cout << "validation, whole digits: " << first_line(vision::FormatEvaluation(vision::Evaluate(*model, whole)))
              << "validation, transitions: " << first_line(vision::FormatEvaluation(vision::Evaluate(*model, rolling)));
    if (out.empty()) return 0;
  }
  if (auto s = model->Save(out); !s.ok()) {
    std::cerr << "mh_train_digits: " << s.message() << "\n";
    return 1;
  }
  std::cerr << "wrote " << out << "\n";
  return 0;
}
