#include "meter/key_delivery.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

struct CountingRandom final : RandomSource {
  Status Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next++;
    return Status::Ok();
  }
  uint8_t next = 1;
};

std::vector<RegionKey> TwoKeys() {
  RegionKey current{2, {}}, previous{1, {}};
  current.key.fill(0xAA);
  previous.key.fill(0x55);
  return {current, previous};
}

TEST(KeyDeliveryTest, RoundTripKeepsOrderAndIds) {
  const crypto::Bytes device(32, 7);
  CountingRandom random;
  auto sealed = SealRegionKeys(device, "M1", TwoKeys(), random);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->size(), 12u + 1 + 2 * 33 + 16);
  auto keys = OpenRegionKeys(device, "M1", *sealed);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].id, 2);
  EXPECT_EQ((*keys)[0].key[31], 0xAA);
  EXPECT_EQ((*keys)[1].id, 1);
  EXPECT_EQ((*keys)[1].key[0], 0x55);
}

TEST(KeyDeliveryTest, AnotherMetersKeyOrIdOrAlteredBytesDoNotOpen) {
  const crypto::Bytes device(32, 7);
  CountingRandom random;
  const crypto::Bytes sealed = *SealRegionKeys(device, "M1", TwoKeys(), random);
  EXPECT_EQ(OpenRegionKeys(crypto::Bytes(32, 8), "M1", sealed).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenRegionKeys(device, "M2", sealed).status().code(), StatusCode::kUnauthenticated);
  crypto::Bytes altered = sealed;
  altered[20] ^= 1;
  EXPECT_EQ(OpenRegionKeys(device, "M1", altered).status().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(OpenRegionKeys(device, "M1", std::span(sealed).first(10)).ok());
}

TEST(KeyDeliveryTest, RejectsNoKeysAndIdZero) {
  CountingRandom random;
  EXPECT_FALSE(SealRegionKeys(crypto::Bytes(32, 7), "M1", {}, random).ok());
  EXPECT_FALSE(SealRegionKeys(crypto::Bytes(32, 7), "M1", {RegionKey{0, {}}}, random).ok());
}

}  // namespace
}  // namespace mh::meter
