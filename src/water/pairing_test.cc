#include "water/pairing.h"

#include <gtest/gtest.h>

#include "water/precheck.h"

namespace mh::water {
namespace {

using codec::WaterDeviceKind;
using codec::WaterFrame;

WaterFrame Frame(WaterDeviceKind kind, const std::string& code, const std::string& id, int64_t start,
                 std::vector<int32_t> samples, uint32_t interval = 60) {
  WaterFrame f;
  f.kind = kind;
  f.feature_code = code;
  f.device_id = id;
  f.start = start;
  f.interval_s = interval;
  f.samples = std::move(samples);
  return f;
}

TEST(FeatureCode, IsSha256PrefixOfTerminalId) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…
  EXPECT_EQ(FeatureCodeOf("abc"), "ba7816bf8f01cfea");
  EXPECT_TRUE(IsValidFeatureCode("ba7816bf8f01cfea"));
  EXPECT_FALSE(IsValidFeatureCode("BA7816BF8F01CFEA"));
}

TEST(PairingTable, ValidatesAndLooksUp) {
  PairingTable t;
  ASSERT_TRUE(t.Add("WT-1", "FM-1", "+8613800000001").ok());
  EXPECT_EQ(t.Add("WT-1", "FM-2", "").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(t.Add("WT-2", "FM-1", "").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(t.Add("WT 3", "FM-3", "").message(), "terminal id 'WT 3' is not 1-32 chars [A-Za-z0-9_-]");
  EXPECT_EQ(t.Add("WT-3", "FM-3", "12ab").message(), "phone '12ab' is not +digits (6-15)");
  EXPECT_EQ(t.Add("WT-3", "WT-3", "").message(), "terminal and flowmeter share the id 'WT-3'");
  ASSERT_EQ(t.size(), 1u);
  const PairingEntry* e = t.ByFeatureCode(FeatureCodeOf("WT-1"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->flowmeter_id, "FM-1");
  EXPECT_EQ(e->phone, "+8613800000001");
  EXPECT_EQ(t.ByFlowmeter("FM-1"), e);
  EXPECT_EQ(t.ByTerminal("WT-1"), e);
  ASSERT_TRUE(t.BindPhone("WT-1", "13900000002").ok());
  EXPECT_EQ(e->phone, "13900000002");
  EXPECT_EQ(t.BindPhone("WT-9", "").code(), StatusCode::kNotFound);
}

TEST(PairFrames, MatchesByFeatureCodeAndTimestamp) {
  PairingTable t;
  ASSERT_TRUE(t.Add("WT-1", "FM-1", "").ok());
  ASSERT_TRUE(t.Add("WT-2", "FM-2", "").ok());
  const std::string c1 = FeatureCodeOf("WT-1"), c2 = FeatureCodeOf("WT-2");
  std::vector<WaterFrame> frames = {
      Frame(WaterDeviceKind::kTerminal, c1, "WT-1", 600, {110, 220, codec::kWaterMissingSample}),
      Frame(WaterDeviceKind::kFlowmeter, c1, "FM-1", 600, {100, 200, 300, 400}),
      // Terminal 2's samples sit 30 s off the flowmeter's: with tolerance 0 nothing lines up.
      Frame(WaterDeviceKind::kFlowmeter, c2, "FM-2", 600, {100, 100}),
      Frame(WaterDeviceKind::kTerminal, c2, "WT-2", 630, {100, 100}),
      // Wrong device for the code, and an unknown code.
      Frame(WaterDeviceKind::kFlowmeter, c1, "FM-2", 600, {1}),
      Frame(WaterDeviceKind::kFlowmeter, "00000000000000ff", "FM-9", 600, {1}),
  };
  frames[1].relayed = true;
  const PairingResult r = PairFrames(t, frames, 0);
  ASSERT_EQ(r.pairs.size(), 1u);
  const auto& p = r.pairs.at(c1);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].t, 600);
  EXPECT_DOUBLE_EQ(p[0].q1, 0.1);
  EXPECT_DOUBLE_EQ(p[0].q2, 0.11);
  EXPECT_EQ(p[1].t, 660);
  EXPECT_EQ(r.missing, 1u);
  EXPECT_EQ(r.unmatched_flowmeter, 2u + 2u);
  EXPECT_EQ(r.unmatched_terminal, 2u);
  ASSERT_EQ(r.rejected_frames.size(), 2u);
  EXPECT_EQ(r.rejected_frames[0], "frame 4 (flowmeter FM-2): feature code " + c1 + " pairs flowmeter FM-1");
  EXPECT_EQ(r.rejected_frames[1], "frame 5 (flowmeter FM-9): feature code 00000000000000ff is not in the pairing table");
}

// The platform path end to end: frames encoded by the devices, decoded, paired, pre-checked.
TEST(PairFrames, EncodedFramesToVerdict) {
  PairingTable t;
  ASSERT_TRUE(t.Add("WT-1", "FM-1", "").ok());
  const std::string code = FeatureCodeOf("WT-1");
  WaterFrame fm = Frame(WaterDeviceKind::kFlowmeter, code, "FM-1", 0, {});
  WaterFrame wt = Frame(WaterDeviceKind::kTerminal, code, "WT-1", 0, {});
  fm.relayed = true;
  for (int i = 0; i < 360; ++i) {
    const double q = (i / 30) % 2 ? 0.6 : 0.0;  // half-hour spells of 0.6 m³/h
    ASSERT_TRUE(fm.AppendFlow(q).ok());
    ASSERT_TRUE(wt.AppendFlow(1.05 * q + 0.02).ok());
  }
  std::vector<WaterFrame> decoded;
  for (const WaterFrame& f : {fm, wt}) {
    auto bytes = codec::EncodeWaterFrame(f);
    ASSERT_TRUE(bytes.ok());
    EXPECT_LT(bytes->size(), 200u);  // 12 runs each, not 360 samples
    auto back = codec::DecodeWaterFrame(*bytes);
    ASSERT_TRUE(back.ok()) << back.status().message();
    decoded.push_back(*back);
  }
  const PairingResult r = PairFrames(t, decoded);
  ASSERT_EQ(r.pairs.at(code).size(), 360u);
  const PreCheckResult pc = PreCheck(r.pairs.at(code));
  EXPECT_EQ(pc.verdict, Verdict::kSteady);
  EXPECT_NEAR(pc.mapping.linear.a1, 1.05, 1e-9);
  EXPECT_NEAR(pc.mapping.linear.a2, 0.02, 1e-9);
}

// Clocks drift (issue 17 item 3): the flowmeter's clock runs 20 s behind the terminal's. With the
// default tolerance (half the 60 s interval) every sample still pairs and the fit is the true one;
// with tolerance 0 nothing pairs.
TEST(PairFrames, SkewedClocksPairWithinHalfTheInterval) {
  PairingTable t;
  ASSERT_TRUE(t.Add("WT-1", "FM-1", "").ok());
  const std::string code = FeatureCodeOf("WT-1");
  WaterFrame fm = Frame(WaterDeviceKind::kFlowmeter, code, "FM-1", 21600 - 20, {});
  WaterFrame wt = Frame(WaterDeviceKind::kTerminal, code, "WT-1", 21600, {});
  for (int i = 0; i < 360; ++i) {
    const double q = 0.1 + 0.05 * (i % 17);
    ASSERT_TRUE(fm.AppendFlow(q).ok());
    ASSERT_TRUE(wt.AppendFlow(1.04 * q + 0.01).ok());
  }
  const PairingResult r = PairFrames(t, {fm, wt});
  ASSERT_EQ(r.pairs.at(code).size(), 360u);
  EXPECT_EQ(r.unmatched_flowmeter + r.unmatched_terminal, 0u);
  EXPECT_EQ(r.pairs.at(code).front().t, 21600);  // the terminal's instant
  const PreCheckResult pc = PreCheck(r.pairs.at(code));
  EXPECT_EQ(pc.verdict, Verdict::kSteady);
  EXPECT_NEAR(pc.mapping.linear.a1, 1.04, 1e-3);
  EXPECT_NEAR(pc.mapping.linear.a2, 0.01, 1e-3);
  EXPECT_TRUE(PairFrames(t, {fm, wt}, 0).pairs.empty());
}

TEST(MatchSamples, NearestOneToOneWithinTolerance) {
  const std::map<int64_t, double> fm = {{0, 1}, {50, 2}, {65, 3}, {200, 4}};
  const std::map<int64_t, double> term = {{10, 10}, {60, 20}, {120, 30}, {190, 40}};
  const auto p = MatchSamples(fm, term, 30);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].t, 10);
  EXPECT_EQ(p[0].q1, 1);
  EXPECT_EQ(p[1].t, 60);
  EXPECT_EQ(p[1].q1, 3);  // 65 is nearer than 50; 50 is then lost
  EXPECT_EQ(p[2].t, 190);
  EXPECT_EQ(p[2].q1, 4);  // 120 has nothing within 30 s
  EXPECT_EQ(PairTolerance(kHalfInterval, 60), 30);
  EXPECT_EQ(PairTolerance(5, 60), 5);
}

TEST(Windows, AlignedToUtcMidnight) {
  EXPECT_EQ(WindowStart(1700000000, 6 * 3600), 1699984800);  // 22:13:20Z → 2023-11-14T18:00:00Z
  EXPECT_EQ(WindowStart(-1, 21600), -21600);
  const auto w = SplitWindows({{0, 1, 1}, {21599, 1, 1}, {21600, 1, 1}}, 21600);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w.at(0).size(), 2u);
  EXPECT_EQ(w.at(21600).size(), 1u);
}

}  // namespace
}  // namespace mh::water
