// `meterhub export` end to end (issue 18 item 4): NEM12 out of one store and back into another
// through `meterhub import --format nem12` gives the same interval consumption and quality (the
// second store's NEM12 export equals the first's), on a
// hand-written file with estimated and mixed-quality days and on a real AEMO NEM12 file; CSV in the
// import's columns plus quality; FROM < t <= TO; meters NEM12 cannot carry are named and left out.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/sqlite_shell.h"
#include "support/test_env.h"

namespace mh {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Bin() { return testing::MeterhubBinary(); }

// A store in `dir` with its configuration file; returns the --config argument.
std::string Store(const TempDir& dir, const std::string& name) {
  const std::string config = dir / (name + ".toml");
  testing::WriteFile(config, "[store]\npath = \"" + (dir / (name + ".db")) + "\"\n[ingest]\ntimezone = \"+10:00\"\n");
  return config;
}

// The NEM12 export of a store without its 100 header line (it carries the time of writing).
std::string ExportNem12Body(const std::string& config, const std::string& out) {
  auto r = RunCommand(Bin() + " export --config " + config + " --from 2000-01-01 --to 2030-01-01 --format nem12 --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const std::string text = testing::ReadFile(out);
  return text.substr(std::min(text.size(), text.find('\n') + 1));
}

std::string ExportCsv(const std::string& config, const std::string& out, const std::string& extra = "") {
  auto r = RunCommand(Bin() + " export --config " + config + " --from 2000-01-01 --to 2030-01-01 --format csv --out " + out +
                      " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return testing::ReadFile(out);
}

// Two 30-minute days of NMI 6001234567 channel E1: an actual day with a 400-record S14 run, an
// estimated day (E52).
std::string HandFile() {
  auto day = [](const char* date, const char* tail, double base) {
    std::string s = std::string("300,") + date;
    for (int i = 0; i < 48; ++i) s += "," + std::to_string(base + 0.125 * (i % 8)).substr(0, 5);
    return s + "," + tail + "\r\n";
  };
  return "100,NEM12,202410010000,MDP1,RETAILER\r\n"
         "200,6001234567,E1,1,E1,N1,METER1,KWH,30,\r\n" +
         day("20240930", "V,,,,", 0.5) + "400,1,20,A,,\r\n400,21,30,S14,76,\r\n400,31,48,A,,\r\n" +
         day("20241001", "E52,,,,", 0.25) + "900\r\n";
}

// Issue 18 item 3: the import stores a NEM12 day flagged E52 as the source's estimates —
// estimated, quality E52, a reading_estimates row with estimated_by = import — and the actual day
// before it as measured.
TEST(Export, Nem12EIntervalsAreImportedAsEstimates) {
  TempDir dir("import-nem12-e");
  testing::WriteFile(dir / "in.nem12", HandFile());
  const std::string config = Store(dir, "s");
  auto r = RunCommand(Bin() + " import --format nem12 " + (dir / "in.nem12") + " --config " + config);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string db = dir / "s.db";
  EXPECT_EQ(testing::SqliteQueryText(db, "SELECT count(*) FROM reading_estimates WHERE estimated_by = 'import'"
                                         " AND method = 'E52'"),
            "48");
  EXPECT_EQ(testing::SqliteQueryText(db, "SELECT count(*) FROM reading_estimates"), "48");
  EXPECT_EQ(testing::SqliteQueryText(db, "SELECT min(ts) FROM reading_estimates"),
            std::to_string(1727704800 + 1800));  // 2024-10-01 00:30 +10:00, the day's first interval end
  const std::string csv = ExportCsv(config, dir / "out.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 96) << csv;
}

TEST(Export, Nem12RoundTripThroughImport) {
  TempDir dir("export-nem12");
  testing::WriteFile(dir / "in.nem12", HandFile());
  const std::string first = Store(dir, "first"), second = Store(dir, "second");
  auto r = RunCommand(Bin() + " import --format nem12 " + (dir / "in.nem12") + " --config " + first);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(Bin() + " export --config " + first + " --from 2024-09-30 --to 2024-10-01 --format nem12 --out " +
                 (dir / "out.nem12"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string nem12 = testing::ReadFile(dir / "out.nem12");
  EXPECT_EQ(nem12.rfind("100,NEM12,", 0), 0u) << nem12;
  EXPECT_NE(nem12.find("200,6001234567,E1,1,E1,N1,,KWH,30,"), std::string::npos) << nem12;
  EXPECT_NE(nem12.find(",E52,,,,\r\n"), std::string::npos) << nem12;   // the estimated day
  // The meter's first reading closes no known interval: its slot is null.
  EXPECT_NE(nem12.find(",V,,,,\r\n400,1,1,N,,\r\n400,2,20,A,,\r\n400,21,30,S14,76,\r\n400,31,48,A,,\r\n"),
            std::string::npos) << nem12;
  r = RunCommand(Bin() + " import --format nem12 " + (dir / "out.nem12") + " --config " + second);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ExportNem12Body(first, dir / "a.nem12"), ExportNem12Body(second, dir / "b.nem12"));
  const std::string a = ExportCsv(first, dir / "a.csv");
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 1 + 96) << a;
  EXPECT_EQ(a.rfind("meter_id,timestamp,value,quality\n", 0), 0u) << a;
  EXPECT_NE(a.find("6001234567-E1,2024-09-30T09:30:00Z,"), std::string::npos) << a;  // 20th interval: 19:30 +10:00
  EXPECT_NE(a.find(",S14:76\n"), std::string::npos) << a;
  EXPECT_NE(a.find(",E52\n"), std::string::npos) << a;
}

// CSV out of one store and back into another through `meterhub import` (columns matched by the
// header's names, the quality flag kept) gives the same CSV; the columns may come in any order.
TEST(Export, CsvRoundTripThroughImport) {
  TempDir dir("export-csv-round");
  testing::WriteFile(dir / "in.nem12", HandFile());
  const std::string first = Store(dir, "first"), second = Store(dir, "second"), third = Store(dir, "third");
  auto r = RunCommand(Bin() + " import --format nem12 " + (dir / "in.nem12") + " --config " + first);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string a = ExportCsv(first, dir / "a.csv");
  ASSERT_NE(a.find(",E52\n"), std::string::npos) << a;
  r = RunCommand(Bin() + " import " + (dir / "a.csv") + " --config " + second);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("accepted: 96"), std::string::npos) << r.output;
  EXPECT_EQ(ExportCsv(second, dir / "b.csv"), a);

  // The same rows with the columns in another order (and a channel column naming the billing channel).
  std::string shuffled = "quality,value,channel,meter_id,timestamp\n";
  std::istringstream lines(a);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    f.resize(4);
    shuffled += f[3] + "," + f[2] + ",," + f[0] + "," + f[1] + "\n";
  }
  testing::WriteFile(dir / "shuffled.csv", shuffled);
  r = RunCommand(Bin() + " import " + (dir / "shuffled.csv") + " --config " + third);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ExportCsv(third, dir / "c.csv"), a);

  // A header naming an unknown or a repeated column, or missing a required one, is refused (exit 2);
  // so is a row whose quality is no flag.
  for (const std::string& bad : {std::string("meter_id,timestamp,value,qualty\nM1,2024-10-01T00:00:00Z,1,A\n"),
                                 std::string("meter_id,timestamp,value,value\nM1,2024-10-01T00:00:00Z,1,1\n"),
                                 std::string("meter_id,quality,timestamp\nM1,A,2024-10-01T00:00:00Z\n"),
                                 std::string("meter_id,timestamp,value,quality\nM1,2024-10-01T00:00:00Z,1,bogus\n")}) {
    testing::WriteFile(dir / "bad.csv", bad);
    r = RunCommand(Bin() + " import " + (dir / "bad.csv") + " --config " + Store(dir, "bad"));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
  }
}

TEST(Export, RealNem12RoundTrip) {
  const std::string file = testing::SharedData("electricity/au_households/meter01.csv");
  if (!testing::Exists(file)) GTEST_SKIP() << "shared data absent: " << file;
  TempDir dir("export-real");
  const std::string first = Store(dir, "first"), second = Store(dir, "second");
  auto r = RunCommand(Bin() + " import --format nem12 " + file + " --config " + first);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(Bin() + " export --config " + first + " --from 2000-01-01 --to 2030-01-01 --format nem12 --out " +
                 (dir / "out.nem12"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(Bin() + " import --format nem12 " + (dir / "out.nem12") + " --config " + second);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string a = ExportNem12Body(first, dir / "a.nem12"), b = ExportNem12Body(second, dir / "b.nem12");
  EXPECT_GT(a.size(), 100000u);
  EXPECT_TRUE(a == b) << "the re-imported store's NEM12 differs from the first's (" << a.size() << " vs " << b.size() << " bytes)";
}

TEST(Export, CsvSpanMetersAndRefusals) {
  TempDir dir("export-csv");
  const std::string config = Store(dir, "s");
  testing::WriteFile(dir / "r.csv",
                     "meter_id,timestamp,value\n"
                     "M1,2024-10-01T00:00:00+10:00,10\nM1,2024-10-01T00:30:00+10:00,11.5\n"
                     "M1,2024-10-01T01:00:00+10:00,12\nVERYLONGMETERID01,2024-10-01T00:30:00+10:00,1\n");
  auto r = RunCommand(Bin() + " import " + (dir / "r.csv") + " --config " + config);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // FROM < t <= TO: the reading at FROM is out, the one at TO in.
  r = RunCommand(Bin() + " export --config " + config +
                 " --from 2024-10-01T00:00:00+10:00 --to 2024-10-01T01:00:00+10:00 --meter M1 --format csv --out " + (dir / "o.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(testing::ReadFile(dir / "o.csv"),
            "meter_id,timestamp,value,quality\nM1,2024-09-30T14:30:00Z,11.5,\nM1,2024-09-30T15:00:00Z,12,\n");
  // NEM12: the 17-character id is no NMI; it is named and left out, M1 is written.
  r = RunCommand(Bin() + " export --config " + config + " --from 2024-10-01 --to 2024-10-01 --format nem12 --out " + (dir / "o.nem12"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("VERYLONGMETERID01 left out"), std::string::npos) << r.output;
  EXPECT_NE(testing::ReadFile(dir / "o.nem12").find("200,M1,E1,"), std::string::npos);
  // Bad options exit 2.
  for (const std::string& bad : {std::string(" --from 2024-10-02 --to 2024-10-01 --format csv"),
                                 std::string(" --from x --to 2024-10-01"), std::string(" --from 2024-10-01 --to 2024-10-02 --format xml"),
                                 std::string(" --from 2024-10-01 --to 2024-10-02 --meter NOPE")}) {
    r = RunCommand(Bin() + " export --config " + config + bad + " --out " + (dir / "x"));
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.output;
  }
}

}  // namespace
}  // namespace mh
