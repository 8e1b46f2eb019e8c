#include "water/offline_water.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/time.h"

namespace mh::water {
namespace {

struct CmdRun {
  int code;
  std::string out, err;
};

CmdRun Water(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  CmdRun r;
  r.code = RunWaterCommand(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Two feature codes over two 6-hour windows of 2024-03-01: bbb offset +0.05 (form A) then healthy;
// aaa gain +5 % in the first window (form B) and erratic in the second.
std::string PairsCsv() {
  std::string s = "feature_code,timestamp,flowmeter,terminal\n";
  const int64_t day = *ParseTimestamp("2024-03-01T00:00:00Z");
  char buf[160];
  for (int i = 0; i < 60; ++i) {
    const double q = 0.1 + 0.02 * i;
    const int64_t t1 = day + 3600 + i * 60, t2 = day + 6 * 3600 + i * 60;
    std::snprintf(buf, sizeof buf, "bbb,%s,%.4f,%.4f\n", FormatIsoUtc(t1).c_str(), q, q + 0.05);
    s += buf;
    std::snprintf(buf, sizeof buf, "bbb,%lld,%.4f,%.4f\n", static_cast<long long>(t2), q, q);
    s += buf;
    std::snprintf(buf, sizeof buf, "aaa,%s,%.4f,%.4f\n", FormatIsoUtc(t1).c_str(), q, 1.05 * q);
    s += buf;
    std::snprintf(buf, sizeof buf, "aaa,%s,%.4f,%.4f\n", FormatIsoUtc(t2).c_str(), q, q + ((i % 2) ? 0.3 : -0.3));
    s += buf;
  }
  return s;
}

TEST(WaterCheck, VerdictsSortedByCodeThenWindow) {
  const std::string path = WriteTemp("pairs.csv", PairsCsv());
  CmdRun r = Water({"check", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "aaa,2024-03-01T00:00:00Z,steady,1.05,0\n"
            "aaa,2024-03-01T06:00:00Z,unsteady,,\n"
            "bbb,2024-03-01T00:00:00Z,steady,1,0.05\n"
            "bbb,2024-03-01T06:00:00Z,none,,\n");
}

TEST(WaterCheck, TwelveHourWindowAndRangeAndShare) {
  const std::string path = WriteTemp("pairs12.csv", PairsCsv());
  CmdRun r = Water({"check", path, "--window=12h"});
  ASSERT_EQ(r.code, 0) << r.err;
  // bbb's 12 h window mixes offset and healthy halves: form A fails (half the differences at
  // +0.05), but the line q2 = q1 + 0.025 explains the data (R² > 0.98) and is out of tolerance at
  // low flows: form B.
  EXPECT_EQ(r.out, "aaa,2024-03-01T00:00:00Z,unsteady,,\nbbb,2024-03-01T00:00:00Z,steady,1,0.025\n");
  // aaa: 55 gain-drift differences ≥ 0.01 plus 30 of +0.3 among 120 pairs: 71 % positive in range.
  r = Water({"check", path, "--window", "12h", "--min-share", "0.7"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "aaa,2024-03-01T00:00:00Z,steady,1.037503,-0.008627\nbbb,2024-03-01T00:00:00Z,steady,1,0.025\n");
  r = Water({"check", path, "--window", "12h", "--min-share", "0.75"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "aaa,2024-03-01T00:00:00Z,unsteady,,\nbbb,2024-03-01T00:00:00Z,steady,1,0.025\n");
  // With the range above 0.05, bbb's offset is no longer form A; it is still a clean line (form B).
  r = Water({"check", path, "--range", "0.06..0.5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("bbb,2024-03-01T00:00:00Z,steady,1,0.05\n"), std::string::npos) << r.out;
}

TEST(WaterCheck, BadInputExitsTwoWithFileAndLine) {
  const std::string bad = WriteTemp("bad.csv", "feature_code,timestamp,flowmeter,terminal\nF1,2024-03-01T00:00:00Z,0.1,0.1\nF1,2024-03-01T00:01:00Z,abc,0.1\n");
  CmdRun r = Water({"check", bad});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub water check: " + bad + ":3: flowmeter 'abc' is not a number\n");
  const std::string hdr = WriteTemp("hdr.csv", "meter_id,timestamp,value\n");
  r = Water({"check", hdr});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(hdr + ":1: header is 'meter_id,timestamp,value'"), std::string::npos) << r.err;
  const std::string dup = WriteTemp("dup.csv", "feature_code,timestamp,flowmeter,terminal\nF1,60,0.1,0.1\nF1,1970-01-01T00:01:00Z,0.1,0.1\n");
  r = Water({"check", dup});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(dup + ":3: timestamp '1970-01-01T00:01:00Z' repeats line 2 for feature_code F1"), std::string::npos) << r.err;
  const std::string ts = WriteTemp("ts.csv", "feature_code,timestamp,flowmeter,terminal\nF1,yesterday,0.1,0.1\n");
  r = Water({"check", ts});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(ts + ":2: timestamp 'yesterday'"), std::string::npos) << r.err;
  const std::string fields = WriteTemp("fields.csv", "feature_code,timestamp,flowmeter,terminal\nF1,60,0.1\n");
  r = Water({"check", fields});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(fields + ":2: 3 fields, want 4"), std::string::npos) << r.err;
  EXPECT_EQ(Water({"check", "/nonexistent/p.csv"}).code, 2);
  EXPECT_EQ(Water({"check", bad, "--window", "7h"}).code, 2);
  EXPECT_EQ(Water({"check", bad, "--range", "0.5..0.1"}).code, 2);
  EXPECT_EQ(Water({"check", bad, "--min-share", "0"}).code, 2);
  EXPECT_EQ(Water({"check", bad, "--bogus", "1"}).code, 2);
  EXPECT_EQ(Water({"check"}).code, 2);
  EXPECT_EQ(Water({"check"}).err.substr(0, Water({"check"}).err.find('\n')), "meterhub water check: missing PAIRS.csv");
  EXPECT_EQ(Water({"check", bad, "--bogus", "1"}).err.substr(0, 42), "meterhub water check: unknown option --bog");
  EXPECT_NE(Water({"check", bad, "--window"}).err.find("option --window needs a value"), std::string::npos);
  EXPECT_NE(Water({"check", bad, "--window", "6h", "--window=12h"}).err.find("option --window given twice"), std::string::npos);
  EXPECT_NE(Water({"check", bad, bad}).err.find("unexpected argument '" + bad + "'"), std::string::npos);
  EXPECT_NE(Water({"check", bad, "--min-share", "x"}).err.find("--min-share 'x' is not a share"), std::string::npos);
  EXPECT_EQ(Water({"read", "x.png"}).code, 2);
  EXPECT_EQ(Water({}).code, 2);
  CmdRun help = Water({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("meterhub water check PAIRS.csv"), std::string::npos);
}

TEST(WaterCheck, TooFewPairsPrintNone) {
  const std::string p = WriteTemp("few.csv", "feature_code,timestamp,flowmeter,terminal\nF1,60,0.1,0.3\nF1,120,0.1,0.3\n");
  CmdRun r = Water({"check", p});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "F1,1970-01-01T00:00:00Z,none,,\n");
}

}  // namespace
}  // namespace mh::water
