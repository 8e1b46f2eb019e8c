#include "water/maintenance.h"

#include <gtest/gtest.h>

#include "meter/water/self_maintenance.h"

namespace mh::water {
namespace {

using meter::water::TerminalSelfMaintenance;

PairingEntry Entry() { return {FeatureCodeOf("WT-1"), "WT-1", "FM-1", "+8613800000001"}; }

// A window of true flows through a terminal with a fault `fault` and a correction applied.
std::vector<FlowPair> Reported(const Correction& fault, const TerminalSelfMaintenance& t) {
  std::vector<FlowPair> p;
  for (int i = 0; i < 60; ++i) {
    const double q = 0.1 + 1.4 * i / 59;
    p.push_back({i * 60, q, t.Report(fault.Forward(q))});
  }
  return p;
}

std::vector<std::string> Events(const MaintenanceCase& c) {
  std::vector<std::string> e;
  for (const auto& h : c.history()) e.push_back(h.event);
  return e;
}

TEST(MaintenanceCase, DetectedCorrectedVerifiedClosed) {
  const Correction fault = Correction::Linear(1.06, 0.02);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 100,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].command_id, Entry().feature_code + "-1-1");
  EXPECT_EQ(out.commands[0].expires_at, 100 + 6 * 3600);
  EXPECT_NEAR(out.commands[0].correction.a1, 1.06, 1e-9);
  EXPECT_NEAR(out.commands[0].correction.a2, 0.02, 1e-9);
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_EQ(out.notices[0].phone, "+8613800000001");
  EXPECT_EQ(out.notices[0].text, kSelfCheckNotice);

  auto ack = terminal.Apply(out.commands[0], 200);
  ASSERT_TRUE(ack.ok());
  ASSERT_TRUE(c->OnAck(*ack, 210, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kAcknowledged);
  // A window that began before the correction proves nothing.
  ASSERT_TRUE(c->OnWindow(CheckWindow(0, Reported(fault, terminal), c->applied()), 21600, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kAcknowledged);
  ASSERT_TRUE(c->OnWindow(CheckWindow(21600, Reported(fault, terminal), c->applied()), 43200, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kClosed);
  EXPECT_EQ(Events(*c), (std::vector<std::string>{"detected", "command_issued", "notified", "acknowledged",
                                                  "window_ignored", "verified_clean", "closed"}));
  EXPECT_TRUE(out.work_orders.empty());
}

// Issue 17 item 1: the customer's photo comparison during the case verifies or corrects it.
TEST(MaintenanceCase, PhotoComparisonVerifiesOrCorrectsTheCase) {
  const Correction fault = Correction::Linear(1.06, 0.02);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 100,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  const Correction sent = out.commands[0].correction;
  EXPECT_NEAR(out.notices[0].correction.a1, 1.06, 1e-9);  // the notice carries the parameters
  // Before the ack the parameters are not in force: noted only.
  EXPECT_EQ(c->OnPhoto(false, sent, "photos", 150, &out), "awaiting_ack");
  EXPECT_EQ(c->state(), MaintenanceCase::State::kCommandIssued);
  auto ack = terminal.Apply(out.commands[0], 200);
  ASSERT_TRUE(c->OnAck(*ack, 210, &out).ok());
  // Off by 3 %: the photo's correction is sent as the case's refit, with a new notice.
  out = {};
  const Correction photo = Correction::Linear(sent.a1 * 1.03, sent.a2);
  EXPECT_EQ(c->OnPhoto(false, photo, "photos 1000 → 1103", 900, &out), "corrected");
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].command_id, Entry().feature_code + "-1-2");
  EXPECT_NEAR(out.commands[0].correction.a1, 1.06 * 1.03, 1e-9);
  ASSERT_EQ(out.notices.size(), 1u);
  EXPECT_EQ(c->state(), MaintenanceCase::State::kCommandIssued);
  ack = terminal.Apply(out.commands[0], 1000);
  ASSERT_TRUE(c->OnAck(*ack, 1000, &out).ok());
  // Within tolerance now: verified by the photos, the case closes.
  EXPECT_EQ(c->OnPhoto(true, c->applied(), "photos 1103 → 1204", 2000, &out), "verified");
  EXPECT_EQ(c->state(), MaintenanceCase::State::kClosed);
  EXPECT_EQ(Events(*c), (std::vector<std::string>{"detected", "command_issued", "notified", "photo_noted", "acknowledged",
                                                  "photo_refit", "command_issued", "notified", "acknowledged",
                                                  "verified_by_photo", "closed"}));
}

TEST(MaintenanceCase, PhotoStillOffAfterTheRefitOpensAWorkOrder) {
  const Correction fault = Correction::Linear(1.06, 0.02);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 100,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands[0], 200), 210, &out).ok());
  out = {};
  EXPECT_EQ(c->OnPhoto(false, Correction::Linear(1.1, 0.02), "first", 900, &out), "corrected");
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands[0], 1000), 1000, &out).ok());
  out = {};
  EXPECT_EQ(c->OnPhoto(false, Correction::Linear(1.15, 0.02), "second", 2000, &out), "work_order");
  EXPECT_EQ(c->state(), MaintenanceCase::State::kWorkOrder);
  ASSERT_EQ(out.work_orders.size(), 1u);
  EXPECT_EQ(out.work_orders[0].reason, "deviation persists after refit: second");
}

