// SPEC 2.4 exact vectors, computed with python3:
//   S = max(a, F) / (1 + math.exp(-(R - Rbar) / max(1, abs(L3 - L2)))), a = 3.
//   Scan (own region 330106001, L3 = 000123): accepted R = -50, -60, -40, -50 → Rbar = -50.
//   000120: F 5, R -50, d 3  → 5 / 2 = 2.5
//   000125: F 5, R -50, d 2  → 2.5 (tie with 000120, same R → lower position first)
//   000100: F 1, R -40, d 23 → 3 / (1 + e^(-10/23)) = 1.8210453932077417
//   000130: F 2, R -60, d 7  → 3 / (1 + e^(10/7))  = 0.5799641094069261
#include "meter/relay_score.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

std::vector<ScannedBeacon> Scan() {
  return {
      {"elecmeter_AP330106001000120", -50, 5},
      {"elecmeter_AP330106001000130", -60, 2},
      {"elecmeter_AP330106001000100", -40, 1},
      {"elecmeter_AP999999999000121", -30, 9},  // other region: ignored, not in Rbar
      {"other_ssid", -20, 9},
      {"elecmeter_AP330106001000125", -50, 5},
      {"elecmeter_AP33010600100012x", -50, 5},  // malformed position code: ignored
  };
}

TEST(SsidTest, MakeAndAccept) {
  EXPECT_EQ(*MakeRelaySsid("330106001", "000123"), "elecmeter_AP330106001000123");
  EXPECT_EQ(MakeRelaySsid("330106001", "000123")->size(), kRelaySsidLength);
  EXPECT_FALSE(MakeRelaySsid("33010600", "000123").ok());
  EXPECT_FALSE(MakeRelaySsid("330106001", "00012a").ok());
  EXPECT_TRUE(AcceptsBeacon("elecmeter_AP330106001000123", "330106001"));
  EXPECT_FALSE(AcceptsBeacon("elecmeter_AP330106002000123", "330106001"));
  EXPECT_FALSE(AcceptsBeacon("Elecmeter_AP330106001000123", "330106001"));
  EXPECT_FALSE(AcceptsBeacon("elecmeter_AP3301060010001234", "330106001"));
}

TEST(RelayScoreTest, Formula) {
  EXPECT_DOUBLE_EQ(RelayScore(-40, -50, 23, 1, 3), 1.8210453932077417);
  EXPECT_DOUBLE_EQ(RelayScore(-60, -50, -7, 2, 3), 0.5799641094069261);
  EXPECT_DOUBLE_EQ(RelayScore(-50, -50, 0, 0, 3), 1.5);  // |L3-L2| = 0 → divisor 1
  EXPECT_DOUBLE_EQ(RelayScore(-45, -50, 0, 4, 3), 3.973228596302861);
}

TEST(ChooseRelaysTest, ExactOrder) {
  auto r = ChooseRelays(Scan(), "330106001", "000123");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].ssid, "elecmeter_AP330106001000120");
  EXPECT_EQ((*r)[1].ssid, "elecmeter_AP330106001000125");
  EXPECT_EQ((*r)[2].ssid, "elecmeter_AP330106001000100");
  EXPECT_DOUBLE_EQ((*r)[0].score, 2.5);
  EXPECT_DOUBLE_EQ((*r)[2].score, 1.8210453932077417);
  EXPECT_EQ((*r)[2].position_code, "000100");

  ScoreOptions all;
  all.k = 10;
  auto a = ChooseRelays(Scan(), "330106001", "000123", all);
  ASSERT_EQ(a->size(), 4u);
  EXPECT_DOUBLE_EQ((*a)[3].score, 0.5799641094069261);
}

TEST(ChooseRelaysTest, EqualScoreAndRssiGoesToLowerPosition) {
  std::vector<ScannedBeacon> scan = {
      {"elecmeter_AP330106001000200", -50, 0},
      {"elecmeter_AP330106001000100", -50, 0},
  };
  auto r = ChooseRelays(scan, "330106001", "000150");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].position_code, "000100");  // equal S and R → lower position code
  EXPECT_DOUBLE_EQ((*r)[0].score, 1.5);
}

TEST(ChooseRelaysTest, EqualScoreGoesToHigherRssi) {
  // Far above the mean, 1 + exp(-(R - Rbar)) rounds to exactly 1.0, so both S = alpha = 3.
  std::vector<ScannedBeacon> scan = {
      {"elecmeter_AP330106001000149", 900, 0},
      {"elecmeter_AP330106001000151", 1000, 0},
      {"elecmeter_AP330106001000300", -1000, 0},
  };
  ScoreOptions o;
  o.k = 2;
  auto r = ChooseRelays(scan, "330106001", "000150", o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].score, 3.0);
  EXPECT_EQ((*r)[1].score, 3.0);
  EXPECT_EQ((*r)[0].position_code, "000151");
  EXPECT_EQ((*r)[1].position_code, "000149");
}

TEST(ChooseRelaysTest, EmptyAndBadInput) {
  EXPECT_TRUE(ChooseRelays({{"x", -1, 1}}, "330106001", "000123")->empty());
  EXPECT_FALSE(ChooseRelays(Scan(), "33010600", "000123").ok());
  EXPECT_FALSE(ChooseRelays(Scan(), "330106001", "123").ok());
  ScoreOptions o;
  o.k = -1;
  EXPECT_FALSE(ChooseRelays(Scan(), "330106001", "000123", o).ok());
}

}  // namespace
}  // namespace mh::meter
