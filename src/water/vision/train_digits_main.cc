// Trains the drum-digit classifier from a directory of labelled crops and writes the model:
//   mh_train_digits --data DIR/train --out model/digits_model.yml [--validate]
// --validate holds out every 5th crop (by sorted path) and reports accuracy on it (the model
// written then is the one trained without them).
#include <iostream>
#include <string>
#include <vector>

#include "water/vision/digit_classifier.h"

namespace vision = mh::water::vision;

int main(int argc, char** argv) {
  std::string data, out;
  bool validate = false;
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
    else if (a == "--hidden") options.hidden = std::stoi(next());
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
  for (size_t i = 0; i < samples->size(); ++i) ((validate && i % 5 == 4) ? held : train).push_back((*samples)[i]);
  std::cerr << "training on " << train.size() << " crops (+" << options.augment << " jittered copies each)\n";
  auto model = vision::DigitClassifier::Train(train, options);
  if (!model.ok()) {
    std::cerr << "mh_train_digits: " << model.status().message() << "\n";
    return 1;
  }
  std::cout << "train " << vision::FormatEvaluation(vision::Evaluate(*model, train));
  if (validate) {
    std::cout << "validation (every 5th crop of --data) " << vision::FormatEvaluation(vision::Evaluate(*model, held));
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
