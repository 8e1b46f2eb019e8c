// Measures the reader: per-digit accuracy on a directory of labelled crops, and per-digit
// accuracy, unreadable share and speed on rendered registers; chooses the reader's cut-off.
//   mh_eval_digits --crops DIR/test                       the evaluation set (other meters)
//   mh_eval_digits --render DIR/test [--count 300] [--digits 6] [--seed 7]
//   mh_eval_digits --crops DIR/train --side validation    the held-out meters of the training set
//   mh_eval_digits --render DIR/train --side validation --sweep-cutoff   the cut-off table
//   mh_eval_digits --list-split DIR/train                 the meter-grouped split, for the trainer
// --side applies the meter-grouped split (meter_groups.h: whole meter groups on one side, 20 % of
// the crops held out) to DIR; --model runs an ONNX file instead of the built-in model.
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "water/vision/digit_classifier.h"
#include "water/vision/meter_groups.h"
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

// The crops of DIR on one side of the meter-grouped split ("all": every crop), with the group
// of each when `groups` is given.
mh::Result<std::vector<vision::DigitSample>> LoadSide(const std::string& dir, const std::string& side,
                                                      std::vector<int>* groups = nullptr) {
  MH_ASSIGN_OR_RETURN(std::vector<vision::DigitSample> all, vision::LoadDigitDirectory(dir));
  const std::vector<int> g = side == "all" && !groups ? std::vector<int>(all.size(), 0) : vision::MeterGroups(all);
  if (groups) *groups = g;
  if (side == "all") return all;
  std::vector<vision::DigitSample> train, held;
  vision::SplitByGroup(all, g, 20, &train, &held);
  if (groups) {  // groups in the order of the side's crops
    std::set<std::string> keep;
    for (const auto& s : side == "validation" ? held : train) keep.insert(s.path);
    std::vector<int> kept;
    for (size_t i = 0; i < all.size(); ++i) {
      if (keep.count(all[i].path)) kept.push_back(g[i]);
    }
    *groups = kept;
  }
  return side == "validation" ? held : train;
}

