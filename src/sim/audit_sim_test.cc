// The tamper-audit simulation: every injected attack of each kind is caught, every clean meter
// passes, and a seed means the same figures.
#include "sim/audit_sim.h"

#include <sstream>

#include <gtest/gtest.h>

namespace mh::sim {
namespace {

TEST(AuditSimTest, EveryAttackCaughtNoFalseAlarm) {
  AuditSimOptions o;
  o.meters = 150;
  o.cycles = 6;
  o.seed = 7;
  o.attack_rate = 0.5;
  auto r = RunAuditSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->meter_cycles, 900u);
  EXPECT_GT(r->clean_audits, 300u);
  EXPECT_EQ(r->false_alarms, 0u);
  EXPECT_EQ(r->mid_cycle_audits, r->clean_audits);
  EXPECT_EQ(r->mid_cycle_false_alarms, 0u);
  for (int k = 1; k < kAuditAttackKinds; ++k) {
    const AuditAttackTally& t = r->attacks[k];
    SCOPED_TRACE(AuditAttackName(static_cast<AuditAttack>(k)));
    EXPECT_GT(t.injected, 50u);
    EXPECT_EQ(t.caught + t.no_metering_in_window, t.injected);
  }
  const auto& code = r->attacks[static_cast<int>(AuditAttack::kAlteredCode)];
  EXPECT_EQ(code.by_code, code.injected);
  const auto& ledger = r->attacks[static_cast<int>(AuditAttack::kLedgerRow)];
  EXPECT_EQ(ledger.by_ledger, ledger.injected);
  EXPECT_EQ(ledger.caught_by_time_alone, ledger.injected);
  const auto& bypass = r->attacks[static_cast<int>(AuditAttack::kBypass)];
  EXPECT_EQ(bypass.by_time, bypass.injected);
  // Altered code sent with a table that leaves the altered line out: the ledger's table catches it.
  const auto& table = r->attacks[static_cast<int>(AuditAttack::kCompareTable)];
  EXPECT_EQ(table.by_code, table.injected);
  EXPECT_EQ(r->tables_ignored, table.injected);
  // Cycle lengths from the head-end: enterprise meters daily, the others around Q = 3.
  EXPECT_GT(r->cycles_by_d[1], 0u);
  EXPECT_GT(r->cycles_by_d[2] + r->cycles_by_d[3], 0u);
  EXPECT_LT(r->energy_billed_kwh, r->energy_true_kwh);  // the attacks stole energy
  EXPECT_GT(r->windows_checked, 900u);
}

TEST(AuditSimTest, DeterministicForASeed) {
  AuditSimOptions o;
  o.meters = 40;
  o.cycles = 4;
  o.seed = 3;
  auto a = RunAuditSimulation(o), b = RunAuditSimulation(o);
  ASSERT_TRUE(a.ok() && b.ok());
  a->wall_seconds = b->wall_seconds = 0;
  EXPECT_EQ(FormatAuditSimReport(*a), FormatAuditSimReport(*b));
  o.seed = 4;
  auto c = RunAuditSimulation(o);
  c->wall_seconds = 0;
  EXPECT_NE(FormatAuditSimReport(*a), FormatAuditSimReport(*c));
}

TEST(AuditSimTest, CommandLine) {
  std::ostringstream out, err;
  EXPECT_EQ(RunAuditSim({"--meters", "20", "--cycles", "3", "--seed", "2"}, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("meter-cycles: 60"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("false alarms: 0"), std::string::npos);
  EXPECT_EQ(RunAuditSim({"--meters", "0"}, out, err), 2);
  AuditSimReport r;
  r.attacks[1].injected = 3;
  r.attacks[1].caught = 3;
  r.attacks[1].by_code = 3;
  r.clean_audits = 7;
  EXPECT_EQ(FormatAuditSimCsv(r),
            "attack,injected,caught,by_code,by_time,by_ledger,no_metering_in_window,caught_by_time_alone\n"
            "altered fixed segment,3,3,3,0,0,0,0\n"
            "original code replayed,0,0,0,0,0,0,0\n"
            "metering bypassed,0,0,0,0,0,0,0\n"
            "altered ledger row,0,0,0,0,0,0,0\n"
            "shrunken comparison table,0,0,0,0,0,0,0\n"
            "none (clean, cycle end),7,0,,,,,\n"
            "none (clean, mid-cycle),0,0,,,,,\n");
  EXPECT_EQ(RunAuditSim({"--bogus", "1"}, out, err), 2);
  EXPECT_EQ(RunAuditSim({"--attack-rate", "2"}, out, err), 2);
}

}  // namespace
}  // namespace mh::sim
