// `meterhub audit` as a library call: the worked example passes clean and raises the right alarm
// per attack; bad usage and malformed files exit 2 naming the file and line.
#include "audit/offline_audit.h"

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

#include "audit/ledger_records.h"
#include "audit/verified_ledger.h"
#include "crypto/crypto.h"
#include "meter/audit/fixed_segment.h"
#include "support/test_env.h"

namespace mh::audit {
namespace {

struct Out {
  int code = -1;
  std::string out, err;
};

Out Cmd(const std::vector<std::string>& argv) {
  std::ostringstream o, e;
  Out r;
  r.code = RunAuditCommand(argv, o, e);
  r.out = o.str();
  r.err = e.str();
  return r;
}

Out Verify(const std::string& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {"verify", "--ledger", dir + "/ledger", "--meter", "M1", "--code", dir + "/FIXED.bin",
                                   "--dynamic", dir + "/DYNAMIC.txt", "--compare", dir + "/TABLE.txt"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Cmd(argv);
}

TEST(OfflineAuditTest, ExampleCleanAndAttacked) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"none", "pass\n"},
      {"code", "code-alarm line 7\n"},
      {"replay", "time-alarm window 1\ntime-alarm window 2\ntime-alarm window 3\n"},
      {"bypass", "time-alarm window 1\n"},
      {"ledger", "ledger-alarm\n"},
      {"compare", "code-alarm line 7\n"},
  };
  for (const auto& [attack, want] : cases) {
    testing::TempDir dir("audit-example-" + attack);
    Out w = Cmd({"example", "--out", dir.path(), "--attack", attack});
    ASSERT_EQ(w.code, 0) << w.err;
    // The ledger holds the comparison table: --compare is not needed.
    Out v = Cmd({"verify", "--ledger", dir / "ledger", "--meter", "M1", "--code", dir / "FIXED.bin", "--dynamic",
                 dir / "DYNAMIC.txt"});
    EXPECT_EQ(v.out, want) << attack << ": " << v.err;
    EXPECT_EQ(v.code, attack == "none" ? 0 : 1) << attack;
  }
}

TEST(OfflineAuditTest, ExampleFilesAreTheSeedsExample) {
  testing::TempDir dir("audit-example-files");
  ASSERT_EQ(Cmd({"example", "--out", dir.path()}).code, 0);
  EXPECT_EQ(testing::ReadFile(dir / "DYNAMIC.txt"),
            "mh-dynamic 1\n"
            "meter M1\n"
            "cycle 2026-11-20 D=3 tz=0 next=3 labels=1,1\n"
            "W1 2026-11-20 expect=0 [7200,10800] [18000,25200] #4\n"
            "W2 2026-11-21 expect=0 [S0,7200] [25200,E28800] #4\n"
            "W3 2026-11-22 expect=0 [7200,12600] #2\n");
  // The ledger directory is the `meterhub ledger export` format, signed with the example's fixed key.
  const std::string ledger = testing::ReadFile(dir / "ledger/entries.jsonl");
  const std::string payload = "mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=1795140000 edge=start";
  EXPECT_NE(ledger.find(R"("kind":"audit.signal.v1",)"), std::string::npos) << ledger;
  EXPECT_NE(ledger.find(R"("meter_id":"M1","payload":")" + crypto::HexEncode(crypto::AsBytes(payload)) +
                        R"(","seq":1,"window":20777})"),
            std::string::npos)
      << ledger;
  EXPECT_TRUE(testing::Exists(dir / "ledger/head.json"));
  EXPECT_TRUE(testing::Exists(dir / "ledger/heads.jsonl"));
  EXPECT_EQ(testing::ReadFile(dir / "ledger/public_key").size(), 65u);
  // Reproducible: the same files again.
  testing::TempDir again("audit-example-files-again");
  ASSERT_EQ(Cmd({"example", "--out", again.path()}).code, 0);
  EXPECT_EQ(testing::ReadFile(again / "ledger/entries.jsonl"), ledger);
  EXPECT_EQ(testing::ReadFile(again / "ledger/head.json"), testing::ReadFile(dir / "ledger/head.json"));
  Out explained = Verify(dir.path(), {"--explain", "--tolerance", "0"});
  EXPECT_EQ(explained.code, 0);
}

