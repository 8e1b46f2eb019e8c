// End-to-end tests of `meterhub ledger verify` and `meterhub ledger export`: a ledger built with the
// library verifies in its SQLite file and as an exported directory; then one altered entry byte,
// one deleted row and one altered head each make verify fail naming what was changed.
#include <gtest/gtest.h>

#include "audit/ledger/ledger.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_ledger_store.h"
#include "support/sqlite_shell.h"
#include "support/test_env.h"

namespace mh::audit::ledger {
namespace {

using mh::testing::CommandResult;
using mh::testing::MeterhubBinary;
using mh::testing::ReadFile;
using mh::testing::RunCommand;
using mh::testing::TempDir;
using mh::testing::WriteFile;

constexpr char kPrivateKeyHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kPublicKeyHex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
// RFC 8032 TEST 2's public key: a key that did not sign this ledger.
constexpr char kOtherPublicKeyHex[] = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";


std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

class LedgerCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "meterhub.db";
    out_ = dir_ / "export";
    store::SqliteLedgerOptions options;
    options.path = db_;
    Result<std::unique_ptr<store::LedgerStore>> store = store::OpenSqliteLedgerStore(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    SimulatedClock clock(1700000000000);
    Result<crypto::Bytes> key = crypto::HexDecode(kPrivateKeyHex);
    Result<std::unique_ptr<Ledger>> ledger =
        Ledger::Open(**store, clock, std::string(key->begin(), key->end()));
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    // 12 entries of 3 meters, a head after the fifth and one after the last.
    for (int i = 0; i < 12; ++i) {
      Entry e{EntryKey{"M" + std::to_string(i % 3), i / 3, i}, i == 0 ? "initial-code" : "first-time",
              std::string("\x00\x01payload-", 10) + std::to_string(i)};
      ASSERT_TRUE((*ledger)->Append(e).ok());
      if (i == 4) {
        clock.AdvanceMillis(1000);
        ASSERT_TRUE((*ledger)->Head().ok());
      }
    }
    clock.AdvanceMillis(1000);
    Result<SignedTreeHead> head = (*ledger)->Head();
    ASSERT_TRUE(head.ok());
    root_hex_ = crypto::HexEncode(crypto::AsBytes(head->root_hash));
  }

  CommandResult Run(const std::string& args) { return RunCommand(MeterhubBinary() + " ledger " + args); }
  CommandResult Verify(const std::string& path, const std::string& extra = "") {
    return Run("verify --ledger " + path + (extra.empty() ? "" : " " + extra));
  }
  void Export() {
    CommandResult r = Run("export --ledger " + db_ + " --out " + out_);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, "exported 12 entries and 2 tree heads to " + out_ + "\n");
  }

  TempDir dir_{"ledger-cli"};
  std::string db_;
  std::string out_;
  std::string root_hex_;
};

TEST_F(LedgerCliTest, AnIntactLedgerVerifiesInTheDatabaseAndExported) {
  CommandResult r = Verify(db_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "ok 12 " + root_hex_ + "\n");
  r = Verify(db_, std::string("--public-key ") + kPublicKeyHex);
  EXPECT_EQ(r.exit_code, 0) << r.output;

  Export();
  EXPECT_EQ(ReadFile(out_ + "/public_key"), std::string(kPublicKeyHex) + "\n");
  EXPECT_EQ(Lines(ReadFile(out_ + "/entries.jsonl")).size(), 12u);
  EXPECT_EQ(Lines(ReadFile(out_ + "/heads.jsonl")).size(), 2u);
  EXPECT_NE(ReadFile(out_ + "/head.json").find(root_hex_), std::string::npos);
  r = Verify(out_);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "ok 12 " + root_hex_ + "\n");
}

TEST_F(LedgerCliTest, AnotherPublicKeyFailsEveryHead) {
  CommandResult r = Verify(db_, std::string("--public-key ") + kOtherPublicKeyHex);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output, "head 5: signature does not verify\nhead 12: signature does not verify\n");
}

