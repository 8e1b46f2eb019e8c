// SPEC 2.1 region names: the default pattern's exact results (docs/relay.md §1), custom patterns,
// and safety for any input (issue 10, item 8: a 50,000-character address overflowed the stack of
// std::regex_search).
#include "relay/region_name.h"

#include <chrono>

#include <gtest/gtest.h>

#include "meter/slots.h"

namespace mh::relay {
namespace {

TEST(RegionNameTest, DefaultPattern) {
  EXPECT_EQ(*ExtractRegionName("浙江省杭州市西湖区文三路100号"), "浙江省杭州市西湖区文三路");
  EXPECT_EQ(*ExtractRegionName("北京市朝阳区建国路88号SOHO现代城"), "北京市朝阳区建国路");
  EXPECT_EQ(*ExtractRegionName("江苏省苏州市吴中区木渎镇金山路1号"), "江苏省苏州市吴中区木渎镇");
  EXPECT_EQ(*ExtractRegionName("上海市徐汇区枫林街道东安路8号"), "上海市徐汇区枫林街道");
  EXPECT_EQ(*ExtractRegionName("浙江省淳安县威坪镇"), "浙江省淳安县威坪镇");
  EXPECT_EQ(*ExtractRegionName("深圳市南山区阳光小区5栋"), "深圳市南山区阳光小区");
  // 小区 before any district: its 区 is taken as the district, nothing follows → whole address.
  EXPECT_EQ(*ExtractRegionName("阳光小区5栋"), "阳光小区5栋");
  // No district, or no suffix after it: the whole address.
  EXPECT_EQ(*ExtractRegionName("Main Street 5"), "Main Street 5");
  EXPECT_EQ(*ExtractRegionName("杭州市西湖区"), "杭州市西湖区");
}

TEST(RegionNameTest, CustomPattern) {
  EXPECT_EQ(*ExtractRegionName("Springfield, Evergreen Terrace 742", "^([^,]+),"), "Springfield");
  EXPECT_EQ(*ExtractRegionName("no comma here", "^([^,]+),"), "no comma here");
  auto bad = ExtractRegionName("x", "(");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(RegionNameTest, CjkInsideBracketsIsOneCharacter) {
  // RE2 reads the pattern as UTF-8 characters: a bracket of CJK characters matches one of them.
  EXPECT_EQ(*ExtractRegionName("杭州市西湖区文三路100号", "^(.*?[区县])"), "杭州市西湖区");
}

TEST(RegionNameTest, AnyAddressIsSafeAndLinear) {
  // Long addresses that the old std::regex recursion died on: a district marker, then a megabyte
  // without any suffix (the non-greedy scan runs to the end), and a megabyte of suffix-free text.
  std::string district = "浙江省杭州市西湖区";
  for (size_t size : {size_t{50000}, size_t{1} << 20}) {
    std::string no_suffix = district + std::string(size, 'x');
    const auto t0 = std::chrono::steady_clock::now();
    auto name = ExtractRegionName(no_suffix);
    ASSERT_TRUE(name.ok()) << name.status().ToString();
    EXPECT_EQ(*name, no_suffix);
    std::string late_suffix = no_suffix + "路1号";
    EXPECT_EQ(*ExtractRegionName(late_suffix), no_suffix + "路");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << size;
  }
  // A pattern that backtracking engines take exponential time on, over a long subject.
  EXPECT_EQ(*ExtractRegionName(std::string(100000, 'a'), "^(a*)*b"), std::string(100000, 'a'));
  // Invalid UTF-8 is not a crash either (the API's JSON never carries it, a file might).
  EXPECT_TRUE(ExtractRegionName(std::string("\xff\xfe" "区" "\xc3" "路")).ok());
}

TEST(RegionNameTest, PatternsAreCheckedAndBounded) {
  EXPECT_TRUE(CheckRegionPattern(kDefaultRegionPattern).ok());
  EXPECT_EQ(CheckRegionPattern("(").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRegionPattern("(a)\\1").code(), StatusCode::kInvalidArgument);  // no backreferences
  EXPECT_EQ(CheckRegionPattern(std::string(kMaxRegionPatternBytes + 1, 'a')).code(), StatusCode::kInvalidArgument);
}

// The names the default pattern gives allocate the documented sub-periods (docs/relay.md §1).
TEST(RegionNameTest, DefaultNamesAllocateTheDocumentedSubPeriods) {
  EXPECT_EQ(meter::AllocateSlots(*ExtractRegionName("浙江省杭州市西湖区文三路100号"), 72), (std::vector<int>{5, 50, 51, 54}));
  EXPECT_EQ(meter::AllocateSlots(*ExtractRegionName("北京市朝阳区建国路88号"), 72), (std::vector<int>{1, 25, 55, 61}));
}

}  // namespace
}  // namespace mh::relay
