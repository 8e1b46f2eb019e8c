// End-to-end tests of the commands a user runs: the built `meterhub` binary, its exit codes and
// outputs (config, vee, import of CSV and real NEM12 files, the demo).
#include <regex>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace mh {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Bin() { return testing::MeterhubBinary(); }

int64_t Field(const std::string& text, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(label + R"(:\s+(\d+))"))) return -1;
  return std::stoll(m[1]);
}

TEST(Cli, ConfigDefaultsAndCheck) {
  TempDir dir("cli-config");
  auto d = RunCommand(Bin() + " config defaults > " + (dir / "d.toml"));
  ASSERT_EQ(d.exit_code, 0) << d.output;
  auto ok = RunCommand(Bin() + " config check " + (dir / "d.toml"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  testing::WriteFile(dir / "bad.toml", "[store]\nbakend = \"sqlite\"\n");
  auto bad = RunCommand(Bin() + " config check " + (dir / "bad.toml"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("store.bakend"), std::string::npos) << bad.output;
}

TEST(Cli, UnknownCommandOrOptionIsExit2) {
  EXPECT_EQ(RunCommand(Bin() + " import").exit_code, 2);
  EXPECT_EQ(RunCommand(Bin() + " import x.csv --format xml").exit_code, 2);
  EXPECT_EQ(RunCommand(Bin() + " vee").exit_code, 2);
  EXPECT_EQ(RunCommand(Bin() + " vee /nonexistent.csv").exit_code, 2);
}

TEST(Cli, VeeOnTheSeedExample) {
  TempDir dir("cli-vee");
  testing::WriteFile(dir / "r.csv",
                     "meter_id,timestamp,value\n"
                     "M1,2020-10-29T15:00:00Z,200\n"
                     "M1,2020-10-29T16:00:00Z,203\n"
                     "M1,2020-10-29T17:00:00Z,208\n"
                     "M1,2020-10-29T18:00:00Z,203\n"
                     "M1,2020-10-29T19:00:00Z,\n");
  auto r = RunCommand(Bin() + " vee " + (dir / "r.csv") + " --verdicts " + (dir / "v.csv") + " --alerts " + (dir / "a.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::ReadFile(dir / "v.csv"),
            "meter_id,timestamp,value,verdict\n"
            "M1,2020-10-29T15:00:00Z,200,ok\n"
            "M1,2020-10-29T16:00:00Z,203,ok\n"
            "M1,2020-10-29T17:00:00Z,208,ok\n"
            "M1,2020-10-29T18:00:00Z,203,error\n"
            "M1,2020-10-29T19:00:00Z,,null\n");
  EXPECT_EQ(testing::ReadFile(dir / "a.csv"), "meter_id,period_start,timestamp,period_consumption,threshold\n");
}

TEST(Cli, ImportCsvIsIdempotentAndReportsBadRows) {
  TempDir dir("cli-import");
  testing::WriteFile(dir / "c.toml", "[store]\npath = \"" + (dir / "m.db") + "\"\n");
  testing::WriteFile(dir / "r.csv",
                     "meter_id,timestamp,value\n"
                     "A,2020-10-29T15:00:00Z,1\n"
                     "A,2020-10-29T15:15:00Z,2\n"
                     "A,garbage,3\n"
                     "A,2020-10-29T15:45:00Z,1.5\n");
  auto first = RunCommand(Bin() + " import " + (dir / "r.csv") + " --config " + (dir / "c.toml"));
  EXPECT_EQ(first.exit_code, 2) << first.output;  // a bad row: reported, the rest imported
  EXPECT_NE(first.output.find("r.csv:4: timestamp"), std::string::npos) << first.output;
  EXPECT_EQ(Field(first.output, "accepted"), 2) << first.output;
  EXPECT_NE(first.output.find("error 1"), std::string::npos) << first.output;
  auto second = RunCommand(Bin() + " import " + (dir / "r.csv") + " --config " + (dir / "c.toml"));
  EXPECT_EQ(Field(second.output, "accepted"), 0) << second.output;
  EXPECT_EQ(Field(second.output, "duplicates"), 3) << second.output;
}

// On a terminal, long work draws a progress bar (redrawn with \r); `script` gives it a pty.
TEST(Cli, ImportShowsProgressOnATerminal) {
  if (RunCommand("command -v script").exit_code != 0) GTEST_SKIP() << "script (bsdutils) not installed";
  TempDir dir("cli-progress");
  testing::WriteFile(dir / "c.toml", "[store]\npath = \"" + (dir / "m.db") + "\"\n");
  testing::WriteFile(dir / "r.csv", "meter_id,timestamp,value\nA,2020-10-29T15:00:00Z,1\n");
  auto r = RunCommand("script -qec '" + Bin() + " import " + (dir / "r.csv") + " --config " + (dir / "c.toml") +
                      "' /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\rimport ["), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("100%"), std::string::npos) << r.output;
  // Not on a terminal: plain lines, no bar.
  auto plain = RunCommand(Bin() + " import " + (dir / "r.csv") + " --config " + (dir / "c.toml"));
  EXPECT_EQ(plain.output.find('\r'), std::string::npos) << plain.output;
}

TEST(Cli, ImportRealNem12) {
  std::string file = testing::SharedData("electricity/au_households/meter01.csv");
  if (!testing::Exists(file)) GTEST_SKIP() << "shared data absent: " << file;
  TempDir dir("cli-nem12");
  testing::WriteFile(dir / "c.toml", "[store]\npath = \"" + (dir / "m.db") + "\"\n");
  auto r = RunCommand(Bin() + " import --format nem12 " + file + " --config " + (dir / "c.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int64_t rows = Field(r.output, "rows");
  EXPECT_GT(rows, 10000) << r.output;
  EXPECT_EQ(Field(r.output, "accepted"), rows) << r.output;
  EXPECT_EQ(Field(r.output, "meters registered"), 1) << r.output;
  // Importing the same file again continues nothing and stores nothing twice.
  auto again = RunCommand(Bin() + " import --format nem12 " + file + " --config " + (dir / "c.toml"));
  EXPECT_EQ(Field(again.output, "accepted"), 0) << again.output;
}

TEST(Cli, DemoRunsAFleetEndToEnd) {
  TempDir dir("cli-demo");
  auto r = RunCommand(Bin() + " demo --meters 60 --days 5 --peak-days 3 --appliance-rate 0.15 --exit-after-replay --listen 127.0.0.1:0 --dir " +
               dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("HTTP API:   http://127.0.0.1:"), std::string::npos) << r.output;
  EXPECT_GT(Field(r.output, "readings accepted"), 1000) << r.output;
  EXPECT_GT(Field(r.output, "alerts created"), 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(received by the customers' webhook: (\d+))"))) << r.output;
  EXPECT_GT(std::stoll(m[1]), 0) << r.output;
  EXPECT_TRUE(testing::Exists(dir / "ground_truth.csv"));
}

// Issue 5 item 6: the demo's audited meters against the daemon (MQTT signals and segments, REST
// commissioning and audits, a ledger row altered in the SQLite file): every attack kind of SPEC 4.7
// and issue 11's shrunken comparison table is injected and caught, no clean meter-cycle alarms,
// every alarm's inspection order arrives; every audit ran on segments the meter sent when asked.
TEST(Cli, DemoAuditCatchesEveryAttackKind) {
  TempDir dir("cli-demo-audit");
  auto r = RunCommand(Bin() + " demo --meters 10 --days 8 --peak-days 3 --audit-meters 8 --audit-attack-rate 0.6 " +
                      "--exit-after-replay --listen 127.0.0.1:0 --dir " + dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("/api/v1/audit/alarms?limit=5"), std::string::npos) << r.output;
  // caught/injected, then how many of those audits raised a code / time / ledger alarm.
  auto tally = [&](const std::string& kind) {
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.output, m, std::regex(kind + R"(: (\d+)/(\d+) \(code (\d+), time (\d+), ledger (\d+)(; (\d+) without)?)")))
        << r.output;
    std::vector<int64_t> v;
    for (int i : {1, 2, 3, 4, 5, 7}) v.push_back(m.size() > 7 && m[i].matched ? std::stoll(m[i]) : 0);
    return v;  // caught, injected, code, time, ledger, undetectable
  };
  for (const std::string kind : {"altered fixed segment", "original code replayed", "metering bypassed", "altered ledger row",
                                 "shrunken comparison table"}) {
    const auto v = tally(kind);
    EXPECT_GT(v[1], 0) << kind << "\n" << r.output;
    EXPECT_EQ(v[0] + v[5], v[1]) << kind << "\n" << r.output;  // replay with no energy in any window is undetectable
  }
  EXPECT_EQ(tally("altered fixed segment")[2], tally("altered fixed segment")[1]) << r.output;  // code alarms
  EXPECT_EQ(tally("metering bypassed")[3], tally("metering bypassed")[1]) << r.output;          // time alarms
  EXPECT_EQ(tally("altered ledger row")[4], tally("altered ledger row")[1]) << r.output;        // ledger alarms
  EXPECT_EQ(tally("shrunken comparison table")[2], tally("shrunken comparison table")[1]) << r.output;  // code alarms
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(audit segments:\s+(\d+) audits on segments fetched .*, (\d+) on stored)")))
      << r.output;
  EXPECT_GT(std::stoll(m[1]), 0) << r.output;
  EXPECT_EQ(m[2], "0") << r.output;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(audit clean audits:\s+(\d+) \(false alarms (\d+)\))"))) << r.output;
  EXPECT_GT(std::stoll(m[1]), 0) << r.output;
  EXPECT_EQ(m[2], "0") << r.output;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(inspection orders:\s+(\d+) received .* \(audits alarmed (\d+)\))"))) << r.output;
  EXPECT_GT(std::stoll(m[2]), 0) << r.output;
  EXPECT_EQ(m[1], m[2]) << r.output;
}

// SPEC 2.8: `meterhub relay beacons` writes a pcap (linktype 105) that tshark decodes with the
// relay SSID and MeterHub's vendor element.
TEST(Cli, RelayBeaconsDecodeInTshark) {
  TempDir dir("cli-relay");
  auto r = RunCommand(Bin() + " relay beacons --pcap " + (dir / "b.pcap") + " --meters 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  if (RunCommand("command -v tshark").exit_code != 0) GTEST_SKIP() << "tshark not installed (apt-get install tshark)";
  auto t = RunCommand("tshark -r " + (dir / "b.pcap") + " -V");
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("SSID: \"elecmeter_AP440305001000003\""), std::string::npos) << t.output.substr(0, 3000);
  EXPECT_NE(t.output.find("Tag Number: Vendor Specific (221)"), std::string::npos);
  EXPECT_NE(t.output.find("OUI: 02:4d:48"), std::string::npos);
  EXPECT_EQ(t.output.find("Malformed"), std::string::npos);
}

TEST(Cli, RelayToolsFollowTheContract) {
  auto slots = RunCommand(Bin() + " relay slots --region abc");
  ASSERT_EQ(slots.exit_code, 0) << slots.output;
  EXPECT_TRUE(std::regex_match(slots.output, std::regex(R"(\d+ \d+ \d+ \d+\n)"))) << slots.output;
  EXPECT_EQ(RunCommand(Bin() + " relay password --region-code 12 --position 000001 --reference x").exit_code, 2);
}

// After the replay the fleet goes on live until --duration, then the summary is printed.
// SPEC 6: the relay simulation's report — text, CSV and a PNG plot of all three strategies.
TEST(Cli, SimRelayWritesTextCsvAndPlot) {
  testing::TempDir dir("simrelay");
  auto r = RunCommand(Bin() + " sim relay --meters 2000 --nights 3 --seed 4 --csv " + (dir / "r.csv") +
                      (RunCommand("command -v gnuplot").exit_code == 0 ? " --plot " + (dir / "r.png") : ""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("relay_with_retry"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("by cause"), std::string::npos) << r.output;
  std::ifstream csv(dir / "r.csv");
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 1 + 3 * 3);  // header + 3 strategies x 3 nights
  if (RunCommand("command -v gnuplot").exit_code != 0) GTEST_SKIP() << "gnuplot not installed (apt-get install gnuplot-nox)";
  std::ifstream png(dir / "r.png", std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

TEST(Cli, DemoLiveModeStopsAfterDuration) {
  TempDir dir("cli-demo-live");
  auto r = RunCommand(Bin() + " demo --meters 20 --days 3 --peak-days 2 --duration 6 --speed 36000 --listen 127.0.0.1:0 --dir " +
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the fleet goes on live"), std::string::npos) << r.output;
  // 3 replayed days at 96 readings a day for 14 electricity meters and 24 for 6 water meters, plus live ones.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(readings published:\s+(\d+))"))) << r.output;
  EXPECT_GT(std::stoll(m[1]), 3 * (14 * 96 + 6 * 24)) << r.output;
}

// SPEC 3.7 in the demo: water terminals with injected faults against the daemon over MQTT. Every
// linear drift is corrected and verified, every unsteady meter gets a work order (received by the
// field-service webhook), and healthy meters see no command and no work order.
TEST(Cli, DemoRunsTheWaterMaintenanceLoop) {
  TempDir dir("cli-demo-water");
  auto r = RunCommand(Bin() + " demo --meters 10 --days 4 --peak-days 2 --water-meters 8 --exit-after-replay --listen 127.0.0.1:0 --dir " +
                      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("/api/v1/water/meters/WT-"), std::string::npos) << r.output;
  auto per_class = [&](const std::string& fault, const std::string& headline) {
    std::smatch m;
    const std::regex line(fault + R"( (\d+)/(\d+) )" + headline +
                          R"( \(cases (\d+), commands (\d+), acked (\d+), refits (\d+), work orders (\d+), open at end (\d+)[;)])");
    EXPECT_TRUE(std::regex_search(r.output, m, line)) << fault << "\n" << r.output;
    std::vector<int> v;
    for (size_t i = 1; i < m.size(); ++i) v.push_back(std::stoi(m[i]));
    return v;  // good, meters, cases, commands, acked, refits, work orders, open
  };
  auto linear = per_class("linear_drift", "corrected and verified");
  ASSERT_EQ(linear.size(), 8u);
  EXPECT_GE(linear[1], 1);
  EXPECT_EQ(linear[0], linear[1]) << r.output;
  EXPECT_EQ(linear[4], linear[3]) << "every command acknowledged\n" << r.output;
  EXPECT_EQ(linear[6], 0) << r.output;
  auto unsteady = per_class("unsteady", "work orders");
  ASSERT_EQ(unsteady.size(), 8u);
  EXPECT_GE(unsteady[1], 1);
  EXPECT_EQ(unsteady[0], unsteady[1]) << r.output;
  EXPECT_EQ(unsteady[3], 0) << "no command for an erratic meter\n" << r.output;
  auto healthy = per_class("healthy", "untouched");
  ASSERT_EQ(healthy.size(), 8u);
  EXPECT_GE(healthy[1], 1);
  EXPECT_EQ(healthy[0], healthy[1]) << r.output;
  EXPECT_EQ(healthy[3] + healthy[6], 0) << r.output;
  // The work orders reached the field-service webhook; the phones got the self-check notices.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(phone notices (\d+), work orders (\d+) \(the field-service webhook\))")))
      << r.output;
  EXPECT_GE(std::stoi(m[1]), linear[3]) << r.output;
  EXPECT_GE(std::stoi(m[2]), unsteady[1]) << r.output;
}

}  // namespace
}  // namespace mh
