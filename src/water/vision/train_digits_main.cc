// Trains the HOG SVM that the built-in digit reader blends with its network (hog_classifier.h):
//   mh_train_digits --data DIR/train --out model/digits_model_svm.yml
// reproduces the committed model (its recipe is the default). For K-fold validation by meter,
// --fold-file F --fold K trains on every crop whose fold (F: lines "K path", as train_digits.py
// --folds writes them) is not K and prints, for each crop of fold K, "P path label fine p0 … p9":
// the probabilities train_digits.py's analysis blends with the network's.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "water/vision/hog_classifier.h"

namespace vision = mh::water::vision;

int main(int argc, char** argv) {
  CLI::App app{"Trains the digit reader's HOG SVM (model/digits_model_svm.yml)", "mh_train_digits"};
  std::string data, out, fold_file, fold;
  vision::TrainOptions o;
  // The committed model's recipe (round 3, chosen on the meter-grouped validation split).
  o.features = vision::FeatureSet::kHog;
  o.kind = vision::ModelKind::kSvm;
  o.augment = 6;
  o.synthetic_transitions = 100;
  app.add_option("--data", data, "directory of labelled crops (<0-9|transition>/*.jpg)")->required();
  app.add_option("--out", out, "model file to write");
  app.add_option("--augment", o.augment, "jittered copies of each crop")->capture_default_str();
  app.add_option("--synthetic-transitions", o.synthetic_transitions, "rolled drums, % of the whole digits")
      ->capture_default_str();
  app.add_option("--svm-c", o.svm_c, "the soft margin's cost")->capture_default_str();
  app.add_option("--svm-gamma", o.svm_gamma, "RBF gamma, times 1 / mean squared distance")->capture_default_str();
  app.add_option("--svm-sigmoid", o.svm_sigmoid, "slope of the pairwise coupling")->capture_default_str();
  app.add_option("--pca", o.pca, "principal components kept")->capture_default_str();
  app.add_option("--seed", o.seed, "the jitter's generator")->capture_default_str();
  app.add_option("--fold-file", fold_file, "K-fold: lines 'K path' dealing the crops to folds");
  app.add_option("--fold", fold, "K-fold: the fold held out (needs --fold-file)");
  CLI11_PARSE(app, argc, argv);
  if (out.empty() == fold_file.empty() || fold_file.empty() != fold.empty()) {
    std::cerr << "mh_train_digits: give --out, or --fold-file with --fold\n";
    return 2;
  }
  auto samples = vision::LoadDigitDirectory(data);
  if (!samples.ok()) {
    std::cerr << "mh_train_digits: " << samples.status().message() << "\n";
    return 2;
  }
  std::vector<vision::DigitSample> train, held;
  if (fold_file.empty()) {
    train = *samples;
  } else {
    std::ifstream in(fold_file);
    std::map<std::string, std::string> fold_of;
    std::string k, path;
    while (in >> k >> path) fold_of[path] = k;
    for (const auto& s : *samples) {
      auto it = fold_of.find(s.path);
      if (it == fold_of.end()) {
        std::cerr << "mh_train_digits: " << fold_file << " has no fold for " << s.path << "\n";
        return 2;
      }
      (it->second == fold ? held : train).push_back(s);
    }
  }
  std::cerr << "training on " << train.size() << " crops (+" << o.augment << " jittered copies each)\n";
  auto model = vision::HogClassifier::Train(train, o);
  if (!model.ok()) {
    std::cerr << "mh_train_digits: " << model.status().message() << "\n";
    return 1;
  }
  if (!out.empty()) {
    mh::Status saved = model->Save(out);
    if (!saved.ok()) {
      std::cerr << "mh_train_digits: " << saved.message() << "\n";
      return 1;
    }
    std::cerr << "wrote " << out << "\n";
  }
  for (const auto& s : held) {
    const vision::DigitGuess g = model->Classify(s.image);
    std::printf("P %s %d %g", s.path.c_str(), s.label, s.fine);
    for (double p : g.probability) std::printf(" %.6f", p);
    std::printf("\n");
  }
  return 0;
}
