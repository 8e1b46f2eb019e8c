#include "water/vision/meter_groups.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "support/test_env.h"

namespace mh::water::vision {
namespace {

TEST(MeterGroups, NameKeysDropTheFineLabelAndTheTimestamp) {
  EXPECT_EQ(NameKeyOfFile("3.5_main_dig6_20220515-094057.jpg"), "main_dig6");
  EXPECT_EQ(NameKeyOfFile("0.0_0_ROI5_20210223-080329.jpg"), "0_ROI5");
  EXPECT_EQ(NameKeyOfFile("0.0_a2.jpg"), "a");
  EXPECT_EQ(NameKeyOfFile("0.0_0_b.jpg"), "b");
  EXPECT_EQ(NameKeyOfFile("3.0_9f0b21f8963f43ce793fb7c8872465a7.jpg"), "");
  EXPECT_EQ(NameKeyOfFile("0_9f0b21f8963f43ce793fb7c8872465a7.jpg"), "");
  EXPECT_EQ(DateOfFile("/x/7/7.0_dig7_20220517-040611.jpg"), "20220517");
  EXPECT_EQ(DateOfFile("0.0_a2.jpg"), "");
}

DigitSample Sample(const std::string& name, int grey, int digit) {
  DigitSample s;
  s.path = "/d/" + std::to_string(digit) + "/" + name;
  s.label = digit;
  s.fine = digit;
  s.image = cv::Mat(44, 24, CV_8UC3, cv::Scalar(grey, grey, grey));
  cv::putText(s.image, std::to_string(digit), {4, 34}, cv::FONT_HERSHEY_SIMPLEX, 1.0, cv::Scalar(255 - grey, 0, 0), 2);
  return s;
}

TEST(MeterGroups, JoinsSharedNamesSharedDatesAndNearDuplicates) {
  const std::vector<DigitSample> samples = {
      Sample("1.0_dig6_20220515-094057.jpg", 20, 1),                  // 0: name dig6, date 0515
      Sample("2.0_dig6_20220601-101010.jpg", 200, 2),                 // 1: name dig6
      Sample("3.0_main_dig5_20220601-120000.jpg", 100, 3),            // 2: date 0601 (with 1)
      Sample("4.0_0123456789abcdef0123456789abcdef.jpg", 60, 4),      // 3: a hash, alone
      Sample("4.0_fedcba9876543210fedcba9876543210.jpg", 62, 4),      // 4: near-duplicate of 3
      Sample("5.0_00000000000000000000000000000000.jpg", 150, 5),     // 5: alone
  };
  const std::vector<int> g = MeterGroups(samples);
  EXPECT_EQ(g, (std::vector<int>{0, 0, 0, 1, 1, 2}));
  std::vector<DigitSample> train, validation;
  SplitByGroup(samples, g, 40, &train, &validation);
  EXPECT_EQ(train.size() + validation.size(), samples.size());
  // At most 40 % (2 crops) in validation, whole groups only: the group of 3 stays in training.
  EXPECT_GE(validation.size(), 1u);
  EXPECT_LE(validation.size(), 2u);
  for (const auto& v : validation) {
    EXPECT_TRUE(v.path.find("4.0_") != std::string::npos || v.path.find("5.0_") != std::string::npos) << v.path;
  }
  if (validation.size() == 2) {
    EXPECT_EQ(validation[0].label + validation[1].label, 8);
  }
}

TEST(MeterGroups, TrainingCropsSplitDeterministically) {
  const std::string dir = mh::testing::SharedData("digits/train");
  if (!mh::testing::Exists(dir)) GTEST_SKIP() << "no " << dir << " (shared data absent)";
  auto all = LoadDigitDirectory(dir);
  ASSERT_TRUE(all.ok()) << all.status().message();
  const std::vector<int> g = MeterGroups(*all);
  EXPECT_EQ(*std::max_element(g.begin(), g.end()) + 1, 400);
  std::vector<DigitSample> train, validation;
  SplitByGroup(*all, g, 20, &train, &validation);
  EXPECT_EQ(validation.size(), 465u);
  EXPECT_EQ(train.size(), 1863u);
}

}  // namespace
}  // namespace mh::water::vision
