// The offline `meterhub vee` tool (SPEC 1.3) end to end over small CSVs with exact expected
// outputs, its exit codes, and a run over real DAIAD water-meter data with injected anomalies.
#include "vee/offline_vee.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "codec/compressed_lines.h"

namespace mh::vee {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = testing::TempDir() + "vee_test_XXXXXX";
    char* d = mkdtemp(tmpl.data());
    EXPECT_NE(d, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

struct ToolRun {
  int code = -1;
  std::string out, err;
};

ToolRun Vee(std::vector<std::string> argv, const ConfigLoader& loader = {}) {
  argv.push_back("--no-progress");
  std::ostringstream out, err;
  ToolRun r;
  r.code = RunVeeCommand(argv, out, err, loader);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// One meter with the seed's peak readings (T2 = 8 × 1.3 = 10.4, daily T1 = 40), then a day with
// every kind of verdict and two alerts; a second meter with no peak data, other time formats.
const char* kInput =
    "meter_id,timestamp,value\n"
    "M1,2020-07-01T00:00:00+08:00,100\n"
    "M1,2020-07-01T01:00:00+08:00,103\n"
    "M1,2020-07-01T02:00:00+08:00,108\n"
    "M1,2020-07-01T03:00:00+08:00,110\n"
    "M1,2020-07-01T04:00:00+08:00,115\n"
    "M1,2020-07-01T05:00:00+08:00,123\n"
    "M1,2020-07-01T06:00:00+08:00,129\n"
    "M1,2020-07-02T00:00:00+08:00,130\n"
    "M1,2020-07-02T12:00:00+08:00,150\n"
    "M1,2020-07-03T00:00:00+08:00,170\n"
    "M2,1593709200,5.000\n"
    "M1,2020-07-03T01:00:00+08:00,165\n"
    "M1,2020-07-03T02:00:00+08:00,181\n"
    "M1,2020-07-03T03:00:00+08:00,192\n"
    "M1,2020-07-03T04:00:00+08:00,\n"
    "M1,2020-07-03T05:00:00+08:00,0\n"
    "M2,2020-07-03 18:00:00,6.5\n"
    "M1,2020-07-03T06:00:00+08:00,205\n"
    "M1,2020-07-03T07:00:00+08:00,215\n"
    "M1,2020-07-03T08:00:00+08:00,220.0\n"
    "M1,2020-07-04T01:00:00+08:00,266\n";

const char* kVerdicts =
    "meter_id,timestamp,value,verdict\n"
    "M1,2020-07-01T00:00:00+08:00,100,ok\n"
    "M1,2020-07-01T01:00:00+08:00,103,ok\n"
    "M1,2020-07-01T02:00:00+08:00,108,ok\n"
    "M1,2020-07-01T03:00:00+08:00,110,ok\n"
    "M1,2020-07-01T04:00:00+08:00,115,ok\n"
    "M1,2020-07-01T05:00:00+08:00,123,ok\n"
    "M1,2020-07-01T06:00:00+08:00,129,ok\n"
    "M1,2020-07-02T00:00:00+08:00,130,ok\n"
    "M1,2020-07-02T12:00:00+08:00,150,ok\n"
    "M1,2020-07-03T00:00:00+08:00,170,ok\n"
    "M2,1593709200,5.000,ok\n"
    "M1,2020-07-03T01:00:00+08:00,165,error\n"
    "M1,2020-07-03T02:00:00+08:00,181,ok\n"
    "M1,2020-07-03T03:00:00+08:00,192,sudden\n"
    "M1,2020-07-03T04:00:00+08:00,,null\n"
    "M1,2020-07-03T05:00:00+08:00,0,null\n"
    "M2,2020-07-03 18:00:00,6.5,ok\n"
    "M1,2020-07-03T06:00:00+08:00,205,ok\n"
    "M1,2020-07-03T07:00:00+08:00,215,ok\n"
    "M1,2020-07-03T08:00:00+08:00,220.0,ok\n"
    "M1,2020-07-04T01:00:00+08:00,266,ok\n";

const char* kAlerts =
    "meter_id,period_start,timestamp,period_consumption,threshold\n"
    "M1,2020-07-03T00:00:00+08:00,2020-07-03T07:00:00+08:00,45,40\n"
    "M1,2020-07-04T00:00:00+08:00,2020-07-04T01:00:00+08:00,46,40\n";

TEST(OfflineVee, VerdictsAndAlertsExact) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-02", "--interval", "1h", "--period", "day", "--tz",
               "+08:00", "--verdicts", dir.File("v.csv"), "--alerts", dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")), kVerdicts);
  EXPECT_EQ(ReadFile(dir.File("a.csv")), kAlerts);
  EXPECT_NE(r.err.find("21 rows, 2 meters; ok 17, null 2, error 1, sudden 1; 2 alerts"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("T2 for 1/2 meters, T1 for 1/2"), std::string::npos) << r.err;
}

// The columns are found by the header's names, and readings of a channel other than the billing
// one are accepted, not judged (docs/channels.md, as the daemon does): the same verdicts and
// alerts as without them, the other channel's rows `ok` (or `null` without a value).
TEST(OfflineVee, ColumnsByNameAndOtherChannelsNotJudged) {
  std::istringstream in(kInput), expected(kVerdicts);
  std::string line, verdict;
  std::getline(in, line);
  std::getline(expected, verdict);
  std::string input = "timestamp,value,meter_id,channel\n", verdicts = verdict + "\n";
  for (int row = 0; std::getline(in, line) && std::getline(expected, verdict); ++row) {
    const size_t a = line.find(','), b = line.find(',', a + 1);
    const std::string id = line.substr(0, a), ts = line.substr(a + 1, b - a - 1), value = line.substr(b + 1);
    // One row names the billing channel itself: it is a billing reading.
    input += ts + "," + value + "," + id + "," + (row == 5 ? "import_kwh" : "") + "\n";
    verdicts += verdict + "\n";
    if (row % 3 == 0) {
      // Values that would be errors, spikes and nulls if they were judged with the billing series.
      const std::string other = row % 2 ? "" : std::to_string(1000 - row);
      input += ts + "," + other + "," + id + ",import_kwh_t1\n";
      verdicts += id + "," + ts + "," + other + "," + (other.empty() ? "null" : "ok") + "\n";
    }
  }
  TempDir dir;
  WriteFile(dir.File("r.csv"), input);
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-02", "--verdicts", dir.File("v.csv"), "--alerts",
                   dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")), verdicts);
  EXPECT_EQ(ReadFile(dir.File("a.csv")), kAlerts);
  EXPECT_NE(r.err.find("28 rows, 2 meters;"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("7 readings of other channels accepted, not judged"), std::string::npos) << r.err;
}

TEST(OfflineVee, DefaultsAreTheSpecOnes) {
  // --interval 1h, --period day, --tz +08:00, coefficients 1.3 / 1.0, --max-alerts 1.
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-02", "--verdicts", dir.File("v.csv"), "--alerts",
               dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")), kVerdicts);
  EXPECT_EQ(ReadFile(dir.File("a.csv")), kAlerts);
}

TEST(OfflineVee, MaxAlertsPerPeriod) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-02", "--max-alerts", "2", "--alerts", dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("a.csv")),
            "meter_id,period_start,timestamp,period_consumption,threshold\n"
            "M1,2020-07-03T00:00:00+08:00,2020-07-03T07:00:00+08:00,45,40\n"
            "M1,2020-07-03T00:00:00+08:00,2020-07-03T08:00:00+08:00,50,40\n"
            "M1,2020-07-04T00:00:00+08:00,2020-07-04T01:00:00+08:00,46,40\n");
  r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-02", "--alert-coefficient", "1.1", "--alerts",
           dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("a.csv")),
            "meter_id,period_start,timestamp,period_consumption,threshold\n"
            "M1,2020-07-03T00:00:00+08:00,2020-07-03T07:00:00+08:00,45,44\n"
            "M1,2020-07-04T00:00:00+08:00,2020-07-04T01:00:00+08:00,46,44\n");
}

