#include "water/vision/hog_classifier.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "support/test_env.h"

namespace mh::water::vision {
namespace {

TEST(HogClassifier, FeaturesAreHogOfTheScaledCrop) {
  EXPECT_EQ(HogClassifier::FeatureLength(), 756);
  const cv::Mat crop(41, 21, CV_8UC3, cv::Scalar(40, 40, 40));
  const cv::Mat f = HogClassifier::Features(crop);
  EXPECT_EQ(f.rows, 1);
  EXPECT_EQ(f.cols, 756);
  // Polarity does not matter: a white 7 on black and a black 7 on white give the same features.
  cv::Mat white_on_black(41, 21, CV_8UC1, cv::Scalar(20));
  cv::line(white_on_black, {4, 6}, {17, 6}, cv::Scalar(230), 3);
  cv::line(white_on_black, {17, 6}, {8, 36}, cv::Scalar(230), 3);
  cv::Mat black_on_white = 250 - white_on_black;
  // (Nearly: the percentile stretch is not quite symmetric.) A 1 in the same place differs far more.
  cv::Mat one(41, 21, CV_8UC1, cv::Scalar(20));
  cv::line(one, {11, 4}, {11, 36}, cv::Scalar(230), 3);
  const cv::Mat f7 = HogClassifier::Features(white_on_black);
  EXPECT_LT(cv::norm(f7, HogClassifier::Features(black_on_white)), 0.02);
  EXPECT_GT(cv::norm(f7, HogClassifier::Features(one)), 0.5);
}

TEST(HogClassifier, HogPlusAddsCoarseHogAndPixelsWithTheDigitBright) {
  EXPECT_EQ(HogClassifier::FeatureLength(FeatureSet::kHogPlus), 756 + 108 + 200);
  cv::Mat white_on_black(40, 20, CV_8UC1, cv::Scalar(20));
  cv::line(white_on_black, {10, 4}, {10, 36}, cv::Scalar(230), 3);
  const cv::Mat a = HogClassifier::Features(white_on_black, FeatureSet::kHogPlus);
  const cv::Mat b = HogClassifier::Features(250 - white_on_black, FeatureSet::kHogPlus);
  ASSERT_EQ(a.cols, 1064);
  // The pixel part (last 200) has the stroke bright for both polarities.
  EXPECT_GT(a.at<float>(0, 864 + 10 * 5 + 5), 0.3f);
  EXPECT_GT(b.at<float>(0, 864 + 10 * 5 + 5), 0.3f);
  EXPECT_LT(a.at<float>(0, 864 + 10 * 5 + 1), 0.05f);
  EXPECT_LT(cv::norm(a, b), 0.05);
}

TEST(HogClassifier, RollingDrumReadsTheLowerOfTwoAdjacentDigits) {
  std::array<double, 10> p{};
  p[4] = 0.55;
  p[3] = 0.30;
  p[7] = 0.15;
  EXPECT_EQ(DecideDigit(p, -1).digit, 4);  // off: arg-max
  EXPECT_EQ(DecideDigit(p, 0.35).digit, 4);  // 3 has too little
  const DigitGuess g = DecideDigit(p, 0.25);
  EXPECT_EQ(g.digit, 3);
  EXPECT_DOUBLE_EQ(g.confidence, 0.85);
  // Only the digit below counts (4 over 5 already reads 4), and 9 is below 0.
  std::swap(p[3], p[5]);
  EXPECT_EQ(DecideDigit(p, 0.25).digit, 4);
  std::array<double, 10> q{};
  q[0] = 0.6;
  q[9] = 0.4;
  EXPECT_EQ(DecideDigit(q, 0.25).digit, 9);
  // The third most likely never counts.
  q[5] = 0.5;
  EXPECT_EQ(DecideDigit(q, 0.25).digit, 0);
}

TEST(HogClassifier, BuiltinModelLoadsAndRoundTrips) {
  auto c = HogClassifier::Builtin();
  ASSERT_TRUE(c.ok()) << c.status().message();
  mh::testing::TempDir dir("digits-model");
  ASSERT_TRUE(c->Save(dir / "m.yml").ok());
  auto back = HogClassifier::Load(dir / "m.yml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  cv::Mat crop(41, 21, CV_8UC1, cv::Scalar(30));
  cv::circle(crop, {10, 20}, 8, cv::Scalar(220), 3);
  EXPECT_EQ(c->Classify(crop).digit, back->Classify(crop).digit);
  EXPECT_DOUBLE_EQ(c->Classify(crop).confidence, back->Classify(crop).confidence);
  // The built-in model is one SVM on HOG; saved, it is an SVM member again.
  EXPECT_EQ(c->members(), 1);
  EXPECT_EQ(back->members(), 1);
  EXPECT_EQ(c->feature_set(), FeatureSet::kHog);
  EXPECT_NE(mh::testing::ReadFile(dir / "m.yml").find("digits_svm"), std::string::npos);
  EXPECT_EQ(c->Classify(crop).probability, back->Classify(crop).probability);
  EXPECT_FALSE(HogClassifier::Load(dir / "none.yml").ok());
  mh::testing::WriteFile(dir / "bad.yml", "%YAML:1.0\nfoo: 1\n");
  EXPECT_FALSE(HogClassifier::Load(dir / "bad.yml").ok());
}

TEST(HogClassifier, TrainingIsDeterministic) {
  const std::string train = mh::testing::SharedData("digits/train");
  if (!mh::testing::Exists(train)) GTEST_SKIP() << "no " << train << " (shared data absent)";
  auto all = LoadDigitDirectory(train);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::vector<DigitSample> few;
  for (size_t i = 0; i < all->size(); i += 25) few.push_back((*all)[i]);
  TrainOptions o;
  o.iterations = 10;
  o.hidden = 16;
  auto a = HogClassifier::Train(few, o), b = HogClassifier::Train(few, o);
  ASSERT_TRUE(a.ok() && b.ok());
  mh::testing::TempDir dir("digits-train");
  ASSERT_TRUE(a->Save(dir / "a.yml").ok());
  ASSERT_TRUE(b->Save(dir / "b.yml").ok());
  EXPECT_EQ(mh::testing::ReadFile(dir / "a.yml"), mh::testing::ReadFile(dir / "b.yml"));
  // A model on the wider feature set names it in its file and loads back with it.
  o.features = FeatureSet::kHogPlus;
  auto c = HogClassifier::Train(few, o);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->Save(dir / "c.yml").ok());
  EXPECT_NE(mh::testing::ReadFile(dir / "c.yml").find("hog+"), std::string::npos);
  auto back = HogClassifier::Load(dir / "c.yml");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->feature_set(), FeatureSet::kHogPlus);
  EXPECT_EQ(back->Classify(few[0].image).probability, c->Classify(few[0].image).probability);
  // Two files separated by a comma form an ensemble: the mean of the members' probabilities.
  auto both = HogClassifier::Load((dir / "a.yml") + "," + (dir / "c.yml"));
  ASSERT_TRUE(both.ok()) << both.status().message();
  EXPECT_EQ(both->members(), 2);
  const auto pa = a->Classify(few[1].image).probability, pc = c->Classify(few[1].image).probability;
  const auto pb = both->Classify(few[1].image).probability;
  for (int d = 0; d < 10; ++d) EXPECT_NEAR(pb[d], (pa[d] + pc[d]) / 2, 1e-12) << d;
  EXPECT_FALSE(HogClassifier::Load((dir / "a.yml") + ",").ok());
}

TEST(HogClassifier, SvmMemberIsDeterministicAndRoundTrips) {
  const std::string train = mh::testing::SharedData("digits/train");
  if (!mh::testing::Exists(train)) GTEST_SKIP() << "no " << train << " (shared data absent)";
  auto all = LoadDigitDirectory(train);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::vector<DigitSample> few;
  for (size_t i = 0; i < all->size(); i += 25) few.push_back((*all)[i]);
  TrainOptions o;
  o.iterations = 10;
  o.hidden = 16;
  auto a = HogClassifier::Train(few, o);
  ASSERT_TRUE(a.ok());
  mh::testing::TempDir dir("digits-svm");
  // An SVM member (PCA + RBF): the same bytes twice, and the same probabilities once loaded back,
  // also inside an ensemble saved as one file.
  o.kind = ModelKind::kSvm;
  o.pca = 20;
  auto s1 = HogClassifier::Train(few, o), s2 = HogClassifier::Train(few, o);
  ASSERT_TRUE(s1.ok() && s2.ok()) << s1.status().message();
  ASSERT_TRUE(s1->Save(dir / "s1.yml").ok());
  ASSERT_TRUE(s2->Save(dir / "s2.yml").ok());
  EXPECT_EQ(mh::testing::ReadFile(dir / "s1.yml"), mh::testing::ReadFile(dir / "s2.yml"));
  EXPECT_NE(mh::testing::ReadFile(dir / "s1.yml").find("digits_svm"), std::string::npos);
  const auto ps = s1->Classify(few[2].image).probability;
  double sum = 0;
  for (double v : ps) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-6);  // summed in float, as round 2 did
  int right = 0;
  for (const auto& s : few) right += s1->Classify(s.image).digit == s.label;
  EXPECT_GE(right, int(few.size()) * 9 / 10);  // its own training crops
  auto mixed = HogClassifier::Ensemble({*a, *s1});
  ASSERT_TRUE(mixed.Save(dir / "mixed.yml").ok());
  auto mixed_back = HogClassifier::Load(dir / "mixed.yml");
  ASSERT_TRUE(mixed_back.ok()) << mixed_back.status().message();
  EXPECT_EQ(mixed_back->members(), 2);
  EXPECT_EQ(mixed_back->Classify(few[2].image).probability, mixed.Classify(few[2].image).probability);
}

