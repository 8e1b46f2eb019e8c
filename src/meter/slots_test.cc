// SPEC 2.1 exact vectors. Expected slots computed independently with python3:
//   h = hashlib.sha256(name.encode('utf-8')).digest(); v = h[2i]*256 + h[2i+1]; v % N, first
//   `count` distinct, sorted (see docs/relay.md for the procedure).
#include "meter/slots.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

using V = std::vector<int>;

TEST(SlotCountTest, DefaultsAndParsing) {
  EXPECT_EQ(*SlotCount(SlotOptions{}), 72);
  SlotOptions o;
  ASSERT_TRUE(ParseWindow("22:00-02:00", &o).ok());
  EXPECT_EQ(WindowMinutes(o), 240);
  o.slot_minutes = 7;
  EXPECT_FALSE(SlotCount(o).ok());
  ASSERT_TRUE(ParseWindow("00:00-24:00", &o).ok());
  o.slot_minutes = 60;
  EXPECT_EQ(*SlotCount(o), 24);
  EXPECT_FALSE(ParseWindow("0:00-06:00", &o).ok());
  EXPECT_FALSE(ParseWindow("00:00-06:60", &o).ok());
  EXPECT_FALSE(ParseWindow("01:00-01:00", &o).ok() && SlotCount(o).ok());
  EXPECT_EQ(*ParseMinutes("5m"), 5);
  EXPECT_EQ(*ParseMinutes("5"), 5);
  EXPECT_EQ(*ParseMinutes("1h"), 60);
  EXPECT_EQ(*ParseMinutes("300s"), 5);
  EXPECT_FALSE(ParseMinutes("90s").ok());
  EXPECT_FALSE(ParseMinutes("0m").ok());
  EXPECT_FALSE(ParseMinutes("5x").ok());
}

TEST(AllocateSlotsTest, ExactVectors) {
  EXPECT_EQ(AllocateSlots("浙江省杭州市西湖区文三路", 72), (V{5, 50, 51, 54}));
  EXPECT_EQ(AllocateSlots("北京市朝阳区建国路", 72), (V{1, 25, 55, 61}));
  EXPECT_EQ(AllocateSlots("江苏省苏州市吴中区木渎镇", 72), (V{4, 24, 35, 40}));
  EXPECT_EQ(AllocateSlots("abc", 72), (V{0, 18, 33, 63}));
  EXPECT_EQ(AllocateSlots("abc", 12), (V{0, 3, 6, 9}));
  EXPECT_EQ(AllocateSlots("abc", 72, 6), (V{0, 1, 18, 33, 46, 63}));
  EXPECT_EQ(AllocateSlots("北京市朝阳区建国路", 72, 6), (V{1, 10, 25, 55, 57, 61}));
  EXPECT_EQ(AllocateSlots("abc", 4, 2), (V{0, 3}));
}

TEST(AllocateSlotsTest, HashUsedUp) {
  // Only 3 sub-periods exist: the 16 pairs run out with 3 distinct values.
  EXPECT_EQ(AllocateSlots("abc", 3, 4), (V{0, 1, 2}));
  EXPECT_EQ(AllocateSlots("abc", 1, 4), (V{0}));
  EXPECT_TRUE(AllocateSlots("abc", 0, 4).empty());
}

}  // namespace
}  // namespace mh::meter
