#include "relay/head_end.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace mh::relay {
namespace {

class MapKeys final : public DeviceKeys {
 public:
  std::optional<std::vector<uint8_t>> DeviceKey(const std::string& meter_id) const override {
    auto it = keys.find(meter_id);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, std::vector<uint8_t>> keys;
};

Reading R(const std::string& id, int64_t ts, double v) {
  Reading r;
  r.meter_id = id;
  r.ts = ts;
  r.value = v;
  return r;
}

ForwardedBatch Signed(const meter::RelayBatch& b, const std::vector<uint8_t>& key, const std::string& relay) {
  auto tag = meter::SignBatch(b, key);
  EXPECT_TRUE(tag.ok());
  return {b, std::vector<uint8_t>(tag->begin(), tag->end()), relay};
}

class HeadEndTest : public ::testing::Test {
 protected:
  void SetUp() override { keys_.keys["E1"] = std::vector<uint8_t>(32, 0x11); }
  MapKeys keys_;
  HeadEnd head_{&keys_};
};

TEST_F(HeadEndTest, TargetPerRegionFromTheReports) {
  head_.Report("440305001", {"A", 7, 2});
  head_.Report("440305001", {"B", 7, 1});
  head_.Report("440305001", {"A", 20, 0});
  head_.Report("440305001", {"B", 20, 2});
  head_.Report("440305002", {"C", 3, 3});
  EXPECT_EQ(head_.Target("440305001"), 20);  // 1.0 < 1.5
  EXPECT_EQ(head_.Target("440305002"), 3);
  EXPECT_FALSE(head_.Target("999999999").has_value());
  head_.Report("440305001", {"B", 7, 0});     // B's newer report for 7: mean 1.0, ties → 7
  EXPECT_EQ(head_.Target("440305001"), 7);
  EXPECT_DOUBLE_EQ(head_.Levels("440305001").at(7), 1.0);
}

TEST_F(HeadEndTest, KeysRotateWithIdsAndKeepThePrevious) {
  EXPECT_TRUE(head_.Keys("R").empty());
  auto k1 = head_.RotateKey("R");
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->id, 1);
  auto k2 = head_.RotateKey("R");
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(k2->id, 2);
  EXPECT_NE(k1->key, k2->key);
  auto keys = head_.Keys("R");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, 2);
  EXPECT_EQ(keys[1].id, 1);
  ASSERT_TRUE(head_.RotateKey("R").ok());
  EXPECT_EQ(head_.Keys("R").back().id, 2);  // the oldest is retired
}

TEST_F(HeadEndTest, KeyIdsWrapAndSkipZero) {
  for (int i = 0; i < 255; ++i) ASSERT_TRUE(head_.RotateKey("W").ok());
  EXPECT_EQ(head_.Keys("W").front().id, 255);
  ASSERT_TRUE(head_.RotateKey("W").ok());
  EXPECT_EQ(head_.Keys("W").front().id, 1);
}

// The same batch through two relays is accepted once; an altered or invented one never.
TEST_F(HeadEndTest, AcceptsAVerifiedBatchOnce) {
  meter::RelayBatch b{"E1", 7, {R("E1", 1603983600, 203.5), R("E1", 1603984500, 204.0)}};
  auto via_a = Signed(b, keys_.keys["E1"], "E2");
  auto via_b = via_a;
  via_b.relay_meter_id = "E3";
  EXPECT_EQ(head_.Accept(via_a).value(), true);
  EXPECT_EQ(head_.Accept(via_b).value(), false);

  auto altered = via_a;
  altered.batch.readings[1].value = 150.0;  // a relay lowering a neighbour's bill
  auto r = head_.Accept(altered);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);

  meter::RelayBatch invented{"E1", 7, {R("E1", 1603990000, 1.0)}};
  auto forged = Signed(invented, std::vector<uint8_t>(32, 0x22), "E2");  // not E1's key
  EXPECT_EQ(head_.Accept(forged).status().code(), StatusCode::kUnauthenticated);

  meter::RelayBatch stranger{"X9", 7, {R("X9", 1603983600, 1.0)}};
  EXPECT_EQ(head_.Accept(Signed(stranger, keys_.keys["E1"], "E2")).status().code(), StatusCode::kNotFound);

  RelayStats s = head_.stats();
  EXPECT_EQ(s.accepted, 1);
  EXPECT_EQ(s.duplicates, 1);
  EXPECT_EQ(s.rejected, 2);
  EXPECT_EQ(s.unknown_origin, 1);
  EXPECT_EQ(s.readings, 2);
}

TEST(HeadEndMemory, ForgetsTheOldestBatchBeyondItsBound) {
  MapKeys keys;
  keys.keys["E1"] = std::vector<uint8_t>(32, 0x11);
  HeadEnd head(&keys, /*remembered_batches=*/2);
  std::vector<ForwardedBatch> batches;
  for (int i = 0; i < 3; ++i)
    batches.push_back(Signed({"E1", 1, {R("E1", 1603983600 + 900 * i, 1.0 + i)}}, keys.keys["E1"], "E2"));
  for (const auto& b : batches) EXPECT_TRUE(head.Accept(b).value());
  EXPECT_FALSE(head.Accept(batches[2]).value());  // still remembered
  EXPECT_TRUE(head.Accept(batches[0]).value());   // forgotten: the store's upserts dedupe it
}

}  // namespace
}  // namespace mh::relay