int EvalCrops(const vision::DigitClassifier& c, const std::vector<vision::DigitSample>& samples, const std::string& what) {
  std::vector<vision::DigitSample> whole, rolling;
  for (const auto& s : samples) (s.fine == s.label ? whole : rolling).push_back(s);
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n') + 1); };
  std::cout << what << ", classifier alone, whole digits: " << vision::FormatEvaluation(vision::Evaluate(c, whole))
            << "  transitions (read as the lower digit): " << first_line(vision::FormatEvaluation(vision::Evaluate(c, rolling)))
            << "  all crops: " << first_line(vision::FormatEvaluation(vision::Evaluate(c, samples)));
  // The full reader (`--digits 1`): right, wrong, or refused as unreadable.
  vision::ReadOptions o;
  o.digits = 1;
  int right = 0, wrong = 0, refused = 0, whole_right = 0, whole_wrong = 0;
  std::map<std::string, int> kinds;
  const auto t0 = Clock::now();
  const std::clock_t c0 = std::clock();
  for (const auto& s : samples) {
    const auto r = vision::ReadRegister(s.image, c, o);
    const bool is_whole = s.fine == s.label;
    if (!r.ok()) ++refused, ++kinds[Kind(r.unreadable)];
    else if (r.value == std::string(1, char('0' + s.label))) ++right, whole_right += is_whole;
    else ++wrong, whole_wrong += is_whole;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("reader --digits 1 (5 looks per crop): right %d, wrong %d, unreadable %d of %zu (whole digits: right %d, "
              "wrong %d of %zu); %.0f crops/s (%.0f per CPU second)\n",
              right, wrong, refused, samples.size(), whole_right, whole_wrong, whole.size(), samples.size() / secs,
              samples.size() / cpu);
  PrintKinds(kinds);
  // The classifier alone, one look per crop, in batches of 64 and one crop at a time.
  std::vector<cv::Mat> crops;
  for (const auto& s : samples) crops.push_back(s.image);
  std::clock_t t = std::clock();
  c.ClassifyAll(crops);
  const double batched = double(std::clock() - t) / CLOCKS_PER_SEC;
  t = std::clock();
  for (const auto& m : crops) c.Classify(m);
  const double single = double(std::clock() - t) / CLOCKS_PER_SEC;
  std::printf("classifier alone: %.0f crops per CPU second in batches, %.0f one at a time\n", crops.size() / batched,
              crops.size() / single);
  return 0;
}

int EvalRendered(const vision::DigitClassifier& c, const vision::Glyphs& glyphs, const std::string& what, int count,
                 int digits, uint32_t seed) {
  std::mt19937 rng(seed);
  vision::ReadOptions o;
  o.digits = digits;
  int digit_right = 0, digit_total = 0, reg_right = 0, refused = 0, rolled = 0, rolled_right = 0;
  double secs = 0, cpu = 0;
  std::map<std::string, int> kinds;
  for (int i = 0; i < count; ++i) {
    vision::RenderOptions used;
    const auto reg = vision::RandomRegister(glyphs, digits, rng, &used);
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
  std::printf("rendered registers (%d × %d digits, glyphs from %s, seed %u):\n", count, digits, what.c_str(), seed);
  std::printf("  unreadable %d (%.1f %%); of the read ones: per-digit %d/%d = %.2f %%, whole register %d/%d = %.2f %%\n",
              refused, 100.0 * refused / count, digit_right, digit_total, 100.0 * digit_right / std::max(1, digit_total),
              reg_right, count - refused, 100.0 * reg_right / std::max(1, count - refused));
  std::printf("  last drum rolling: %d/%d right; speed %.1f registers/s, %.1f per CPU second (read only, not rendering)\n",
              rolled_right, rolled, count / secs, count / cpu);
  PrintKinds(kinds);
  return 0;
}

// Renders `count` registers of `digits` drums (fixed seed), reads each once with no cut-off, and
// prints for each cut-off how many registers the reader would accept, how many of those are
// right, and the per-digit accuracy of the accepted ones: the table the cut-off is chosen from.
int SweepCutOff(const vision::DigitClassifier& model, const vision::Glyphs& glyphs, int count, int digits,
                uint32_t seed) {
  std::mt19937 rng(seed);
  vision::ReadOptions o;
  o.digits = digits;
  o.min_confidence = 0;
  struct Read {
    bool ok;
    double least;  // the lowest digit confidence
    int right_digits;
    bool right;
  };
  std::vector<Read> reads;
  std::vector<int> wrong_at(digits, 0);
  int rolled = 0, rolled_wrong = 0, other = 0;
  for (int i = 0; i < count; ++i) {
    vision::RenderOptions used;
    const auto reg = vision::RandomRegister(glyphs, digits, rng, &used);
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
    } else {
      ++other;
    }
    reads.push_back(x);
  }
  std::printf("with no cut-off: %d unreadable for other reasons; wrong digits by position", other);
  for (int w : wrong_at) std::printf(" %d", w);
  std::printf("; last drum rolling %d, read wrong %d\n", rolled, rolled_wrong);
  // The cost weighs a wrong register (a wrong correction of the customer's meter) as 2 or 3
  // refusals (which only ask for another photo); the cut-off with the least cost is chosen.
  for (double cut : {0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9}) {
    int accepted = 0, right = 0, digits_right = 0;
    for (const auto& x : reads) {
      if (!x.ok || x.least < cut) continue;
      ++accepted, right += x.right, digits_right += x.right_digits;
    }
    const int wrong = accepted - right, refused = count - accepted;
    std::printf("cut-off %.2f: accepted %d/%d (%.1f %%), right %d, wrong %d; per digit of accepted %.2f %%; "
                "cost %d (wrong = 2 refusals) / %d (3)\n",
                cut, accepted, count, 100.0 * accepted / count, right, wrong,
                100.0 * digits_right / std::max(1, digits * accepted), refused + 2 * wrong, refused + 3 * wrong);
  }
  return 0;
}

// Prints "training|validation GROUP PATH" per crop of DIR: the split the trainer uses.
int ListSplit(const std::string& dir) {
  std::vector<int> groups;
  auto all = LoadSide(dir, "all", &groups);
  if (!all.ok()) {
    std::cerr << all.status().message() << "\n";
    return 2;
  }
  std::vector<vision::DigitSample> train, held;
  vision::SplitByGroup(*all, groups, 20, &train, &held);
  std::set<std::string> is_held;
  for (const auto& s : held) is_held.insert(s.path);
  for (size_t i = 0; i < all->size(); ++i) {
    const auto& s = (*all)[i];
    std::printf("%s %d %s\n", is_held.count(s.path) ? "validation" : "training", groups[i], s.path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string crops, render, model, side = "all", list_split;
  int count = 300, digits = 6;
  uint32_t seed = 7;
  bool sweep = false;
  auto usage = [] {
    std::cerr << "usage: mh_eval_digits [--model M.onnx] [--side all|training|validation] [--crops DIR]\n"
                 "  [--render DIR [--count N] [--digits N] [--seed S] [--sweep-cutoff]] | --list-split DIR\n";
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sweep-cutoff") {
      sweep = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--crops") crops = v;
    else if (a == "--render") render = v;
    else if (a == "--model") model = v;
    else if (a == "--side") side = v;
    else if (a == "--list-split") list_split = v;
    else if (a == "--count") count = std::stoi(v);
    else if (a == "--digits") digits = std::stoi(v);
    else if (a == "--seed") seed = uint32_t(std::stoul(v));
    else return usage();
  }
  if (side != "all" && side != "training" && side != "validation") return usage();
  if (!list_split.empty()) return ListSplit(list_split);
  auto c = model.empty() ? vision::DigitClassifier::Builtin() : vision::DigitClassifier::Load(model);
  if (!c.ok()) {
    std::cerr << c.status().message() << "\n";
    return 2;
  }
  int rc = 0;
  if (!crops.empty()) {
    auto samples = LoadSide(crops, side);
    if (!samples.ok()) {
      std::cerr << samples.status().message() << "\n";
      return 2;
    }
    rc |= EvalCrops(*c, *samples, "crops of " + crops + (side == "all" ? "" : " (" + side + " side)"));
  }
  if (!render.empty()) {
    auto samples = LoadSide(render, side);
    if (!samples.ok()) {
      std::cerr << samples.status().message() << "\n";
      return 2;
    }
    const std::string what = render + (side == "all" ? "" : " (" + side + " side)");
    rc |= sweep ? SweepCutOff(*c, vision::GlyphsOf(*samples), count, digits, seed)
                : EvalRendered(*c, vision::GlyphsOf(*samples), what, count, digits, seed);
  }
  return rc;
}