TEST(HogClassifier, SyntheticTransitionsAddRolledCopiesOfWholeDigits) {
  const std::string train = mh::testing::SharedData("digits/train");
  if (!mh::testing::Exists(train)) GTEST_SKIP() << "no " << train << " (shared data absent)";
  auto all = LoadDigitDirectory(train);
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::vector<DigitSample> few;
  int whole = 0;
  for (size_t i = 0; i < all->size(); i += 50) {
    few.push_back((*all)[i]);
    whole += few.back().fine == few.back().label;
  }
  TrainOptions o;
  o.augment = 1;
  o.synthetic_transitions = 200;  // two rolled copies of each whole digit, labelled with it
  const TrainingSet set = HogClassifier::Augment(few, o);
  EXPECT_EQ(set.features.rows, int(few.size()) * 2 + 2 * whole);
  EXPECT_EQ(int(set.labels.size()), set.features.rows);
  EXPECT_EQ(set.features.cols, HogClassifier::FeatureLength(FeatureSet::kHog));
  // Rows of one crop come together: itself, its jittered copy, then its rolled copies.
  EXPECT_EQ(set.labels[0], few[0].label);
  EXPECT_EQ(set.labels[1], few[0].label);
  o.synthetic_transitions = 0;
  EXPECT_EQ(HogClassifier::Augment(few, o).features.rows, int(few.size()) * 2);
}

}  // namespace
}  // namespace mh::water::vision
