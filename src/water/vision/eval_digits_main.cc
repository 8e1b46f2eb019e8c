// Measures the reader: per-digit accuracy on a directory of labelled crops (the evaluation set),
// and per-digit accuracy, unreadable share and speed on rendered registers.
//   mh_eval_digits --crops DIR/test
//   mh_eval_digits --render DIR/test [--count 300] [--digits 6] [--seed 7]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include <opencv2/imgcodecs.hpp>

#include "water/vision/digit_classifier.h"
#include "water/vision/register_reader.h"
#include "water/vision/render.h"

namespace vision = mh::water::vision;
using Clock = std::chrono::steady_clock;

namespace {

// "too blurred (variance …): …" → "too blurred": the kind of reason, for counting.
std::string Kind(const std::string& reason) { return reason.substr(0, reason.find_first_of("(:")); }

void PrintKinds(const std::map<std::string, int>& kinds) {
  for (const auto& [k, n] : kinds) std::printf("    unreadable: %s× %d\n", k.c_str(), n);
}

int EvalCrops(const vision::DigitClassifier& c, const std::string& dir) {
  auto samples = vision::LoadDigitDirectory(dir);
  if (!samples.ok()) {
    std::cerr << samples.status().message() << "\n";
    return 2;
  }
  std::vector<vision::DigitSample> whole, rolling;
  for (const auto& s : *samples) (s.fine == s.label ? whole : rolling).push_back(s);
  std::cout << "crops of " << dir << ", classifier alone: " << vision::FormatEvaluation(vision::Evaluate(c, *samples));
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n') + 1); };
  std::cout << "  whole digits: " << first_line(vision::FormatEvaluation(vision::Evaluate(c, whole)))
            << "  transitions:  " << first_line(vision::FormatEvaluation(vision::Evaluate(c, rolling)));
  // The full reader (`--digits 1`): right, wrong, or refused as unreadable.
  vision::ReadOptions o;
  o.digits = 1;
  int right = 0, wrong = 0, refused = 0;
  std::map<std::string, int> kinds;
  const auto t0 = Clock::now();
  const std::clock_t c0 = std::clock();
  for (const auto& s : *samples) {
    const auto r = vision::ReadRegister(s.image, c, o);
    if (!r.ok()) ++refused, ++kinds[Kind(r.unreadable)];
    else if (r.value == std::string(1, char('0' + s.label))) ++right;
    else ++wrong;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("reader --digits 1: right %d, wrong %d, unreadable %d of %zu; %.0f crops/s (%.0f per CPU second)\n", right,
              wrong, refused, samples->size(), samples->size() / secs, samples->size() / cpu);
  PrintKinds(kinds);
  return 0;
}

int EvalRendered(const vision::DigitClassifier& c, const std::string& dir, int count, int digits, uint32_t seed) {
  auto glyphs = vision::LoadGlyphs(dir);
  if (!glyphs.ok()) {
    std::cerr << glyphs.status().message() << "\n";
    return 2;
  }
  std::mt19937 rng(seed);
  vision::ReadOptions o;
  o.digits = digits;
  int digit_right = 0, digit_total = 0, reg_right = 0, refused = 0, rolled = 0, rolled_right = 0;
  double secs = 0, cpu = 0;
  std::map<std::string, int> kinds;
  for (int i = 0; i < count; ++i) {
    vision::RenderOptions used;
    const auto reg = vision::RandomRegister(*glyphs, digits, rng, &used);
    const auto t0 = Clock::now();
    const std::clock_t c0 = std::clock();
    const auto r = vision::ReadRegister(reg.image, c, o);
    secs += std::chrono::duration<double>(Clock::now() - t0).count();
    cpu += double(std::clock() - c0) / CLOCKS_PER_SEC;
    if (!r.ok()) {
      ++refused;
      ++kinds[Kind(r.unreadable)];
      continue;
    }
    digit_total += digits;
    for (int k = 0; k < digits; ++k) digit_right += r.value[k] == reg.value[k];
    reg_right += r.value == reg.value;
    if (used.roll > 0) {
      ++rolled;
      rolled_right += r.value.back() == reg.value.back();
    }
  }
  std::printf("rendered registers (%d × %d digits, glyphs from %s, seed %u):\n", count, digits, dir.c_str(), seed);
  std::printf("  unreadable %d (%.1f %%); of the read ones: per-digit %d/%d = %.2f %%, whole register %d/%d = %.2f %%\n",
              refused, 100.0 * refused / count, digit_right, digit_total, 100.0 * digit_right / std::max(1, digit_total),
              reg_right, count - refused, 100.0 * reg_right / std::max(1, count - refused));
  std::printf("  last drum rolling: %d/%d right; speed %.1f registers/s, %.1f per CPU second (read only, not rendering)\n",
              rolled_right, rolled, count / secs, count / cpu);
  PrintKinds(kinds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string crops, render, model;
  int count = 300, digits = 6;
  uint32_t seed = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--crops") crops = v;
    else if (a == "--render") render = v;
    else if (a == "--model") model = v;
    else if (a == "--count") count = std::stoi(v);
    else if (a == "--digits") digits = std::stoi(v);
    else if (a == "--seed") seed = uint32_t(std::stoul(v));
    else {
      std::cerr << "usage: mh_eval_digits [--model M] [--crops DIR] [--render DIR [--count N] [--digits N] [--seed S]]\n";
      return 2;
    }
  }
  auto c = model.empty() ? vision::DigitClassifier::Builtin() : vision::DigitClassifier::Load(model);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return 2;
  }
  int rc = 0;
  if (!crops.empty()) rc |= EvalCrops(*c, crops);
  if (!render.empty()) rc |= EvalRendered(*c, render, count, digits, seed);
  return rc;
}
