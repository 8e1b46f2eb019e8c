#include "water/meter_maintenance.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  // Sent at once: the precision gate would hold the first, curvature-biased line back (its robust
  // se(a1) is large) and find the curve in the pooled windows before sending anything — the
  // test below, ImpreciseFitIsDeferredAndPooled; here the refit path is under test.
  CaseOptions options;
  options.max_deferred_windows = 0;
  MeterMaintenance platform(Entry(), {}, options);
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

// The state survives SaveState → RestoreState in a fresh object: the ack of the command issued
// before is accepted by the restored one, and the next window closes the case.
TEST(MeterMaintenance, StateSurvivesSaveAndRestore) {
  const Correction fault = Correction::Linear(1.06, 0.003);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  platform.OnWindow(0, Window(0, 0.1, 1.5, 60, fault, terminal), 21600, &out);
  ASSERT_EQ(out.commands.size(), 1u);
  const std::string saved = platform.SaveState();

  MeterMaintenance restored(Entry());
  ASSERT_TRUE(restored.RestoreState(saved).ok());
  EXPECT_EQ(restored.SaveState(), saved);
  ASSERT_TRUE(restored.current_case().has_value());
  EXPECT_EQ(restored.current_case()->state(), MaintenanceCase::State::kCommandIssued);
  EXPECT_EQ(restored.current_case()->current_command().command_id, out.commands[0].command_id);
  ASSERT_TRUE(restored.OnAck(*terminal.Apply(out.commands[0], 21600), 21600, &out).ok());
  restored.OnWindow(21600, Window(21600, 0.1, 1.5, 60, fault, terminal), 43200, &out);
  EXPECT_EQ(restored.current_case()->state(), MaintenanceCase::State::kClosed);
  EXPECT_EQ(restored.cases_opened(), 1);
  // The history after a restore holds what happened since (the store keeps the rest).
  EXPECT_EQ(restored.History().front().event, "acknowledged");
  EXPECT_EQ(restored.History().back().event, "closed");

  // Every state round-trips, including the pools of an acknowledged case.
  MeterMaintenance again(Entry());
  ASSERT_TRUE(again.RestoreState(restored.SaveState()).ok());
  EXPECT_EQ(again.SaveState(), restored.SaveState());
}

