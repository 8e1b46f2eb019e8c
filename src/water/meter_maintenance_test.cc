#include "water/meter_maintenance.h"

#include <gtest/gtest.h>

#include <cmath>

#include "meter/water/self_maintenance.h"

namespace mh::water {
namespace {

using meter::water::TerminalSelfMaintenance;

PairingEntry Entry() { return {FeatureCodeOf("WT-7"), "WT-7", "FM-7", "13800000007"}; }

// One window whose true flows sweep [lo, hi] (n samples), through `fault` and the terminal.
std::vector<FlowPair> Window(int64_t start, double lo, double hi, int n, const Correction& fault,
                             const TerminalSelfMaintenance& t) {
  std::vector<FlowPair> p;
  for (int i = 0; i < n; ++i) {
    const double q = lo + (hi - lo) * i / (n - 1);
    p.push_back({start + i * 60, q, t.Report(fault.Forward(q))});
  }
  return p;
}

// A curved drift seen first over a narrow flow range: the first correction is a local line; the
// next window, at other flows, is still off; the refit pools both windows' raw flow, finds the
// curve, and the window after that verifies.
TEST(MeterMaintenance, RefitPoolsWindowsAndFindsTheCurve) {
  const Correction fault = Correction::Power(1.0, 1.15, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  auto step = [&](int64_t start, double lo, double hi) {
    const size_t before = out.commands.size();
    platform.OnWindow(start, Window(start, lo, hi, 60, fault, terminal), start + 21600, &out);
    for (size_t k = before; k < out.commands.size(); ++k) {
      ASSERT_TRUE(platform.OnAck(*terminal.Apply(out.commands[k], start + 21600), start + 21600, &out).ok());
    }
  };
  step(0, 1.2, 1.5);
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].correction.model, Correction::kLinear);
  step(21600, 0.1, 0.4);
  ASSERT_EQ(out.commands.size(), 2u);
  EXPECT_EQ(out.commands[1].correction.model, Correction::kPower);
  EXPECT_NEAR(out.commands[1].correction.b, 1.15, 1e-6);
  step(43200, 0.1, 1.5);
  ASSERT_TRUE(platform.current_case().has_value());
  EXPECT_EQ(platform.current_case()->state(), MaintenanceCase::State::kClosed);
  EXPECT_TRUE(out.work_orders.empty());
}

// Low use: each window has 4 flowing pairs; verification pools windows until 10.
TEST(MeterMaintenance, VerificationPoolsLowUseWindows) {
  const Correction fault = Correction::Linear(1.08, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  platform.OnWindow(0, Window(0, 0.1, 1.5, 60, fault, terminal), 21600, &out);
  ASSERT_EQ(out.commands.size(), 1u);
  ASSERT_TRUE(platform.OnAck(*terminal.Apply(out.commands[0], 21600), 21600, &out).ok());
  for (int w = 1; w <= 3; ++w) {
    std::vector<FlowPair> p;
    for (int i = 0; i < 60; ++i) {
      const double q = i < 4 ? 0.3 + 0.2 * i : 0.0;
      p.push_back({w * 21600 + i * 60, q, terminal.Report(fault.Forward(q))});
    }
    platform.OnWindow(w * 21600, p, (w + 1) * 21600, &out);
    EXPECT_EQ(platform.current_case()->state(),
              w < 3 ? MaintenanceCase::State::kAcknowledged : MaintenanceCase::State::kClosed) << w;
  }
  const auto h = platform.History();
  EXPECT_EQ(h.back().event, "closed");
  EXPECT_EQ(platform.cases_opened(), 1);
}

TEST(MeterMaintenance, AckWithoutCaseIsRefused) {
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  EXPECT_EQ(platform.OnAck({"x", Entry().feature_code, 0}, 0, &out).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mh::water
