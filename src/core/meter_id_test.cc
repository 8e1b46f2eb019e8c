#include "core/meter_id.h"

#include <gtest/gtest.h>

namespace mh {
namespace {

TEST(MeterId, Validates) {
  EXPECT_TRUE(IsValidMeterId("M1"));
  EXPECT_TRUE(IsValidMeterId("abc_DEF-123"));
  EXPECT_FALSE(IsValidMeterId(""));
  EXPECT_FALSE(IsValidMeterId(std::string(33, 'a')));
  EXPECT_FALSE(IsValidMeterId("a/b"));
  EXPECT_FALSE(IsValidMeterId("a b"));
}

TEST(MeterId, Fnv1aVectors) {
  // Published FNV-1a 32-bit test vectors.
  EXPECT_EQ(Fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(Fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(Fnv1a32("foobar"), 0xbf9cf968u);
  EXPECT_EQ(ShardOf("foobar"), static_cast<int>(0xbf9cf968u % 64));
}

}  // namespace
}  // namespace mh
