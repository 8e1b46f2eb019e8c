// Trains the drum-digit classifier from a directory of labelled crops and writes the model:
//   mh_train_digits --data DIR/train --out model/digits_model_svm.yml --kind svm --augment 6 --synthetic-transitions 100
// --validate holds out whole meter groups (--split groups, default; see meter_groups.h) or every
// 5th crop (--split every5th, round 1) and reports accuracy on them (the model written then is
// the one trained without them). --evaluate M[,M2] reports a trained model on the held-out crops
// and, with --registers N, sweeps the reader's confidence cut-off on N registers rendered from the
// held-out meters' crops. --kind svm trains a PCA + RBF SVM member; with --validate, comma lists
// of --svm-c / --svm-gamma are a grid, each point reported alone and averaged with --with M[,M2]
// (models trained on the training side only).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "water/vision/digit_classifier.h"
#include "water/vision/meter_groups.h"
#include "water/vision/register_reader.h"
#include "water/vision/render.h"

namespace vision = mh::water::vision;

namespace {

// Held-out figures of a trained model for several rolling shares (see DecideDigit): the
// classifier alone on all, whole and transition crops, and the reader with `--digits 1`.
void SweepRollingShare(vision::DigitClassifier model, const std::vector<vision::DigitSample>& held,
                       const std::vector<double>& shares) {
  for (double share : shares) {
    model.set_rolling_share(share);
    double loss = 0;  // mean −ln p(true digit): how well the probabilities are calibrated
    int all = 0, whole = 0, whole_n = 0, rolling = 0, rolling_n = 0, right = 0, wrong = 0, refused = 0;
    vision::ReadOptions o;
    o.digits = 1;
    for (const auto& s : held) {
      const vision::DigitGuess g = model.Classify(s.image);
      const bool ok = g.digit == s.label;
      loss -= std::log(std::max(g.probability[s.label], 1e-9)) / held.size();
      all += ok;
      if (s.fine == s.label) whole_n++, whole += ok;
      else rolling_n++, rolling += ok;
      const auto r = vision::ReadRegister(s.image, model, o);
      if (!r.ok()) ++refused;
      else if (r.value == std::string(1, char('0' + s.label))) ++right;
      else ++wrong;
    }
    std::printf("rolling share %5.2f: classifier %d/%zu = %.2f %% (whole %d/%d, transitions %d/%d), log-loss %.3f; "
                "reader right %d wrong %d unreadable %d\n",
                share, all, held.size(), 100.0 * all / held.size(), whole, whole_n, rolling, rolling_n, loss, right,
                wrong, refused);
  }
}

std::vector<double> NumberList(const std::string& text) {
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(std::stod(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

// Classifier-alone figures of `model` on the held-out crops, one line.
void HeldOutLine(const char* name, const vision::DigitClassifier& model, const std::vector<vision::DigitSample>& held) {
  int all = 0, whole = 0, whole_n = 0, rolling = 0;
  for (const auto& s : held) {
    const bool ok = model.Classify(s.image).digit == s.label;
    all += ok;
    if (s.fine == s.label) whole_n++, whole += ok;
    else rolling += ok;
  }
  std::printf("%s: %d/%zu = %.2f %% (whole %d/%d, transitions %d/%zu)\n", name, all, held.size(), 100.0 * all / held.size(),
              whole, whole_n, rolling, held.size() - whole_n);
  std::fflush(stdout);
}

// Renders `count` registers of 6 drums from the held-out meters' whole-digit crops (fixed seed),
// reads each once with no cut-off, and prints for each cut-off how many registers the reader
// would accept, how many of those are right, and the per-digit accuracy of the accepted ones.
void SweepCutOff(const vision::DigitClassifier& model, const std::vector<vision::DigitSample>& held, int count) {
  vision::Glyphs glyphs;
  for (const auto& s : held) {
    if (s.fine == s.label) glyphs.crops[s.label].push_back(s.image);
  }
  std::mt19937 rng(11);
  vision::ReadOptions o;
  o.digits = 6;
  o.min_confidence = 0;
  struct Read {
    bool ok;
    double least;  // the lowest digit confidence
    int right_digits;
    bool right;
  };
  std::vector<Read> reads;
  std::array<int, 6> wrong_at{};
  int rolled = 0, rolled_wrong = 0;
  for (int i = 0; i < count; ++i) {
    vision::RenderOptions used;
    const auto reg = vision::RandomRegister(glyphs, 6, rng, &used);
    const auto r = vision::ReadRegister(reg.image, model, o);
    Read x{r.ok(), 1, 0, r.value == reg.value};
    if (r.ok()) {
      for (size_t k = 0; k < r.digits.size(); ++k) {
        x.least = std::min(x.least, r.digits[k].confidence);
        x.right_digits += r.value[k] == reg.value[k];
        wrong_at[k] += r.value[k] != reg.value[k];
      }
      rolled += used.roll > 0;
      rolled_wrong += used.roll > 0 && r.value.back() != reg.value.back();
    }
    reads.push_back(x);
  }
  std::printf("with no cut-off: wrong digits by position %d %d %d %d %d %d; last drum rolling %d, read wrong %d\n",
              wrong_at[0], wrong_at[1], wrong_at[2], wrong_at[3], wrong_at[4], wrong_at[5], rolled, rolled_wrong);
  for (double cut : {0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7}) {
    int accepted = 0, right = 0, digits_right = 0;
    for (const auto& x : reads) {
      if (!x.ok || x.least < cut) continue;
      ++accepted, right += x.right, digits_right += x.right_digits;
    }
    std::printf("cut-off %.2f: accepted %d/%d (%.1f %%), right %d, wrong %d; per digit of accepted %.2f %%\n", cut,
                accepted, count, 100.0 * accepted / count, right, accepted - right,
                100.0 * digits_right / std::max(1, 6 * accepted));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, out;
  bool validate = false;
  std::string split = "groups";
  double near = 14;
  bool show_groups = false;
  std::string evaluate, with;
  int registers = 0;
  bool sweep_rolling = false;
  std::vector<double> slopes{0};  // with --evaluate: the SVM members' coupling slopes to try (0 = as saved)
  vision::TrainOptions options;
  std::vector<double> cs{options.svm_c}, gammas{options.svm_gamma};
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
    else if (a == "--kind") {
      const std::string k = next();
      if (k != "mlp" && k != "svm") {
        std::cerr << "mh_train_digits: --kind must be mlp or svm\n";
        return 2;
      }
      options.kind = k == "svm" ? vision::ModelKind::kSvm : vision::ModelKind::kMlp;
    } else if (a == "--pca") options.pca = std::stoi(next());
    else if (a == "--roll") {  // MIN,MAX in % of the drum's height
      const std::vector<double> r = NumberList(next());
      if (r.size() != 2 || r[0] < 0 || r[1] > 100 || r[0] > r[1]) {
        std::cerr << "mh_train_digits: --roll must be MIN,MAX with 0 <= MIN <= MAX <= 100\n";
        return 2;
      }
      options.roll_min = int(r[0]), options.roll_max = int(r[1]);
    }
    else if (a == "--svm-c") cs = NumberList(next());
    else if (a == "--svm-gamma") gammas = NumberList(next());
    else if (a == "--svm-sigmoid") slopes = NumberList(next()), options.svm_sigmoid = slopes.front();
    else if (a == "--with") with = next();
    else if (a == "--registers") registers = std::stoi(next());
    else if (a == "--sweep-rolling") sweep_rolling = true;
    else {
      std::cerr << "usage: mh_train_digits --data DIR --out MODEL.yml [--validate] [--features hog|hog+] [--hidden 128]\n"
                   "  [--iterations 200] [--augment 2] [--synthetic-transitions 0] [--roll 15,85] [--kind mlp|svm] [--pca 80]\n"
                   "  [--svm-c 10] [--svm-gamma 3] [--svm-sigmoid 8] [--with M,..] [--evaluate M,.. [--registers N] [--sweep-rolling]]\n";
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
    for (double slope : slopes) {
      if (slope > 0) {
        model->set_svm_sigmoid(slope);
        std::printf("SVM coupling slope %g:\n", slope);
      }
      if (registers > 0) SweepCutOff(*model, held, registers);
      else if (sweep_rolling) SweepRollingShare(*model, held, {-1.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35});
      else SweepRollingShare(*model, held, {model->rolling_share()});
    }
    return 0;
  }
  std::cerr << "training on " << train.size() << " crops (+" << options.augment << " jittered copies each)\n";
  if (validate && cs.size() * gammas.size() > 1) {
    // A grid: one augmented set, one model per point, reported on the held-out crops.
    std::vector<vision::DigitClassifier> others;
    if (!with.empty()) {
      auto w = vision::DigitClassifier::Load(with);
      if (!w.ok()) {
        std::cerr << "mh_train_digits: " << w.status().message() << "\n";
        return 2;
      }
      others.push_back(*w);
      HeldOutLine("--with alone", *w, held);
    }
    const vision::TrainingSet set = vision::DigitClassifier::Augment(train, options);
    std::cerr << set.features.rows << " training rows\n";
    for (double c : cs) {
      for (double g : gammas) {
        options.svm_c = c;
        options.svm_gamma = g;
        auto m = vision::DigitClassifier::Fit(set, options);
        if (!m.ok()) {
          std::cerr << "mh_train_digits: " << m.status().message() << "\n";
          return 1;
        }
        const std::string name = cv::format("C %g gamma %g", c, g);
        HeldOutLine(name.c_str(), *m, held);
        if (!others.empty()) {
          std::vector<vision::DigitClassifier> parts = others;
          parts.push_back(*m);
          HeldOutLine((name + " + with").c_str(), vision::DigitClassifier::Ensemble(parts), held);
        }
      }
    }
    return 0;
  }
  options.svm_c = cs.front();
  options.svm_gamma = gammas.front();
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