TEST(MaintenanceCase, NotCleanRefitsOnceThenWorkOrder) {
  const Correction fault = Correction::Linear(1.06, 0.02);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 2, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 0,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands.back(), 10), 10, &out).ok());
  // The meter drifted further meanwhile: the corrected flow is still off.
  const Correction worse = Correction::Linear(1.12, 0.02);
  ASSERT_TRUE(c->OnWindow(CheckWindow(21600, Reported(worse, terminal), c->applied()), 43200, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kCommandIssued);
  ASSERT_EQ(out.commands.size(), 2u);
  EXPECT_EQ(out.commands[1].command_id, Entry().feature_code + "-2-2");
  // The refit is absolute (raw → true), from the raw flow reconstructed through the applied correction.
  EXPECT_NEAR(out.commands[1].correction.a1, 1.12, 1e-9);
  EXPECT_NEAR(out.commands[1].correction.a2, 0.02, 1e-9);
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands[1], 43300), 43300, &out).ok());
  const Correction worst = Correction::Linear(1.2, 0.02);
  ASSERT_TRUE(c->OnWindow(CheckWindow(64800, Reported(worst, terminal), c->applied()), 86400, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kWorkOrder);
  ASSERT_EQ(out.work_orders.size(), 1u);
  EXPECT_EQ(out.work_orders[0].terminal_id, "WT-1");
  EXPECT_EQ(out.work_orders[0].reason.rfind("deviation persists after refit: steady", 0), 0u) << out.work_orders[0].reason;
  EXPECT_EQ(out.notices.size(), 2u);
}

TEST(MaintenanceCase, ZeroFlowWindowCannotVerify) {
  const Correction fault = Correction::Linear(1.06, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 0,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands[0], 10), 10, &out).ok());
  std::vector<FlowPair> night;
  for (int i = 0; i < 60; ++i) night.push_back({21600 + i * 60, 0.0, terminal.Report(fault.Forward(0.0))});
  const WindowCheck check = CheckWindow(21600, night, c->applied());
  EXPECT_EQ(check.reported.verdict, Verdict::kNone);
  EXPECT_EQ(check.flowing_pairs, 0);
  ASSERT_TRUE(c->OnWindow(check, 43200, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kAcknowledged);
  EXPECT_EQ(c->history().back().event, "window_ignored");
  EXPECT_NE(c->history().back().detail.find("too little flow to verify: 0 flowing pairs"), std::string::npos);
}

TEST(MaintenanceCase, UnsteadyOpensWorkOrderAtOnce) {
  std::vector<FlowPair> p;
  for (int i = 0; i < 60; ++i) p.push_back({i * 60, 0.5, 0.5 + ((i % 2) ? 0.3 : -0.3)});
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, p, Correction::Identity()), 5, CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kWorkOrder);
  EXPECT_TRUE(out.commands.empty());
  ASSERT_EQ(out.work_orders.size(), 1u);
  EXPECT_EQ(Events(*c), (std::vector<std::string>{"detected", "work_order"}));
}

TEST(MaintenanceCase, NoneOpensNothing) {
  std::vector<FlowPair> p;
  for (int i = 0; i < 10; ++i) p.push_back({i * 60, 0.5, 0.5});
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, p, Correction::Identity()), 5, CaseOptions{}, &out);
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
}

TEST(MaintenanceCase, ExpiredCommandRetriedOnceThenWorkOrder) {
  std::vector<FlowPair> p;
  for (int i = 0; i < 60; ++i) p.push_back({i * 60, 0.01 * i, 0.01 * i + 0.05});
  CaseOutputs out;
  CaseOptions o;
  o.command_ttl_s = 100;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, p, Correction::Identity()), 0, o, &out);
  ASSERT_TRUE(c.ok());
  c->OnTick(100, &out);  // not yet expired
  EXPECT_EQ(out.commands.size(), 1u);
  c->OnTick(101, &out);
  ASSERT_EQ(out.commands.size(), 2u);
  EXPECT_EQ(out.commands[1].expires_at, 201);
  // A late ack of the first command is refused: the second one is current.
  EXPECT_FALSE(c->OnAck({out.commands[0].command_id, Entry().feature_code, 50}, 150, &out).ok());
  c->OnTick(202, &out);
  EXPECT_EQ(c->state(), MaintenanceCase::State::kWorkOrder);
  ASSERT_EQ(out.work_orders.size(), 1u);
  EXPECT_EQ(out.work_orders[0].reason, "terminal did not acknowledge " + Entry().feature_code + "-1-2");
  EXPECT_EQ(Events(*c), (std::vector<std::string>{"detected", "command_issued", "notified", "command_expired",
                                                  "command_issued", "notified", "ack_refused", "command_expired",
                                                  "work_order"}));
}

TEST(MaintenanceCase, NonlinearFaultCorrectedByPowerModel) {
  const Correction fault = Correction::Power(1.08, 0.85, 0.0);
  TerminalSelfMaintenance terminal(Entry().feature_code);
  CaseOutputs out;
  auto c = MaintenanceCase::Open(Entry(), 1, CheckWindow(0, Reported(fault, terminal), Correction::Identity()), 0,
                                 CaseOptions{}, &out);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].correction.model, Correction::kPower);
  ASSERT_TRUE(c->OnAck(*terminal.Apply(out.commands[0], 10), 10, &out).ok());
  ASSERT_TRUE(c->OnWindow(CheckWindow(21600, Reported(fault, terminal), c->applied()), 43200, &out).ok());
  EXPECT_EQ(c->state(), MaintenanceCase::State::kClosed);
}

}  // namespace
}  // namespace mh::water
