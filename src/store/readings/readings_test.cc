// The packed block format and the in-memory recent changes the stores keep in front of it.
#include <gtest/gtest.h>

#include "store/readings/block_codec.h"
#include "store/readings/recent_readings.h"

namespace mh::store::readings {
namespace {

Entry E(int64_t ts, double v, double c = 0) {
  Entry e;
  e.ts = ts;
  e.value = v;
  e.consumption = c;
  return e;
}

TEST(BlockCodec, RoundTripsEveryField) {
  std::vector<Entry> in;
  for (int i = 0; i < 96; ++i) {
    Entry e = E(1700000000 + 900 * i, 1234.567 + i * 0.25, i ? 0.25 : 0);
    e.source = static_cast<uint32_t>(i % 3);
    e.quality = static_cast<uint32_t>(i % 2);
    e.version = 1 + (i == 7);
    e.flags = i == 9 ? kEstimated : 0;
    in.push_back(e);
  }
  std::string bytes = EncodeBlock(in);
  EXPECT_LT(bytes.size(), 96u * 24);  // ~21 bytes a reading
  std::vector<Entry> out;
  ASSERT_TRUE(DecodeBlock(bytes, &out).ok());
  EXPECT_EQ(out, in);
}

TEST(BlockCodec, NegativeAndDecreasingDeltasSurvive) {
  std::vector<Entry> in = {E(-86400, 1), E(-1, 2), E(0, 3), E(1LL << 40, 4)};
  std::vector<Entry> out;
  ASSERT_TRUE(DecodeBlock(EncodeBlock(in), &out).ok());
  EXPECT_EQ(out, in);
  EXPECT_EQ(BlockDay(-1), -1);
  EXPECT_EQ(BlockDay(0), 0);
  EXPECT_EQ(BlockDay(86399), 0);
  EXPECT_EQ(BlockDay(86400), 1);
}

TEST(BlockCodec, DamageIsAnErrorNamingTheOffset) {
  std::string bytes = EncodeBlock(std::vector<Entry>{E(100, 1), E(200, 2)});
  std::vector<Entry> out;
  Status cut = DecodeBlock(bytes.substr(0, bytes.size() - 3), &out);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.message().find("byte "), std::string::npos) << cut.message();
  out.clear();
  EXPECT_FALSE(DecodeBlock(bytes + "x", &out).ok());
  out.clear();
  std::string wrong = bytes;
  wrong[0] = 9;
  EXPECT_FALSE(DecodeBlock(wrong, &out).ok());
}

TEST(RecentReadings, KeepsTsOrderAndReplacesTheSameTs) {
  RecentReadings r;
  SeriesKey k{"M1", 0};
  r.Apply(k, {.entry = E(300, 3), .seq = 1});
  r.Apply(k, {.entry = E(100, 1), .seq = 2});
  r.Apply(k, {.entry = E(200, 2), .seq = 3});
  r.Apply(k, {.entry = E(200, 2.5), .seq = 4});
  EXPECT_EQ(r.changes(), 3u);
  EXPECT_EQ(r.max_seq(), 4u);
  auto all = r.Range(k, 0, 1000);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].entry.value, 2.5);
  EXPECT_EQ(r.Range(k, 150, 250).size(), 1u);
  EXPECT_EQ(r.Range({"M2", 0}, 0, 1000).size(), 0u);
  EXPECT_EQ(r.LastAtOrBefore(k, 250)->entry.ts, 200);
  EXPECT_EQ(r.LastAtOrBefore(k, 99), nullptr);
  EXPECT_EQ(r.FirstAtOrAfter(k, 201)->entry.ts, 300);
  EXPECT_EQ(r.FirstAtOrAfter(k, 301), nullptr);
}

TEST(RecentReadings, MergeReplacesAndRemovesPackedEntries) {
  std::vector<Entry> packed = {E(100, 1), E(200, 2), E(300, 3)};
  std::vector<Change> changes = {{.entry = E(150, 1.5), .seq = 1},
                                 {.entry = E(200, 2.2), .seq = 2},
                                 {.entry = E(300, 0), .seq = 3, .remove = true},
                                 {.entry = E(400, 4), .seq = 4}};
  std::vector<Entry> merged = Merge(packed, changes);
  ASSERT_EQ(merged.size(), 4u);
  EXPECT_EQ(merged[0].ts, 100);
  EXPECT_EQ(merged[1].ts, 150);
  EXPECT_EQ(merged[2].value, 2.2);
  EXPECT_EQ(merged[3].ts, 400);
}

TEST(RecentReadings, SortedWalksSeriesInKeyOrder) {
  RecentReadings r;
  r.Apply({"B", 0}, {.entry = E(1, 1), .seq = 1});
  r.Apply({"A", 1}, {.entry = E(1, 1), .seq = 2});
  r.Apply({"A", 0}, {.entry = E(1, 1), .seq = 3});
  auto s = r.Sorted();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].first->meter_id, "A");
  EXPECT_EQ(s[0].first->channel, 0u);
  EXPECT_EQ(s[1].first->channel, 1u);
  EXPECT_EQ(s[2].first->meter_id, "B");
  r.Clear();
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace mh::store::readings
