// The dynamic segment's text form: the seed's example line, labels, round trip, and the parser's
// file:line errors.
#include "meter/audit/dynamic_segment.h"

#include <gtest/gtest.h>

namespace mh::meter::audit {
namespace {

constexpr char kSeedSegment[] =
    "mh-dynamic 1\n"
    "meter M1\n"
    "cycle 2026-11-20 D=3 tz=0 next=3 labels=1,1\n"
    "W1 2026-11-20 expect=0 [7200,10800] [18000,25200] #4\n"
    "W2 2026-11-21 expect=0 [S0,E28800] #2\n";

TEST(DynamicSegmentTest, SeedExampleRoundTrip) {
  auto s = ParseDynamicSegment(kSeedSegment);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->meter_id, "M1");
  EXPECT_EQ(s->cycle, (Cycle{20777, 3, 0}));
  ASSERT_EQ(s->lines.size(), 2u);
  EXPECT_EQ(s->lines[0].pairs, (std::vector<SlotPair>{{7200, 10800, false, false}, {18000, 25200, false, false}}));
  EXPECT_EQ(s->lines[0].suffix, 4);
  EXPECT_EQ(s->lines[1].pairs, (std::vector<SlotPair>{{0, 28800, true, true}}));
  EXPECT_EQ(s->LineOf(2), &s->lines[1]);
  EXPECT_EQ(s->LineOf(3), nullptr);
  EXPECT_EQ(FormatDynamicSegment(*s), kSeedSegment);
}

TEST(DynamicSegmentTest, SuffixMismatchIsLeftToTheAudit) {
  auto s = ParseDynamicSegment(
      "mh-dynamic 1\nmeter M1\ncycle 2026-11-20 D=3 tz=0 next=3 labels=0,0\nW1 2026-11-20 expect=4 #4\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->lines[0].pairs.empty());
  EXPECT_EQ(s->lines[0].suffix, 4);
  EXPECT_EQ(s->lines[0].expect, 4);
}

TEST(DynamicSegmentTest, RejectsMalformedInput) {
  const std::string head = "mh-dynamic 1\nmeter M1\ncycle 2026-11-20 D=3 tz=0 next=3 labels=0,0\n";
  auto e = [](const std::string& text) { return ParseDynamicSegment(text, "DYN.txt").status().message(); };
  EXPECT_EQ(e("mh-dynamic 2\n"), "DYN.txt:1: first line must be 'mh-dynamic 1'");
  EXPECT_EQ(e("mh-dynamic 1\nmeter M1\n"), "DYN.txt: no 'cycle' line");
  EXPECT_EQ(e("mh-dynamic 1\nmeter M/1\n"), "DYN.txt:2: meter id 'M/1' has a character outside [A-Za-z0-9_-]");
  EXPECT_EQ(e("mh-dynamic 1\nmeter M1\ncycle 2026-11-20 D=0 tz=0 next=3 labels=0,0\n"),
            "DYN.txt:3: D '0' is not an integer in [1, 366]");
  EXPECT_EQ(e(head + "W4 2026-11-23 expect=0 #0\n"), "DYN.txt:4: window 'W4' is not W1..W3");
  EXPECT_EQ(e(head + "W2 2026-11-20 expect=0 #0\n"), "DYN.txt:4: window 2 is monitored on 2026-11-21, not 2026-11-20");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [7200,10800]\n"),
            "DYN.txt:4: the line must end with the suffix '#<slot count>', got '[7200,10800]'");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [7200,30000] #2\n"),
            "DYN.txt:4: slot pair 1 '[7200,30000]' is not within 0 <= start <= end <= 28800");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [7200,10800] [9000,9500] #4\n"),
            "DYN.txt:4: slot pair 2 overlaps or precedes the previous pair");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [S5,10800] #2\n"),
            "DYN.txt:4: slot pair 1: a start label only at slot 0 (the window start)");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [5,E100] #2\n"),
            "DYN.txt:4: slot pair 1: an end label only at slot 28800 (the window end)");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 [2h,3h] #2\n"),
            "DYN.txt:4: slot pair '[2h,3h]' has a slot that is not whole seconds");
  EXPECT_EQ(e(head + "W1 2026-11-20 expect=0 #0\nW1 2026-11-20 expect=0 #0\n"), "DYN.txt:5: second line for window 1");
  EXPECT_EQ(e(head + "slots 3\n"), "DYN.txt:4: unknown line 'slots' (want meter, cycle or W<n>)");
}

}  // namespace
}  // namespace mh::meter::audit
