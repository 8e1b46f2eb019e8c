// The Ledger service over both store backends: frozen byte formats, idempotent appends, signed
// heads, proofs against those heads, and verified reads that catch changed and deleted rows.
#include "audit/ledger/ledger.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "crypto/ed25519.h"
#include "store/memory/memory_ledger_store.h"
#include "store/sqlite/sqlite_ledger_store.h"
#include "support/sqlite_shell.h"

namespace mh::audit::ledger {
namespace {

// RFC 8032 TEST 1's key: fixed, so failures are reproducible.
std::string PrivateKey() {
  Result<crypto::Bytes> key = crypto::HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  return std::string(key->begin(), key->end());
}
constexpr char kPublicKeyHex[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

Entry MakeEntry(const std::string& meter, int64_t window, int64_t seq, const std::string& payload,
                const std::string& kind = "first-time") {
  return Entry{EntryKey{meter, window, seq}, kind, payload};
}

std::string Hex(std::string_view bytes) { return crypto::HexEncode(crypto::AsBytes(bytes)); }

TEST(LedgerFormat, EntryBytesAreFrozen) {
  const Entry entry = MakeEntry("M1", 3, 7, std::string("\x01\x02", 2));
  EXPECT_EQ(Hex(EntryBytes(entry)),
            "01000000024d31000000000000000300000000000000070000000a66697273742d74696d65000000020102");
  EXPECT_EQ(HashHex(EntryLeafHash(entry)), "662948d009c270cf674a5e390604347ca0c60cfa8b292d7c88f821713aa15268");
}

TEST(LedgerFormat, HeadSignatureInputIsFrozen) {
  std::string root;
  for (int i = 0; i < 32; ++i) root.push_back(static_cast<char>(i));
  EXPECT_EQ(Hex(HeadSignatureInput(5, root, 1700000000123)),
            "6d657465726875622d6c65646765722d7374682d76310000000000000000050000018bcfe5687b000102030405060708090a0b0c0d"
            "0e0f101112131415161718191a1b1c1d1e1f");
}

TEST(LedgerFormat, CheckEntryNamesTheField) {
  EXPECT_TRUE(CheckEntry(MakeEntry("M-1_a", 0, 0, "")).ok());
  EXPECT_NE(CheckEntry(MakeEntry("", 0, 0, "")).message().find("meter_id"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M 1", 0, 0, "")).message().find("meter_id"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M1", -1, 0, "")).message().find("window"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M1", 0, -1, "")).message().find("seq"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M1", 0, 0, "", "")).message().find("kind"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M1", 0, 0, "", "a b")).message().find("kind"), std::string::npos);
  EXPECT_NE(CheckEntry(MakeEntry("M1", 0, 0, std::string(kMaxPayloadBytes + 1, 'x'))).message().find("payload"),
            std::string::npos);
}

// Each test runs on the memory store and on an SQLite file.
class LedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : name) {
      if (c == '/') c = '_';  // parameterised names are "Test/0": one directory, not two
    }
    dir_ = std::filesystem::temp_directory_path() / ("mh_ledger_test_" + std::to_string(getpid()) + "_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "meterhub.db").string();
    Reopen();
  }
  void TearDown() override {
    ledger_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Reopen() {
    ledger_.reset();
    if (GetParam() == "memory") {
      if (!store_) store_ = store::NewMemoryLedgerStore();
    } else {
      store_.reset();
      store::SqliteLedgerOptions options;
      options.path = path_;
      Result<std::unique_ptr<store::LedgerStore>> store = store::OpenSqliteLedgerStore(options);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
    }
    Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(*store_, clock_, PrivateKey());
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(ledger).value();
  }

  // Runs SQL on the database behind the ledger's back (SQLite only).
  void Tamper(const std::string& sql) { mh::testing::SqliteExec(path_, sql); }

  Ledger& ledger() { return *ledger_; }

  std::filesystem::path dir_;
  std::string path_;
  SimulatedClock clock_{1700000000000};
  std::unique_ptr<store::LedgerStore> store_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_P(LedgerTest, AppendsAreIdempotentPerKey) {
  Result<int64_t> a = ledger().Append(MakeEntry("M1", 1, 0, "a"));
  Result<int64_t> b = ledger().Append(MakeEntry("M1", 1, 1, "b"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, 0);
  EXPECT_EQ(*b, 1);
  Result<int64_t> again = ledger().Append(MakeEntry("M1", 1, 0, "a"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(ledger().size(), 2);
  Result<int64_t> changed = ledger().Append(MakeEntry("M1", 1, 0, "A"));
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(changed.status().message().find("index 0"), std::string::npos) << changed.status().message();
  Result<int64_t> bad = ledger().Append(MakeEntry("M 1", 1, 0, "a"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(LedgerTest, ABatchIsAllOrNothing) {
  ASSERT_TRUE(ledger().Append(MakeEntry("M1", 1, 0, "a")).ok());
  Result<std::vector<int64_t>> batch =
      ledger().AppendBatch({MakeEntry("M2", 1, 0, "x"), MakeEntry("M1", 1, 0, "a"), MakeEntry("M2", 1, 1, "y"),
                            MakeEntry("M2", 1, 0, "x")});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(*batch, (std::vector<int64_t>{1, 0, 2, 1}));
  Result<std::vector<int64_t>> refused =
      ledger().AppendBatch({MakeEntry("M3", 1, 0, "new"), MakeEntry("M1", 1, 0, "changed")});
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  refused = ledger().AppendBatch({MakeEntry("M3", 1, 0, "new"), MakeEntry("M3", 1, 0, "other")});
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ledger().size(), 3);
  Reopen();
  EXPECT_EQ(ledger().size(), 3);
}

TEST_P(LedgerTest, HeadsAreSignedAndOnlyRenewedWhenTheLogGrows) {
  Result<SignedTreeHead> empty = ledger().Head();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->size, 0);
  EXPECT_EQ(Hex(empty->root_hash), HashHex(EmptyRoot()));
  EXPECT_TRUE(VerifyHead(*empty, kPublicKeyHex).ok());
  EXPECT_EQ(Hex(ledger().public_key()), kPublicKeyHex);

  std::vector<Hash> leaves;
  for (int i = 0; i < 11; ++i) {
    const Entry e = MakeEntry("M" + std::to_string(i % 3), i / 3, i, "p" + std::to_string(i));
    ASSERT_TRUE(ledger().Append(e).ok());
    leaves.push_back(EntryLeafHash(e));
  }
  clock_.AdvanceMillis(1000);
  Result<SignedTreeHead> head = ledger().Head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 11);
  EXPECT_EQ(head->timestamp_ms, 1700000001000);
  EXPECT_EQ(Hex(head->root_hash), HashHex(ReferenceRoot(leaves)));
  EXPECT_TRUE(VerifyHead(*head, kPublicKeyHex).ok());
  clock_.AdvanceMillis(1000);
  Result<SignedTreeHead> same = ledger().Head();
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->timestamp_ms, head->timestamp_ms);
  EXPECT_EQ(same->signature, head->signature);

  SignedTreeHead forged = *head;
  forged.root_hash[0] ^= 1;
  EXPECT_EQ(VerifyHead(forged, kPublicKeyHex).code(), StatusCode::kUnauthenticated);
  forged = *head;
  forged.size = 12;
  EXPECT_EQ(VerifyHead(forged, kPublicKeyHex).code(), StatusCode::kUnauthenticated);
  forged = *head;
  forged.timestamp_ms += 1;
  EXPECT_EQ(VerifyHead(forged, kPublicKeyHex).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyHead(*head, "00").code(), StatusCode::kInvalidArgument);
}

TEST_P(LedgerTest, ProofsVerifyAgainstSignedHeads) {
  std::mt19937 rng(7);
  std::vector<SignedTreeHead> heads;
  std::vector<Hash> leaves;
  int seq = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<Entry> batch;
    const int n = 1 + rng() % 9;
    for (int i = 0; i < n; ++i) batch.push_back(MakeEntry("M" + std::to_string(rng() % 4), round, seq++, "x"));
    for (const Entry& e : batch) leaves.push_back(EntryLeafHash(e));
    ASSERT_TRUE(ledger().AppendBatch(batch).ok());
    if (round == 5) Reopen();  // the right edge is reloaded from the store
    clock_.AdvanceMillis(10);
    Result<SignedTreeHead> head = ledger().Head();
    ASSERT_TRUE(head.ok());
    heads.push_back(*head);
  }
  for (const SignedTreeHead& head : heads) {
    ASSERT_TRUE(VerifyHead(head, ledger().public_key()).ok());
    const Hash root = *HashFromBytes(head.root_hash);
    for (int64_t i = 0; i < head.size; ++i) {
      Result<InclusionProof> proof = ledger().ProveInclusion(i, head.size);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_TRUE(VerifyInclusion(leaves[i], *proof, root).ok()) << i << "/" << head.size;
    }
    for (const SignedTreeHead& old : heads) {
      if (old.size > head.size) continue;
      Result<ConsistencyProof> proof = ledger().ProveConsistency(old.size, head.size);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(VerifyConsistency(*proof, *HashFromBytes(old.root_hash), root).ok())
          << old.size << " -> " << head.size;
    }
  }
  EXPECT_EQ(ledger().ProveInclusion(0, ledger().size() + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger().ProveConsistency(2, ledger().size() + 1).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(LedgerTest, VerifiedEntriesOfOneMeter) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(ledger().Append(MakeEntry(i % 2 == 0 ? "EVEN" : "ODD", i / 4, i, "v" + std::to_string(i))).ok());
  }
  Result<SignedTreeHead> head = ledger().Head();
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(ledger().Append(MakeEntry("EVEN", 9, 99, "after the head")).ok());
  Result<std::vector<Entry>> even = ledger().VerifiedEntriesOf("EVEN", *head);
  ASSERT_TRUE(even.ok()) << even.status().ToString();
  ASSERT_EQ(even->size(), 10u);  // not the entry appended after the head
  EXPECT_EQ((*even)[3].key.seq, 6);
  EXPECT_EQ((*even)[3].payload, "v6");
  Result<std::vector<Entry>> none = ledger().VerifiedEntriesOf("NOBODY", *head);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  SignedTreeHead forged = *head;
  forged.root_hash[5] ^= 4;
  EXPECT_EQ(ledger().VerifiedEntriesOf("EVEN", forged).status().code(), StatusCode::kUnauthenticated);
}

TEST_P(LedgerTest, AnotherKeyIsRefused) {
  ASSERT_TRUE(ledger().Append(MakeEntry("M1", 0, 0, "a")).ok());
  std::string other = PrivateKey();
  other[0] ^= 1;
  Result<std::unique_ptr<Ledger>> opened = Ledger::Open(*store_, clock_, other);
  EXPECT_EQ(opened.status().code(), StatusCode::kFailedPrecondition);
}

INSTANTIATE_TEST_SUITE_P(Stores, LedgerTest, ::testing::Values("memory", "sqlite"));

// Tampering with the SQLite rows behind the ledger's back.
class LedgerTamperTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    for (int i = 0; i < 16; ++i) {
      ASSERT_TRUE(ledger().Append(MakeEntry(i % 2 == 0 ? "EVEN" : "ODD", i / 4, i, "v" + std::to_string(i))).ok());
    }
    Result<SignedTreeHead> head = ledger().Head();
    ASSERT_TRUE(head.ok());
    head_ = *head;
    ASSERT_TRUE(ledger().VerifiedEntriesOf("EVEN", head_).ok());
  }
  std::string ErrorOf(const std::string& meter) {
    Result<std::vector<Entry>> entries = ledger().VerifiedEntriesOf(meter, head_);
    EXPECT_FALSE(entries.ok());
    if (entries.ok()) return "";
    EXPECT_EQ(entries.status().code(), StatusCode::kUnauthenticated) << entries.status().ToString();
    return entries.status().message();
  }
  SignedTreeHead head_;
};

TEST_P(LedgerTamperTest, AChangedPayloadIsNamed) {
  Tamper("UPDATE ledger_leaves SET payload = CAST('v7' AS BLOB) WHERE idx = 6");
  EXPECT_NE(ErrorOf("EVEN").find("index 6"), std::string::npos) << ErrorOf("EVEN");
  EXPECT_TRUE(ledger().VerifiedEntriesOf("ODD", head_).ok());  // the other meter's rows are intact
}

TEST_P(LedgerTamperTest, AChangedRowWithARecomputedLeafHashIsNamed) {
  const Entry changed = MakeEntry("EVEN", 1, 4, "forged");
  Tamper("UPDATE ledger_leaves SET payload = CAST('forged' AS BLOB), leaf_hash = X'" +
         HashHex(EntryLeafHash(changed)) + "' WHERE idx = 4");
  EXPECT_NE(ErrorOf("EVEN").find("index 4"), std::string::npos) << ErrorOf("EVEN");
}

TEST_P(LedgerTamperTest, ADeletedRowIsNamed) {
  Tamper("DELETE FROM ledger_leaves WHERE idx = 8");
  ledger().RecheckAllRows();  // SetUp's read already found rows 0..15 present
  EXPECT_NE(ErrorOf("EVEN").find("index 8 is missing"), std::string::npos) << ErrorOf("EVEN");
  EXPECT_NE(ErrorOf("ODD").find("index 8 is missing"), std::string::npos);
}

// After a whole-log check, reads look only at rows appended since: a row deleted among those is
// found at once; one deleted below waits for the next whole-log check (the audit server's pass).
TEST_P(LedgerTamperTest, RowsAppendedSinceTheLastWholeCheckAreChecked) {
  for (int i = 16; i < 20; ++i) ASSERT_TRUE(ledger().Append(MakeEntry("ODD", 9, i, "w" + std::to_string(i))).ok());
  Result<SignedTreeHead> head = ledger().Head();
  ASSERT_TRUE(head.ok());
  head_ = *head;
  Tamper("DELETE FROM ledger_leaves WHERE idx IN (3, 17)");
  EXPECT_NE(ErrorOf("EVEN").find("index 17 is missing"), std::string::npos) << ErrorOf("EVEN");
  ledger().RecheckAllRows();
  EXPECT_NE(ErrorOf("EVEN").find("index 3 is missing"), std::string::npos) << ErrorOf("EVEN");
}

TEST_P(LedgerTamperTest, AChangedNodeIsCaught) {
  Tamper("UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1");
  EXPECT_NE(ErrorOf("EVEN").find("index 0"), std::string::npos) << ErrorOf("EVEN");
}

TEST_P(LedgerTamperTest, DeletingTheNewestRowsIsCaughtOnOpen) {
  Tamper("DELETE FROM ledger_leaves WHERE idx >= 14");
  ledger_.reset();
  store_.reset();
  store::SqliteLedgerOptions options;
  options.path = path_;
  Result<std::unique_ptr<store::LedgerStore>> store = store::OpenSqliteLedgerStore(options);
  ASSERT_TRUE(store.ok());
  store_ = std::move(store).value();
  Result<std::unique_ptr<Ledger>> opened = Ledger::Open(*store_, clock_, PrivateKey());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("deleted"), std::string::npos) << opened.status().message();
}

// Two processes' worth of writers on one file: each catches up with the other's appends.
TEST_P(LedgerTamperTest, TwoWritersOnOneFileStayConsistent) {
  store::SqliteLedgerOptions options;
  options.path = path_;
  Result<std::unique_ptr<store::LedgerStore>> other_store = store::OpenSqliteLedgerStore(options);
  ASSERT_TRUE(other_store.ok());
  Result<std::unique_ptr<Ledger>> other = Ledger::Open(**other_store, clock_, PrivateKey());
  ASSERT_TRUE(other.ok());
  std::vector<Hash> leaves;
  for (int i = 0; i < 16; ++i) leaves.push_back(EntryLeafHash(MakeEntry(i % 2 == 0 ? "EVEN" : "ODD", i / 4, i, "v" + std::to_string(i))));
  for (int i = 0; i < 10; ++i) {
    Ledger& writer = i % 2 == 0 ? ledger() : **other;
    const Entry e = MakeEntry("W", i, i, "w" + std::to_string(i));
    Result<int64_t> index = writer.Append(e);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(*index, 16 + i);
    leaves.push_back(EntryLeafHash(e));
  }
  // The same entry through the other writer is the same index.
  Result<int64_t> again = (*other)->Append(MakeEntry("W", 0, 0, "w0"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 16);
  clock_.AdvanceMillis(5);
  Result<SignedTreeHead> head = (*other)->Head();
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 26);
  EXPECT_EQ(Hex(head->root_hash), HashHex(ReferenceRoot(leaves)));
  Result<SignedTreeHead> same = ledger().Head();
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->signature, head->signature);
  Result<std::vector<Entry>> w = ledger().VerifiedEntriesOf("W", *head);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, LedgerTamperTest, ::testing::Values("sqlite"));

}  // namespace
}  // namespace mh::audit::ledger