TEST(OfflineVee, WithoutPeakNothingIsLearned) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  ToolRun r = Vee({dir.File("r.csv"), "--verdicts", "-", "--alerts", dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  // No T2: 192 is ok; no T1: no alerts.
  EXPECT_NE(r.out.find("M1,2020-07-03T03:00:00+08:00,192,ok\n"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(dir.File("a.csv")), "meter_id,period_start,timestamp,period_consumption,threshold\n");
  EXPECT_NE(r.err.find("no peak period"), std::string::npos);
  // A customer T1 still alerts; numbers keep up to 6 decimals.
  r = Vee({dir.File("r.csv"), "--t1", "45.1234567", "--alerts", dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("a.csv")),
            "meter_id,period_start,timestamp,period_consumption,threshold\n"
            "M1,2020-07-03T00:00:00+08:00,2020-07-03T08:00:00+08:00,50,45.123457\n"
            "M1,2020-07-04T00:00:00+08:00,2020-07-04T01:00:00+08:00,46,45.123457\n");
}

TEST(OfflineVee, SpikeReJudgementRewritesEarlierVerdicts) {
  TempDir dir;
  WriteFile(dir.File("r.csv"),
            "meter_id,timestamp,value\n"
            "A,2020-10-29T01:00:00Z,100\n"
            "A,2020-10-29T02:00:00Z,102\n"
            "A,2020-10-29T03:00:00Z,900\n"   // undetected spike (no T2)
            "A,2020-10-29T04:00:00Z,104\n"
            "A,2020-10-29T05:00:00Z,105\n"
            "B,2020-10-29T05:00:00Z,5000\n"
            "B,2020-10-29T06:00:00Z,1\n"     // meter exchange: restarts near zero
            "B,2020-10-29T07:00:00Z,2\n"
            "A,2020-10-29T06:00:00Z,107\n"
            "A,2020-10-29T07:00:00Z,108\n");
  ToolRun r = Vee({dir.File("r.csv"), "--reset-after", "2", "--verdicts", dir.File("v.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")),
            "meter_id,timestamp,value,verdict\n"
            "A,2020-10-29T01:00:00Z,100,ok\n"
            "A,2020-10-29T02:00:00Z,102,ok\n"
            "A,2020-10-29T03:00:00Z,900,sudden\n"
            "A,2020-10-29T04:00:00Z,104,ok\n"
            "A,2020-10-29T05:00:00Z,105,ok\n"
            "B,2020-10-29T05:00:00Z,5000,ok\n"
            "B,2020-10-29T06:00:00Z,1,ok\n"
            "B,2020-10-29T07:00:00Z,2,ok\n"
            "A,2020-10-29T06:00:00Z,107,ok\n"
            "A,2020-10-29T07:00:00Z,108,ok\n");
  EXPECT_NE(r.err.find("1 meter resets, 1 spikes, 0 register steps, 0 sustained loads re-judged"), std::string::npos) << r.err;
  // Off by default: seed-exact.
  r = Vee({dir.File("r.csv"), "--verdicts", dir.File("v.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(ReadFile(dir.File("v.csv")).find("A,2020-10-29T04:00:00Z,104,error\n"), std::string::npos);
}

// A heater left on: every step above T2. Seed-exact, p never moves again; with --reset-after the
// rising run is accepted as a sustained load and the day's consumption alerts.
TEST(OfflineVee, SustainedLoadReJudgementAcceptsTheRun) {
  TempDir dir;
  WriteFile(dir.File("r.csv"),
            "meter_id,timestamp,value\n"
            "H,2020-07-01T01:00:00Z,100\n"  // peak: steps of 1 → T2 = 1.3
            "H,2020-07-01T02:00:00Z,101\n"
            "H,2020-07-01T03:00:00Z,102\n"
            "H,2020-07-02T01:00:00Z,103\n"
            "H,2020-07-02T02:00:00Z,106\n"  // +3 an hour from here on
            "H,2020-07-02T03:00:00Z,109\n"
            "H,2020-07-02T04:00:00Z,112\n"
            "H,2020-07-02T05:00:00Z,115\n");
  ToolRun seed = Vee({dir.File("r.csv"), "--peak", "2020-07-01T00:00:00Z..2020-07-01T23:00:00Z", "--tz", "+00:00",
                      "--verdicts", dir.File("v0.csv")});
  ASSERT_EQ(seed.code, 0) << seed.err;
  EXPECT_NE(ReadFile(dir.File("v0.csv")).find("H,2020-07-02T05:00:00Z,115,sudden"), std::string::npos);
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01T00:00:00Z..2020-07-01T23:00:00Z", "--tz", "+00:00",
                   "--reset-after", "3", "--t1", "5", "--verdicts", dir.File("v.csv"), "--alerts", dir.File("a.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")),
            "meter_id,timestamp,value,verdict\n"
            "H,2020-07-01T01:00:00Z,100,ok\n"
            "H,2020-07-01T02:00:00Z,101,ok\n"
            "H,2020-07-01T03:00:00Z,102,ok\n"
            "H,2020-07-02T01:00:00Z,103,ok\n"
            "H,2020-07-02T02:00:00Z,106,ok\n"
            "H,2020-07-02T03:00:00Z,109,ok\n"
            "H,2020-07-02T04:00:00Z,112,ok\n"
            "H,2020-07-02T05:00:00Z,115,sudden\n");  // runs are accepted reset_after at a time
  // The day's consumption from 102: 10 > T1 = 5.
  EXPECT_NE(ReadFile(dir.File("a.csv")).find("H,2020-07-02T00:00:00Z,2020-07-02T04:00:00Z,10,5\n"), std::string::npos)
      << ReadFile(dir.File("a.csv"));
  EXPECT_NE(r.err.find("1 sustained loads"), std::string::npos) << r.err;
}

TEST(OfflineVee, ToleranceRolloverAndCeilingOptions) {
  TempDir dir;
  WriteFile(dir.File("r.csv"),
            "meter_id,timestamp,value\n"
            "W,2020-10-29T01:00:00Z,634.002\n"
            "W,2020-10-29T02:00:00Z,634.001\n"
            "R,2020-10-29T01:00:00Z,99999.0\n"
            "R,2020-10-29T02:00:00Z,0.5\n"
            "E,2020-10-29T01:00:00Z,10\n"
            "E,2020-10-29T01:30:00Z,17\n"
            "E,2020-10-29T02:00:00Z,25\n");
  ToolRun r = Vee({dir.File("r.csv"), "--interval", "30m", "--negative-tolerance", "0.002", "--register-max", "99999.9",
               "--max-interval-consumption", "7", "--verdicts", dir.File("v.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")),
            "meter_id,timestamp,value,verdict\n"
            "W,2020-10-29T01:00:00Z,634.002,ok\n"
            "W,2020-10-29T02:00:00Z,634.001,ok\n"
            "R,2020-10-29T01:00:00Z,99999.0,ok\n"
            "R,2020-10-29T02:00:00Z,0.5,ok\n"
            "E,2020-10-29T01:00:00Z,10,ok\n"
            "E,2020-10-29T01:30:00Z,17,ok\n"
            "E,2020-10-29T02:00:00Z,25,sudden\n");
  r = Vee({dir.File("r.csv"), "--verdicts", dir.File("v.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")),
            "meter_id,timestamp,value,verdict\n"
            "W,2020-10-29T01:00:00Z,634.002,ok\n"
            "W,2020-10-29T02:00:00Z,634.001,error\n"
            "R,2020-10-29T01:00:00Z,99999.0,ok\n"
            "R,2020-10-29T02:00:00Z,0.5,error\n"
            "E,2020-10-29T01:00:00Z,10,ok\n"
            "E,2020-10-29T01:30:00Z,17,ok\n"
            "E,2020-10-29T02:00:00Z,25,ok\n");
}

// --config is resolved by the caller's loader (meterhub's main reads the TOML file: see
// tests/cli_test.cc); it fills only what the command line left unset.
TEST(OfflineVee, ConfigLoaderFillsWhatFlagsLeaveUnset) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  ConfigLoader loader = [](const std::string& path, VeeArgs* a) -> Status {
    if (path != "c.toml") return InvalidArgument(path + ": no such file");
    if (a->peak.empty()) a->peak = {"2020-07-01..2020-07-02"};
    if (!a->tz) a->tz = "+08:00";
    if (!a->interval) a->interval = "1h";
    if (!a->max_alerts) a->max_alerts = 5;
    return Status::Ok();
  };
  ToolRun r = Vee({dir.File("r.csv"), "--config", "c.toml", "--max-alerts", "1", "--verdicts", dir.File("v.csv"),
                   "--alerts", dir.File("a.csv")},
                  loader);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("v.csv")), kVerdicts);
  EXPECT_EQ(ReadFile(dir.File("a.csv")), kAlerts);
  r = Vee({dir.File("r.csv"), "--config", "none.toml"}, loader);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("none.toml: no such file"), std::string::npos) << r.err;
  EXPECT_EQ(Vee({dir.File("r.csv"), "--config", "c.toml"}).code, 2);  // no loader
}

