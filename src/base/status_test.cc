#include "base/status.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  MH_ASSIGN_OR_RETURN(int h, Half(x));
  MH_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(Status, CarriesContext) {
  Status s = InvalidArgument("bad value").WithContext("line 3");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "line 3: bad value");
  EXPECT_EQ(s.ToString(), "invalid_argument: line 3: bad value");
}

TEST(Result, PropagatesErrors) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
}

}  // namespace
}  // namespace mh