TEST(MeterMaintenance, RestoreRefusesABadState) {
  MeterMaintenance platform(Entry());
  EXPECT_EQ(platform.RestoreState("not json").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(platform.RestoreState("{}").code(), StatusCode::kInvalidArgument);
  std::string good = MeterMaintenance(Entry()).SaveState();
  ASSERT_TRUE(platform.RestoreState(good).ok());
  std::string bad = good;
  bad.replace(bad.find("\"cases\":0"), 9, "\"cases\":\"x\"");
  Status s = platform.RestoreState(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

// A low-use window: the slope rests on a few noisy flowing minutes, so the parameters are not sent;
// the case pools the next windows and sends the pooled fit once it is precise.
TEST(MeterMaintenance, ImpreciseFitIsDeferredAndPooled) {
  const Correction fault = Correction::Linear(1.05, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  uint32_t seed = 12345;
  auto noise = [&] {  // deterministic, roughly N(0, 0.003)
    double u = 0;
    for (int k = 0; k < 12; ++k) {
      seed = seed * 1664525u + 1013904223u;
      u += (seed >> 8) / 16777216.0;
    }
    return 0.003 * (u - 6);
  };
  auto window = [&](int64_t start, int flowing) {
    std::vector<FlowPair> p;
    for (int i = 0; i < 360; ++i) {
      const double q = i < flowing ? 0.4 + 0.05 * (i % 5) : 0.0;
      p.push_back({start + i * 60, q + noise(), terminal.Report(fault.Forward(q) + noise())});
    }
    return p;
  };
  platform.OnWindow(0, window(0, 12), 21600, &out);
  ASSERT_TRUE(platform.current_case().has_value());
  EXPECT_EQ(platform.current_case()->state(), MaintenanceCase::State::kFitPending);
  EXPECT_TRUE(out.commands.empty());
  EXPECT_EQ(platform.History().back().event, "fit_deferred");
  // The state (with its pool) survives a restart while pending.
  MeterMaintenance restored(Entry());
  ASSERT_TRUE(restored.RestoreState(platform.SaveState()).ok());
  for (int w = 1; w <= 3 && out.commands.empty(); ++w) restored.OnWindow(w * 21600, window(w * 21600, 120), (w + 1) * 21600, &out);
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(restored.current_case()->state(), MaintenanceCase::State::kCommandIssued);
  EXPECT_NEAR(out.commands[0].correction.a1, 1.05, 0.002);
  std::vector<std::string> events;
  for (const auto& h : restored.History()) events.push_back(h.event);
  auto pooled = std::find(events.begin(), events.end(), "fit_pooled");
  ASSERT_NE(pooled, events.end()) << ::testing::PrintToString(events);
  EXPECT_EQ(*(pooled + 1), "command_issued");
}

// With the gate, a curved drift seen over a narrow range is held back and the pooled windows'
// curve goes out as the first command.
TEST(MeterMaintenance, GateHoldsACurvatureBiasedLineBack) {
  const Correction fault = Correction::Power(1.0, 1.15, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  platform.OnWindow(0, Window(0, 1.2, 1.5, 60, fault, terminal), 21600, &out);
  EXPECT_TRUE(out.commands.empty());
  platform.OnWindow(21600, Window(21600, 0.1, 0.4, 60, fault, terminal), 43200, &out);
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].correction.model, Correction::kPower);
  EXPECT_NEAR(out.commands[0].correction.b, 1.15, 1e-6);
}

// With deferral off (max_deferred_windows = 0) the same window sends at once.
TEST(MeterMaintenance, DeferralCanBeTurnedOff) {
  const Correction fault = Correction::Linear(1.05, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOptions options;
  options.max_deferred_windows = 0;
  MeterMaintenance platform(Entry(), {}, options);
  CaseOutputs out;
  std::vector<FlowPair> p;
  for (int i = 0; i < 360; ++i) {
    const double q = i < 12 ? 0.4 + 0.05 * (i % 5) : 0.0;
    p.push_back({i * 60, q + ((i * 7919) % 13 - 6) * 0.0005, terminal.Report(fault.Forward(q))});
  }
  platform.OnWindow(0, p, 21600, &out);
  EXPECT_EQ(out.commands.size(), 1u);
}

// A photo correction (SPEC 3.6) is its own history event, not a fake site visit, and leaves a case
// under way in place.
TEST(MeterMaintenance, ExternalCorrectionIsRecordedInOrder) {
  const Correction fault = Correction::Linear(1.06, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  MeterMaintenance platform(Entry());
  CaseOutputs out;
  platform.OnExternalCorrection(100, Correction::Linear(1.01, 0), "photo-1");
  EXPECT_EQ(platform.History().back().event, "photo_correction_applied");
  EXPECT_NEAR(platform.applied().a1, 1.01, 1e-12);
  platform.OnWindow(21600, Window(21600, 0.1, 1.5, 60, fault, terminal), 43200, &out);
  ASSERT_EQ(out.commands.size(), 1u);
  platform.OnExternalCorrection(43300, Correction::Linear(1.02, 0), "photo-2");
  ASSERT_TRUE(platform.current_case().has_value());
  EXPECT_EQ(platform.current_case()->state(), MaintenanceCase::State::kCommandIssued);
  std::vector<std::string> events;
  for (const auto& h : platform.History()) events.push_back(h.event);
  EXPECT_EQ(events.front(), "photo_correction_applied");
  EXPECT_EQ(events.back(), "photo_correction_applied");
  EXPECT_EQ(std::count(events.begin(), events.end(), "site_visit_done"), 0);
  EXPECT_EQ(std::count(events.begin(), events.end(), "detected"), 1);
}

}  // namespace
}  // namespace mh::water