TEST(OfflineVee, BadOptionsExitTwo) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kInput);
  const std::string f = dir.File("r.csv");
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {f, "--bogus"},
           {f, "--period", "year"},
           {f, "--tz", "Mars"},
           {f, "--interval", "soon"},
           {f, "--peak", "2020-07-01"},
           {f, "--peak", "2020-07-02..2020-07-01"},
           {f, "--peak", "2020-13-01..2020-14-01"},
           {f, "--spike-coefficient", "big"},
           {f, "--spike-coefficient", "0"},
           {f, "--max-alerts", "-1"},
           {f, "--max-alerts", "1.5"},
           {f, "--t2-quantile", "2"},
           {f, "--peak"},
           {f, f},
           {},
       }) {
    ToolRun r = Vee(argv);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(argv);
    EXPECT_NE(r.err.find("meterhub vee: "), std::string::npos) << r.err;
  }
  ToolRun r = Vee({f, "--period", "year"});
  EXPECT_NE(r.err.find("--period"), std::string::npos) << r.err;
  EXPECT_EQ(Vee({"--help"}).code, 0);
  // An output that cannot be written.
  r = Vee({f, "--verdicts", dir.File("no/such/dir/v.csv")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

TEST(OfflineVee, BadFileOrRowExitsTwoNamingTheLine) {
  TempDir dir;
  ToolRun r = Vee({dir.File("missing.csv")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing.csv"), std::string::npos) << r.err;

  WriteFile(dir.File("bad.csv"),
            "meter_id,timestamp,value\n"
            "M1,2020-10-29T01:00:00Z,1\n"
            "M1,yesterday,2\n"
            "M1,2020-10-29T03:00:00Z,3\n");
  r = Vee({dir.File("bad.csv"), "--verdicts", dir.File("v.csv"), "--alerts", dir.File("a.csv")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad.csv:3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("yesterday"), std::string::npos) << r.err;
  EXPECT_FALSE(Exists(dir.File("v.csv")));  // no half-written output
  EXPECT_FALSE(Exists(dir.File("a.csv")));

  WriteFile(dir.File("fields.csv"), "meter_id,timestamp,value\nM1,2020-10-29T01:00:00Z,1,extra\n");
  r = Vee({dir.File("fields.csv"), "--peak", "2020-10-01..2020-10-31"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("fields.csv:2:"), std::string::npos) << r.err;

  WriteFile(dir.File("header.csv"), "meter;timestamp;value\n");
  r = Vee({dir.File("header.csv")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;

  // An unparseable value is not a bad row: it is judged null.
  WriteFile(dir.File("value.csv"), "meter_id,timestamp,value\nM1,2020-10-29T01:00:00Z,E#\n");
  r = Vee({dir.File("value.csv"), "--verdicts", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "meter_id,timestamp,value,verdict\nM1,2020-10-29T01:00:00Z,E#,null\n");
}

TEST(OfflineVee, EchoKeepsQuotedFieldsAndSkipsBlankLines) {
  TempDir dir;
  WriteFile(dir.File("r.csv"),
            "meter_id,timestamp,value\r\n"
            "\r\n"
            "\"M1\",\"2020-10-29T01:00:00Z\",\"1,5\"\r\n"
            "M1 , 2020-10-29T02:00:00Z , 2.5 \r\n");
  ToolRun r = Vee({dir.File("r.csv"), "--verdicts", "-"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "meter_id,timestamp,value,verdict\n"
            "M1,2020-10-29T01:00:00Z,\"1,5\",null\n"
            "M1,2020-10-29T02:00:00Z,2.5,ok\n");
}

// Hourly readings of 1 kWh each hour, in UTC, around a DST change; `from`/`to` in UTC.
std::string HourlyCsv(const char* from, const char* to) {
  std::string csv = "meter_id,timestamp,value\n";
  double v = 100;
  for (int64_t t = *ParseTimestamp(from); t <= *ParseTimestamp(to); t += 3600, v += 1)
    csv += "M1," + FormatIsoUtc(t) + "," + FormatNumber6(v) + "\n";
  return csv;
}

// The alerts CSV of `vee` over hourly readings (HourlyCsv) with --tz `zone` and --t1 `t1`.
std::string HourlyAlerts(const char* from, const char* to, const char* zone, const char* t1) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), HourlyCsv(from, to));
  ToolRun r = Vee({dir.File("r.csv"), "--interval", "1h", "--tz", zone, "--t1", t1, "--alerts", dir.File("a.csv")});
  EXPECT_EQ(r.code, 0) << r.err;
  return ReadFile(dir.File("a.csv"));
}

constexpr const char* kAlertsHeader = "meter_id,period_start,timestamp,period_consumption,threshold\n";

// Berlin, 31 March 2024: a 23-hour day. With T1 = 22.5 kWh every day alerts at its 23rd hour —
// the DST day at its end (local midnight, +02:00), the days around it at 23:00 local.
TEST(OfflineVee, BerlinSpringDayIsOneDayOf23Hours) {
  EXPECT_EQ(HourlyAlerts("2024-03-29T23:00:00Z", "2024-04-01T22:00:00Z", "Europe/Berlin", "22.5"),
            std::string(kAlertsHeader) +
                "M1,2024-03-30T00:00:00+01:00,2024-03-30T23:00:00+01:00,23,22.5\n"
                "M1,2024-03-31T00:00:00+01:00,2024-04-01T00:00:00+02:00,23,22.5\n"
                "M1,2024-04-01T00:00:00+02:00,2024-04-01T23:00:00+02:00,23,22.5\n");
}

// Sydney, 7 April 2024: a 25-hour day (clocks back at 03:00). With T1 = 24.5 kWh only that day
// alerts; the same readings cut by the fixed offset +10:00 never do.
TEST(OfflineVee, SydneyAutumnDayIsOneDayOf25Hours) {
  EXPECT_EQ(HourlyAlerts("2024-04-05T13:00:00Z", "2024-04-08T14:00:00Z", "Australia/Sydney", "24.5"),
            std::string(kAlertsHeader) + "M1,2024-04-07T00:00:00+11:00,2024-04-08T00:00:00+10:00,25,24.5\n");
  EXPECT_EQ(HourlyAlerts("2024-04-05T13:00:00Z", "2024-04-08T14:00:00Z", "+10:00", "24.5"), kAlertsHeader);
  // An unknown zone is a bad option.
  TempDir dir;
  WriteFile(dir.File("r.csv"), HourlyCsv("2024-04-05T13:00:00Z", "2024-04-05T14:00:00Z"));
  EXPECT_EQ(Vee({dir.File("r.csv"), "--tz", "Australia/Atlantis"}).code, 2);
}

TEST(OfflineVee, ParsePeakPeriod) {
  auto p = ParsePeakPeriod("2020-06-01..2020-10-31", TimeZone::Fixed(8 * 3600));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->from, *ParseTimestamp("2020-06-01T00:00:00+08:00"));
  EXPECT_EQ(p->to, *ParseTimestamp("2020-11-01T00:00:00+08:00"));
  EXPECT_FALSE(p->Contains(p->from));  // FROM < t
  EXPECT_TRUE(p->Contains(p->to));     // t <= TO
  p = ParsePeakPeriod("2020-06-01T12:00:00..2020-06-02T06:00:00Z", TimeZone::Fixed(8 * 3600));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->from, *ParseTimestamp("2020-06-01T04:00:00Z"));
  EXPECT_EQ(p->to, *ParseTimestamp("2020-06-02T06:00:00Z"));
  EXPECT_FALSE(ParsePeakPeriod("2020-06-01", TimeZone::Fixed(0)).ok());
  EXPECT_FALSE(ParsePeakPeriod("2020-06-01..", TimeZone::Fixed(0)).ok());
  EXPECT_TRUE(ParsePeakPeriod("2020-06-01..2020-06-01", TimeZone::Fixed(0)).ok());  // one whole day
}

// Issue 17 item 5: a peak of several ranges (the seed's "July–September plus holidays"). T1 is
// the largest day of EITHER range (8, from the second), and T2 pairs readings inside a range only.
const char* kTwoRanges =
    "meter_id,timestamp,value\n"
    "M,2020-07-01T00:00:00+08:00,100\n"   // base of the first range's day
    "M,2020-07-01T01:00:00+08:00,102\n"
    "M,2020-07-01T02:00:00+08:00,104\n"   // day 07-01: 4; steps of 2
    "M,2020-07-10T00:00:00+08:00,110\n"   // outside the peak: base of the second range's day
    "M,2020-07-10T01:00:00+08:00,112\n"
    "M,2020-07-10T02:00:00+08:00,118\n"   // day 07-10: 8; a step of 6: T2 = 7.8
    "M,2020-07-11T01:00:00+08:00,121\n"
    "M,2020-07-11T02:00:00+08:00,123\n"
    "M,2020-07-11T03:00:00+08:00,125\n"   // day 07-11: 7 <= 8
    "M,2020-07-12T01:00:00+08:00,127\n"
    "M,2020-07-12T02:00:00+08:00,131\n"
    "M,2020-07-12T03:00:00+08:00,136\n";  // day 07-12: 11 > 8

TEST(OfflineVee, SeveralPeakRangesTeachTogether) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kTwoRanges);
  const char* want =
      "meter_id,period_start,timestamp,period_consumption,threshold\n"
      "M,2020-07-12T00:00:00+08:00,2020-07-12T03:00:00+08:00,11,8\n";
  // Absolute ranges, the flag repeated.
  ToolRun r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-01", "--peak", "2020-07-10..2020-07-10",
                   "--alerts", dir.File("a.csv"), "--verdicts", dir.File("v.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("a.csv")), want);
  EXPECT_EQ(ReadFile(dir.File("v.csv")).find("sudden"), std::string::npos) << ReadFile(dir.File("v.csv"));
  // The same as yearly ranges, in one flag.
  r = Vee({dir.File("r.csv"), "--peak", "07-01..07-01,07-10..07-10", "--alerts", dir.File("a2.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("a2.csv")), want);
  // Today's single range still works: the first range alone gives T1 = 4 and T2 = 2.6.
  r = Vee({dir.File("r.csv"), "--peak", "2020-07-01..2020-07-01", "--alerts", dir.File("a3.csv"), "--verdicts",
           dir.File("v3.csv")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(ReadFile(dir.File("a3.csv")).find("M,2020-07-09T00:00:00+08:00,2020-07-10T00:00:00+08:00,6,4\n"),
            std::string::npos)
      << ReadFile(dir.File("a3.csv"));
  EXPECT_NE(ReadFile(dir.File("v3.csv")).find("M,2020-07-10T02:00:00+08:00,118,sudden\n"), std::string::npos);
  // A bad range is named; exit 2.
  r = Vee({dir.File("r.csv"), "--peak", "07-01..07-01", "--peak", "07-40..08-01"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("07-40..08-01"), std::string::npos) << r.err;
}

// Issue 17 item 7, with the seed's numbers: T2 = 8 x 1.3 = 10.4 (readings 103..129), daily T1 =
// 103 (days of 88, 103, 92, 89, 83), and the seed's example times: the reading at 16:30 on
// 2020-10-30 against the accepted one at 16:30 on 2020-10-29.
const char* kSamePeriod =
    "meter_id,timestamp,value\n"
    "M,2020-10-20T00:00:00+08:00,1000\n"
    "M,2020-10-20T01:00:00+08:00,1003\n"
    "M,2020-10-20T02:00:00+08:00,1008\n"
    "M,2020-10-20T03:00:00+08:00,1010\n"
    "M,2020-10-20T04:00:00+08:00,1015\n"
    "M,2020-10-20T05:00:00+08:00,1023\n"
    "M,2020-10-20T06:00:00+08:00,1029\n"
    "M,2020-10-21T00:00:00+08:00,1088\n"
    "M,2020-10-22T00:00:00+08:00,1191\n"
    "M,2020-10-23T00:00:00+08:00,1283\n"
    "M,2020-10-24T00:00:00+08:00,1372\n"
    "M,2020-10-25T00:00:00+08:00,1455\n"
    "M,2020-10-29T16:00:00+08:00,1790\n"
    "M,2020-10-29T16:30:00+08:00,1795\n"
    "M,2020-10-30T16:00:00+08:00,1892\n"   // d3 = 1892 - 1790 = 102 <= 103
    "M,2020-10-30T16:30:00+08:00,1900\n";  // d = 8 <= T2, but d3 = 1900 - 1795 = 105 > 103

TEST(OfflineVee, SameTimeLastPeriodCheck) {
  TempDir dir;
  WriteFile(dir.File("r.csv"), kSamePeriod);
  const std::vector<std::string> base = {dir.File("r.csv"), "--peak", "2020-10-20..2020-10-24", "--verdicts", "-"};
  // Off by default: every reading ok, and the day's 105 > T1 = 103 alerts (as does 10-29, the
  // first day after the gap).
  ToolRun r = Vee(base);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("sudden"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("sudden 0; 2 alerts"), std::string::npos) << r.err;
  // On with coefficient 1: the 16:30 reading fails the third difference, so it is `sudden` (and
  // does not alert); its 16:00 neighbour passes.
  std::vector<std::string> on = base;
  on.insert(on.end(), {"--same-period-coefficient", "1"});
  r = Vee(on);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("M,2020-10-30T16:00:00+08:00,1892,ok\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("M,2020-10-30T16:30:00+08:00,1900,sudden\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("sudden 1; 1 alerts"), std::string::npos) << r.err;
  // A looser coefficient (105 <= 1.1 x 103) lets it pass.
  on.back() = "1.1";
  r = Vee(on);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("sudden"), std::string::npos) << r.out;
}

TEST(OfflineVee, FormatNumber6) {
  EXPECT_EQ(FormatNumber6(103), "103");
  EXPECT_EQ(FormatNumber6(10.4), "10.4");
  EXPECT_EQ(FormatNumber6(1.0 / 3.0), "0.333333");
  EXPECT_EQ(FormatNumber6(0.0000001), "0");
  EXPECT_EQ(FormatNumber6(-0.0000001), "0");
  EXPECT_EQ(FormatNumber6(-2.5), "-2.5");
  EXPECT_EQ(FormatNumber6(1e7), "10000000");
}

// --- real data: DAIAD smart water meters (Alicante), with injected anomalies -------------------

struct DaiadRow {
  std::string meter;
  std::string ts;   // local time, ISO without offset
  double litres = 0;
};

// Reads the given meters' rows from swm_trialA.zip (libarchive); empty when unavailable.
std::vector<DaiadRow> ReadDaiad(const std::string& zip, const std::map<std::string, std::string>& keep) {
  std::vector<DaiadRow> rows;
  Status read = codec::ForEachCompressedLine(
      zip,
      [&](int64_t lineno, std::string_view text) {
        if (lineno == 1) return Status::Ok();  // header
        const std::string line(text);
        size_t a = line.find(';'), b = line.find(';', a + 1), c = line.find(';', b + 1);
        if (c == std::string::npos) return Status::Ok();
        auto it = keep.find(line.substr(0, a));
        if (it == keep.end()) return Status::Ok();
        std::string dt = line.substr(a + 1, b - a - 1);  // dd/mm/yyyy HH:MM:SS
        if (dt.size() != 19) return Status::Ok();
        DaiadRow r;
        r.meter = it->second;
        r.ts = dt.substr(6, 4) + "-" + dt.substr(3, 2) + "-" + dt.substr(0, 2) + "T" + dt.substr(11);
        r.litres = std::atof(line.substr(b + 1, c - b - 1).c_str());
        rows.push_back(std::move(r));
        return Status::Ok();
      },
      "swm_trialA.csv");
  if (!read.ok()) rows.clear();
  return rows;
}

TEST(OfflineVee, RealDaiadWaterMetersWithInjectedAnomalies) {
  const std::string zip = std::string(MH_SHARED_DATA_DIR) + "/water/daiad/swm_trialA.zip";
  if (!Exists(zip)) GTEST_SKIP() << "real data not found: " << zip;
  // Five meters: two with many real backward steps (1-litre jitter and larger), three quieter.
  const std::map<std::string, std::string> keep = {
      {"219ffd09-b533-4b79-828d-210cd4aacf80", "W219ffd09"}, {"12913a45-9436-47d3-a25c-21bff410f1ee", "W12913a45"},
      {"f52f0ae6-a020-43c7-b600-495fbedac58e", "Wf52f0ae6"}, {"4296fd72-9b65-44b3-ad6a-07865729e181", "W4296fd72"},
      {"dd05b87a-061e-4645-8a53-0e3d22ef8e2b", "Wdd05b87a"}};
  std::vector<DaiadRow> rows = ReadDaiad(zip, keep);
  if (rows.empty()) GTEST_SKIP() << "could not read " << zip;
  ASSERT_GT(rows.size(), 30000u);

  // Real backward steps: rows below the meter's previous row.
  std::vector<bool> backward(rows.size(), false);
  for (size_t i = 1; i < rows.size(); ++i)
    backward[i] = rows[i].meter == rows[i - 1].meter && rows[i].litres < rows[i - 1].litres;

  // Inject anomalies into a quiet meter after the peak period, where the row before is an
  // ordinary hourly successor: a null, a backward step, a spike, a zero.
  enum Kind { kNullValue, kBackward, kSpike, kZero };
  std::map<size_t, Kind> injected;
  {
    Kind next = kNullValue;
    size_t last = 0;
    for (size_t i = 2; i + 1 < rows.size() && injected.size() < 4; ++i) {
      if (rows[i].meter != "W4296fd72" || rows[i].ts < "2016-10-10") continue;
      if (rows[i - 1].meter != rows[i].meter || rows[i - 2].meter != rows[i].meter) continue;
      if (backward[i] || backward[i - 1] || backward[i + 1] || (last != 0 && i < last + 20)) continue;
      injected[i] = next;
      next = static_cast<Kind>(next + 1);
      last = i;
    }
  }
  ASSERT_EQ(injected.size(), 4u);

  TempDir dir;
  {
    std::string csv = "meter_id,timestamp,value\n";
    char num[64];
    for (size_t i = 0; i < rows.size(); ++i) {
      csv += rows[i].meter + "," + rows[i].ts + ",";
      auto it = injected.find(i);
      double m3 = rows[i].litres / 1000.0;
      if (it == injected.end()) {
        std::snprintf(num, sizeof num, "%.3f", m3);
        csv += num;
      } else if (it->second == kBackward) {
        std::snprintf(num, sizeof num, "%.3f", rows[i - 1].litres / 1000.0 - 5.0);
        csv += num;
      } else if (it->second == kSpike) {
        std::snprintf(num, sizeof num, "%.3f", rows[i - 1].litres / 1000.0 + 100.0);
        csv += num;
      } else if (it->second == kZero) {
        csv += "0";
      }  // kNullValue: empty
      csv += "\n";
    }
    WriteFile(dir.File("daiad.csv"), csv);
  }

  auto run = [&](const std::string& tolerance, std::vector<std::string>* verdicts, const std::string& reset_after = "0") {
    ToolRun r = Vee({dir.File("daiad.csv"), "--peak", "2016-06-01..2016-08-31", "--interval", "1h", "--tz", "+01:00",
                     "--period", "day", "--negative-tolerance", tolerance, "--reset-after", reset_after, "--verdicts",
                     dir.File("v.csv"), "--alerts", dir.File("a.csv")});
    EXPECT_EQ(r.code, 0) << r.err;
    std::cout << "[ daiad tol " << tolerance << ", reset_after " << reset_after << " ] " << r.err;
    std::ifstream f(dir.File("v.csv"));
    std::string line;
    std::getline(f, line);
    EXPECT_EQ(line, "meter_id,timestamp,value,verdict");
    while (std::getline(f, line)) verdicts->push_back(line.substr(line.rfind(',') + 1));
    return r;
  };
  std::vector<std::string> strict, tolerant, resetting;
  run("0", &strict);
  run("0.002", &tolerant);
  run("0.002", &resetting, "3");
  ASSERT_EQ(strict.size(), rows.size());
  ASSERT_EQ(tolerant.size(), rows.size());
  ASSERT_EQ(resetting.size(), rows.size());

  const char* expected[] = {"null", "error", "sudden", "null"};
  for (const auto& [i, kind] : injected) {
    EXPECT_EQ(strict[i], expected[kind]) << "row " << i << " " << rows[i].meter << " " << rows[i].ts;
    EXPECT_EQ(tolerant[i], expected[kind]) << "row " << i;
    EXPECT_EQ(resetting[i], expected[kind]) << "row " << i;
  }

  int steps = 0, steps_error_strict = 0, steps_error_tolerant = 0, error_strict = 0, error_tolerant = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (injected.count(i) || (i > 0 && injected.count(i - 1))) continue;
    error_strict += strict[i] == "error";
    error_tolerant += tolerant[i] == "error";
    if (!backward[i]) continue;
    ++steps;
    steps_error_strict += strict[i] == "error";
    steps_error_tolerant += tolerant[i] == "error";
  }
  std::cout << "[ daiad ] " << rows.size() << " real rows of 5 meters, " << steps
            << " real backward steps: flagged error with negative_tolerance 0: " << steps_error_strict
            << ", with 0.002 m3: " << steps_error_tolerant << "; all error verdicts: " << error_strict << " vs "
            << error_tolerant << "\n";
  RecordProperty("backward_steps", steps);
  RecordProperty("backward_steps_error_tol0", steps_error_strict);
  RecordProperty("backward_steps_error_tol0_002", steps_error_tolerant);
  EXPECT_GT(steps, 100);
  EXPECT_LT(steps_error_tolerant, steps_error_strict);
  EXPECT_LT(error_tolerant, error_strict);
}

}  // namespace
}  // namespace mh::vee
