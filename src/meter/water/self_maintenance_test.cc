#include "meter/water/self_maintenance.h"

#include <gtest/gtest.h>

namespace mh::meter::water {
namespace {

MaintenanceCommand Command(const std::string& id, int64_t expires) {
  return {id, "0123456789abcdef", 1000, expires, Correction::Linear(1.05, 0.02)};
}

TEST(TerminalSelfMaintenance, AppliesAndAcknowledges) {
  TerminalSelfMaintenance t("0123456789abcdef");
  EXPECT_DOUBLE_EQ(t.Report(1.07), 1.07);  // identity before any command
  auto ack = t.Apply(Command("c1", 2000), 1500);
  ASSERT_TRUE(ack.ok()) << ack.status().message();
  EXPECT_EQ(ack->command_id, "c1");
  EXPECT_EQ(ack->applied_at, 1500);
  EXPECT_NEAR(t.Report(1.07), 1.0, 1e-12);
  // A repeated delivery is acknowledged again, with the first application time.
  auto again = t.Apply(Command("c1", 2000), 2500);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied_at, 1500);
}

TEST(TerminalSelfMaintenance, RejectsExpiredForeignAndUnsafeCommands) {
  TerminalSelfMaintenance t("0123456789abcdef");
  auto expired = t.Apply(Command("c1", 2000), 2001);
  EXPECT_EQ(expired.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(expired.status().message(), "maintenance command c1: expired at 2000, now 2001");
  MaintenanceCommand foreign = Command("c2", 2000);
  foreign.feature_code = "ffffffffffffffff";
  EXPECT_EQ(t.Apply(foreign, 1500).status().code(), StatusCode::kPermissionDenied);
  MaintenanceCommand unsafe = Command("c3", 2000);
  unsafe.correction = Correction::Linear(5, 0);
  EXPECT_EQ(t.Apply(unsafe, 1500).status().message(), "maintenance command c3: correction a1 5.000000 out of [0.5, 2]");
  EXPECT_DOUBLE_EQ(t.Report(1.0), 1.0);  // nothing applied
  EXPECT_EQ(t.last_command_id(), "");
}

// Issue 17 item 2: the operating parameters (zero-flow offset, low-flow cut-off, sensor gain) are
// set by command; the ack carries them before and after; an engineer's parameters-only command
// leaves the correction as it was; unsafe values are refused whole.
TEST(TerminalSelfMaintenance, OperatingParametersSetByCommandAckedBeforeAndAfter) {
  TerminalSelfMaintenance t("0123456789abcdef");
  EXPECT_EQ(t.operating(), OperatingParameters{});
  ASSERT_TRUE(t.Apply(Command("c1", 2000), 1500).ok());
  MaintenanceCommand p{"p1", "0123456789abcdef", 1600, 3000, {}, true, {}};
  p.operating.zero_offset = 0.003;
  p.operating.low_flow_cutoff = 0.01;
  auto ack = t.Apply(p, 1700);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  ASSERT_TRUE(ack->before && ack->after);
  EXPECT_EQ(*ack->before, OperatingParameters{});
  EXPECT_EQ(*ack->after, (OperatingParameters{0.003, 0.01, 1.0}));
  EXPECT_DOUBLE_EQ(t.correction().a1, 1.05);  // kept
  EXPECT_DOUBLE_EQ(t.Report(0.008), 0.0);     // 0.005 after the offset: under the cut-off
  EXPECT_NEAR(t.Report(1.073), (1.07 - 0.02) / 1.05, 1e-12);
  // The gain alone; the rest stays.
  MaintenanceCommand g{"p2", "0123456789abcdef", 1800, 3000, {}, true, {}};
  g.operating.gain = 0.98;
  ack = t.Apply(g, 1900);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(*ack->before, (OperatingParameters{0.003, 0.01, 1.0}));
  EXPECT_EQ(*ack->after, (OperatingParameters{0.003, 0.01, 0.98}));
  // Unsafe: refused, nothing changed.
  MaintenanceCommand bad{"p3", "0123456789abcdef", 1800, 3000, {}, true, {}};
  bad.operating.gain = 3;
  auto refused = t.Apply(bad, 1950);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("gain"), std::string::npos) << refused.status().message();
  EXPECT_EQ(t.operating().gain, 0.98);
}

}  // namespace
}  // namespace mh::meter::water
