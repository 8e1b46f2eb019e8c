#include "water/vision/offline_read.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "support/test_env.h"

namespace mh::water::vision {
namespace {

struct CallResult {
  int code;
  std::string out, err;
};
CallResult Call(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunWaterReadCommand(args, out, err);
  return {code, out.str(), err.str()};
}

TEST(WaterRead, UsageErrorsExitTwo) {
  EXPECT_EQ(Call({}).code, 2);
  EXPECT_EQ(Call({}).err.rfind("meterhub water read: no IMAGE given\n", 0), 0u);
  EXPECT_EQ(Call({"a.jpg", "--digits", "0"}).err, "meterhub water read: --digits must be a whole number from 1 to 20, not '0'\n");
  EXPECT_EQ(Call({"a.jpg", "--digits=7x"}).code, 2);
  EXPECT_EQ(Call({"a.jpg", "--digits"}).code, 2);
  EXPECT_EQ(Call({"a.jpg", "--fast"}).code, 2);
  const CallResult bad_model = Call({"a.jpg", "--model", "/nonexistent/model.onnx"});
  EXPECT_EQ(bad_model.code, 2);
  EXPECT_EQ(bad_model.err, "meterhub water read: cannot open model /nonexistent/model.onnx\n");
  const CallResult help = Call({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out, WaterReadUsage());
}

TEST(WaterRead, EachImageGetsALine) {
  mh::testing::TempDir dir("water-read-unit");
  const std::string black = dir / "black.png", text = dir / "notes.jpg", missing = dir / "none.jpg";
  cv::imwrite(black, cv::Mat(50, 200, CV_8UC3, cv::Scalar::all(0)));
  mh::testing::WriteFile(text, "not a picture");
  const CallResult r = Call({black, text, "--digits=6", missing});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out, black + ",unreadable: too dark (brightest 1% at grey 0, contrast 0): take the photo in more light\n" +
                       text + ",unreadable: " + text + ": not a JPEG or PNG image (other formats are not accepted)\n" + missing +
                       ",unreadable: cannot open " + missing + "\n");
  EXPECT_EQ(r.err, "");
}

TEST(WaterRead, ReadsADrumCrop) {
  const std::string crop = mh::testing::SharedData("digits/test/3");
  if (!mh::testing::Exists(crop)) GTEST_SKIP() << "shared data digits/test absent";
  std::vector<std::string> names;
  for (const auto& f : std::filesystem::directory_iterator(crop)) names.push_back(f.path());
  std::sort(names.begin(), names.end());
  const CallResult r = Call({names[0], "--digits", "1"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, names[0] + ",3\n");
}

}  // namespace
}  // namespace mh::water::vision