TEST(OfflineAuditTest, BadUsageAndInput) {
  testing::TempDir dir("audit-bad");
  ASSERT_EQ(Cmd({"example", "--out", dir.path()}).code, 0);
  EXPECT_EQ(Cmd({}).code, 2);
  EXPECT_EQ(Cmd({"frobnicate"}).code, 2);
  Out help = Cmd({"verify", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("meterhub audit verify"), std::string::npos);
  Out missing = Cmd({"verify", "--meter", "M1"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.err, "meterhub audit verify: missing required option --ledger\n");
  EXPECT_EQ(Verify(dir.path(), {"--bogus", "1"}).err, "meterhub audit verify: unknown option --bogus\n");
  EXPECT_EQ(Verify(dir.path(), {"--tolerance", "-1"}).code, 2);
  EXPECT_EQ(Verify(dir.path(), {"--tolerance"}).err, "meterhub audit verify: option --tolerance needs a value\n");
  EXPECT_EQ(Cmd({"example", "--out", dir / "x", "stray"}).err, "meterhub audit example: unexpected argument 'stray'\n");
  Out unknown_meter = Cmd({"verify", "--ledger", dir / "ledger", "--meter", "M1", "--code", dir / "FIXED.bin", "--dynamic",
                           dir / "DYNAMIC.txt", "--compare", dir / "TABLE.txt", "--meter", "M2"});
  EXPECT_EQ(unknown_meter.err, "meterhub audit verify: option --meter given twice\n");

  testing::WriteFile(dir / "DYNAMIC.txt", "mh-dynamic 1\nmeter M1\ncycle 2026-11-20 D=3 tz=0 next=3 labels=0,0\nW1 2026-11-20 expect=0 [1,2 #2\n");
  Out bad_dyn = Verify(dir.path());
  EXPECT_EQ(bad_dyn.code, 2);
  EXPECT_EQ(bad_dyn.err, "meterhub audit verify: " + (dir / "DYNAMIC.txt") + ":4: slot pair '[1,2' is not [START,END]\n");

  ASSERT_EQ(Cmd({"example", "--out", dir.path()}).code, 0);
  testing::WriteFile(dir / "TABLE.txt", "mh-compare 1\nseven\n");
  EXPECT_EQ(Verify(dir.path()).err, "meterhub audit verify: " + (dir / "TABLE.txt") +
                                        ":2: 'seven' is not a line number or range A-B (1 <= A <= B)\n");

  ASSERT_EQ(Cmd({"example", "--out", dir.path()}).code, 0);
  const std::string entries = testing::ReadFile(dir / "ledger/entries.jsonl");
  const int lines = static_cast<int>(std::count(entries.begin(), entries.end(), '\n'));
  testing::WriteFile(dir / "ledger/entries.jsonl", entries + "{\"index\":" + std::to_string(lines) + ",\"meter_id\":\"M1\"}\n");
  Out bad_ledger = Verify(dir.path());
  EXPECT_EQ(bad_ledger.code, 2);
  EXPECT_NE(bad_ledger.err.find("entries.jsonl:" + std::to_string(lines + 1) + ": field 'window' missing or not an integer"),
            std::string::npos)
      << bad_ledger.err;
  // Another signer's public key: the head does not verify → ledger-alarm.
  testing::WriteFile(dir / "ledger/entries.jsonl", entries);
  Out other_key = Verify(dir.path(), {"--public-key", std::string(64, 'a')});
  EXPECT_EQ(other_key.out, "ledger-alarm\n");
  EXPECT_EQ(other_key.code, 1);

  EXPECT_EQ(Cmd({"verify", "--ledger", dir / "FIXED.bin", "--meter", "M1", "--code", dir / "FIXED.bin", "--dynamic",
                 dir / "DYNAMIC.txt", "--compare", dir / "TABLE.txt"})
                .code,
            2);
  Out other = Cmd({"verify", "--ledger", dir / "ledger", "--meter", "M9", "--code", dir / "FIXED.bin", "--dynamic",
                   dir / "DYNAMIC.txt", "--compare", dir / "TABLE.txt"});
  EXPECT_EQ(other.code, 2);
  EXPECT_EQ(Cmd({"example"}).code, 2);
  EXPECT_EQ(Cmd({"example", "--out", dir.path(), "--attack", "emp"}).code, 2);
}

// Issue 11: the table is the ledger's. The meter's shrunken table given as --compare is refused
// naming both; the same table as the ledger's is accepted.
TEST(OfflineAuditTest, CompareMustAgreeWithTheLedgersTable) {
  testing::TempDir dir("audit-compare");
  ASSERT_EQ(Cmd({"example", "--out", dir.path(), "--attack", "compare"}).code, 0);
  EXPECT_EQ(testing::ReadFile(dir / "TABLE.txt"), "mh-compare 1\n3-6\n8-11\n");  // what the meter sends
  Out v = Verify(dir.path());
  EXPECT_EQ(v.code, 2);
  EXPECT_EQ(v.out, "");
  EXPECT_EQ(v.err, "meterhub audit verify: --compare " + (dir / "TABLE.txt") +
                       " lists lines 3-6, 8-11, the ledger's comparison table for meter M1 lists lines 3-11 (omit --compare to "
                       "use the ledger's)\n");
  testing::WriteFile(dir / "TABLE.txt", "mh-compare 1\n3-11\n");
  Out same = Verify(dir.path());
  EXPECT_EQ(same.out, "code-alarm line 7\n");
  EXPECT_EQ(same.code, 1);
}

// A ledger from before tables were registered (a code entry only): --compare is required.
TEST(OfflineAuditTest, LedgerWithoutATableNeedsCompare) {
  testing::TempDir dir("audit-legacy");
  SimulatedClock clock(1795400000000);
  auto ledger = AuditLedger::InMemory(clock);
  ASSERT_TRUE(ledger.ok());
  ASSERT_TRUE((*ledger)->Append(EncodeCodeRegistration("M1", meter::audit::DefaultFixedImage(), 1)).ok());
  ASSERT_TRUE(WriteLedgerDirectory((*ledger)->store(), dir / "ledger", &(*ledger)->ledger()).ok());
  testing::WriteFile(dir / "FIXED.bin", meter::audit::DefaultFixedImage());
  testing::WriteFile(dir / "DYNAMIC.txt", "mh-dynamic 1\nmeter M1\ncycle 2026-11-20 D=3 tz=0 next=3 labels=0,0\n");
  testing::WriteFile(dir / "TABLE.txt", "mh-compare 1\n3-11\n");
  Out without = Cmd({"verify", "--ledger", dir / "ledger", "--meter", "M1", "--code", dir / "FIXED.bin", "--dynamic",
                     dir / "DYNAMIC.txt"});
  EXPECT_EQ(without.code, 2);
  EXPECT_EQ(without.err, "meterhub audit verify: the ledger holds no comparison table for meter 'M1' (commissioned "
                         "before tables were registered): give --compare TABLE.txt\n");
  Out with = Verify(dir.path());
  EXPECT_EQ(with.out, "pass\n") << with.err;
}

}  // namespace
}  // namespace mh::audit

