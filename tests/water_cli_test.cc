// End-to-end tests of `meterhub water check` (SPEC 3, fixed contract) and `meterhub sim water`
// through the built binary: outputs, exit codes, and the simulator's PAIRS.csv fed to the checker.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "support/test_env.h"

namespace mh {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Bin() { return testing::MeterhubBinary(); }

// One feature code, two 6 h windows of 2024-03-01: a +0.05 m³/h offset, then a +5 % gain.
std::string Pairs() {
  std::string s = "feature_code,timestamp,flowmeter,terminal\n";
  char buf[128];
  for (int i = 0; i < 30; ++i) {
    const double q = 0.2 + 0.04 * i;
    std::snprintf(buf, sizeof buf, "3f2a9c0d11e4b7a5,2024-03-01T01:%02d:00Z,%.3f,%.3f\n", i, q, q + 0.05);
    s += buf;
    std::snprintf(buf, sizeof buf, "3f2a9c0d11e4b7a5,2024-03-01T07:%02d:00Z,%.3f,%.4f\n", i, q, 1.05 * q);
    s += buf;
  }
  return s;
}

TEST(WaterCli, CheckPrintsVerdictsAndParameters) {
  TempDir dir("water-cli");
  testing::WriteFile(dir / "pairs.csv", Pairs());
  auto r = RunCommand(Bin() + " water check " + (dir / "pairs.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "3f2a9c0d11e4b7a5,2024-03-01T00:00:00Z,steady,1,0.05\n"
            "3f2a9c0d11e4b7a5,2024-03-01T06:00:00Z,steady,1.05,0\n");
  r = RunCommand(Bin() + " water check " + (dir / "pairs.csv") + " --window 12h --range 0.01..0.5 --min-share 0.95");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // One 12 h window: every difference positive and in range (form A); the line through both halves.
  EXPECT_EQ(r.output, "3f2a9c0d11e4b7a5,2024-03-01T00:00:00Z,steady,1.025,0.025\n");
}

TEST(WaterCli, BadInputIsExit2WithFileAndLine) {
  TempDir dir("water-cli-bad");
  testing::WriteFile(dir / "bad.csv", "feature_code,timestamp,flowmeter,terminal\nF1,2024-03-01T00:00:00Z,x,1\n");
  auto r = RunCommand(Bin() + " water check " + (dir / "bad.csv"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find((dir / "bad.csv") + ":2: flowmeter 'x' is not a number"), std::string::npos) << r.output;
  EXPECT_EQ(RunCommand(Bin() + " water check").exit_code, 2);
  EXPECT_EQ(RunCommand(Bin() + " water check " + (dir / "bad.csv") + " --window 5h").exit_code, 2);
  EXPECT_EQ(RunCommand(Bin() + " water").exit_code, 2);
  auto help = RunCommand(Bin() + " water --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("meterhub water check PAIRS.csv"), std::string::npos);
}

TEST(WaterCli, SimWritesPairsTheCheckerReads) {
  TempDir dir("water-cli-sim");
  auto sim = RunCommand(Bin() + " sim water --windows 80 --seed 5 --loop-meters 10 --pairs-csv " + (dir / "p.csv"));
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  EXPECT_NE(sim.output.find("verdict accuracy"), std::string::npos) << sim.output;
  EXPECT_NE(sim.output.find("closed loop (10 drifting meters"), std::string::npos) << sim.output;
  auto check = RunCommand(Bin() + " water check " + (dir / "p.csv"));
  ASSERT_EQ(check.exit_code, 0) << check.output.substr(0, 500);
  // 20 meters × 4 windows, one line each.
  std::istringstream lines(check.output);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) ++n;
  EXPECT_EQ(n, 80);
}

}  // namespace
}  // namespace mh