TEST_F(LedgerCliTest, OneAlteredEntryByteIsNamed) {
  Export();
  std::vector<std::string> lines = Lines(ReadFile(out_ + "/entries.jsonl"));
  const size_t at = lines[3].find("\"payload\":\"");
  ASSERT_NE(at, std::string::npos) << lines[3];
  char& c = lines[3][at + 11 + 4];  // a hex digit of the payload's third byte
  c = c == '7' ? '6' : '7';
  WriteFile(out_ + "/entries.jsonl", Join(lines));
  CommandResult r = Verify(out_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entry 3 (M0, window 1, seq 3) (entries.jsonl line 4): stored leaf hash does not match"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("head 5: root"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("head 12: root"), std::string::npos) << r.output;

  // The same change in the database row.
  mh::testing::SqliteExec(db_, "UPDATE ledger_leaves SET payload = CAST('changed' AS BLOB) WHERE idx = 3");
  r = Verify(db_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entry 3 (M0, window 1, seq 3): stored leaf hash does not match"), std::string::npos)
      << r.output;
}

TEST_F(LedgerCliTest, AnAlteredEntryWithItsHashRecomputedStillFailsTheSignedHeads) {
  Export();
  std::vector<std::string> lines = Lines(ReadFile(out_ + "/entries.jsonl"));
  // Drop the leaf_hash field, as a forger who recomputes it would leave nothing to compare.
  const size_t at = lines[7].find("\"leaf_hash\":\"");
  ASSERT_NE(at, std::string::npos);
  lines[7].erase(at, 13 + 64 + 2);
  const size_t payload = lines[7].find("\"payload\":\"");
  lines[7][payload + 11] = lines[7][payload + 11] == '0' ? '1' : '0';
  WriteFile(out_ + "/entries.jsonl", Join(lines));
  CommandResult r = Verify(out_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("head 5: "), std::string::npos) << r.output;  // entry 7 is after head 5
  EXPECT_NE(r.output.find("head 12: root"), std::string::npos) << r.output;
}

TEST_F(LedgerCliTest, ADeletedRowIsNamed) {
  Export();
  std::vector<std::string> lines = Lines(ReadFile(out_ + "/entries.jsonl"));
  lines.erase(lines.begin() + 7);
  WriteFile(out_ + "/entries.jsonl", Join(lines));
  CommandResult r = Verify(out_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entry 7: missing\n"), std::string::npos) << r.output;

  mh::testing::SqliteExec(db_, "DELETE FROM ledger_leaves WHERE idx = 7");
  r = Verify(db_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entry 7: missing\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("node level 1 index 3: does not match the entries"), std::string::npos) << r.output;
}

TEST_F(LedgerCliTest, AForgedIndexIsReportedNotFilled) {
  Export();
  std::vector<std::string> lines = Lines(ReadFile(out_ + "/entries.jsonl"));
  lines.erase(lines.begin() + 8, lines.begin() + 10);  // entries 8 and 9
  WriteFile(out_ + "/entries.jsonl", Join(lines));
  CommandResult r = Verify(out_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entries 8..9: missing\n"), std::string::npos) << r.output;

  mh::testing::SqliteExec(db_, "UPDATE ledger_leaves SET idx = 1000000000000 WHERE idx = 11");
  r = Verify(db_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("entry 1000000000000 (M2, window 3, seq 11): index jumps from 11, not checked"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("head 12: covers 12 entries, only 11 present"), std::string::npos) << r.output;
}

TEST_F(LedgerCliTest, AnAlteredHeadIsNamed) {
  Export();
  std::vector<std::string> heads = Lines(ReadFile(out_ + "/heads.jsonl"));
  const size_t at = heads[0].find("\"root_hash\":\"");
  ASSERT_NE(at, std::string::npos);
  char& c = heads[0][at + 13];
  c = c == 'a' ? 'b' : 'a';
  WriteFile(out_ + "/heads.jsonl", Join(heads));
  CommandResult r = Verify(out_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("head 5: signature does not verify\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("head 5: root"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("heads 5 -> 12: not consistent\n"), std::string::npos) << r.output;

  mh::testing::SqliteExec(db_, "UPDATE ledger_heads SET timestamp_ms = timestamp_ms + 1 WHERE size = 12");
  r = Verify(db_);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output, "head 12: signature does not verify\n");
}

TEST_F(LedgerCliTest, BadUsageExitsTwo) {
  CommandResult r = Run("");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Run("verify");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--ledger"), std::string::npos) << r.output;
  r = Run("verify --ledger " + dir_ / "nope.db");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nope.db"), std::string::npos) << r.output;
  r = Run("verify --ledger " + db_ + " --public-key 12");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Run("verify --ledger " + db_ + " --frobnicate 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--frobnicate"), std::string::npos) << r.output;
  r = Run("export --ledger " + db_);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Run("verify --ledger " + dir_.path());  // a directory without entries.jsonl
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("entries.jsonl"), std::string::npos) << r.output;
  r = Run("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("meterhub ledger verify"), std::string::npos);
}

}  // namespace
}  // namespace mh::audit::ledger
