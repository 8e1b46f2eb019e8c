#include "base/tool_options.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

TEST(ToolOptionsTest, ParsesBothFormsAndFlags) {
  auto o = ToolOptions::Parse({"verb", "--a", "1", "--b=x y", "--quiet"}, 1, {"a", "b"}, {"quiet"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(*o->Get("a"), "1");
  EXPECT_EQ(*o->Get("b"), "x y");
  EXPECT_TRUE(o->Has("quiet"));
  EXPECT_FALSE(o->Get("c").has_value());
  EXPECT_EQ(*o->Int("a", 0, 0, 5), 1);
  EXPECT_EQ(*o->Int("missing", 7, 0, 5), 7);
  EXPECT_FALSE(o->Required("missing").ok());
}

TEST(ToolOptionsTest, ErrorsNameTheOption) {
  auto unknown = ToolOptions::Parse({"v", "--zz", "1"}, 1, {"a"});
  EXPECT_EQ(unknown.status().message(), "unknown option --zz");
  EXPECT_EQ(ToolOptions::Parse({"v", "--a"}, 1, {"a"}).status().message(), "option --a needs a value");
  EXPECT_EQ(ToolOptions::Parse({"v", "--a", "1", "--a=2"}, 1, {"a"}).status().message(), "option --a given twice");
  EXPECT_EQ(ToolOptions::Parse({"v", "file.csv"}, 1, {"a"}).status().message(), "unexpected argument 'file.csv'");
  auto o = ToolOptions::Parse({"v", "--a", "x", "--d", "nan"}, 1, {"a", "d"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->Int("a", 0, 0, 9).status().message(), "--a 'x' is not an integer in 0..9");
  EXPECT_EQ(o->Double("d").status().message(), "--d 'nan' is not a number");
}

TEST(ToolOptionsTest, NumbersAreWholeText) {
  long i = 0;
  double d = 0;
  EXPECT_TRUE(ParseIntText(" +12 ", &i));
  EXPECT_EQ(i, 12);
  EXPECT_FALSE(ParseIntText("12x", &i));
  EXPECT_FALSE(ParseIntText("", &i));
  EXPECT_TRUE(ParseDoubleText("-1.5\r", &d));
  EXPECT_EQ(d, -1.5);
  EXPECT_FALSE(ParseDoubleText("inf", &d));
  EXPECT_EQ(TrimBlanks("\t a \r"), "a");
}

}  // namespace
}  // namespace mh
