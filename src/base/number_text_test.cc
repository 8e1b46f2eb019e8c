#include "base/number_text.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

TEST(NumberTextTest, NumbersAreWholeText) {
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
