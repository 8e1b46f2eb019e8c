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

}  // namespace
}  // namespace mh::meter::water
