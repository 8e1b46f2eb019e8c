// The audit's views over the real Merkle ledger: live (AuditLedger, VerifiedEntriesOf) and
// snapshots (an exported directory, a SQLite database): records come back decoded and in order,
// and a changed, deleted or re-signed row is a ledger integrity error, never served.
#include "audit/verified_ledger.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include "meter/audit/fixed_segment.h"
#include "store/sqlite/sqlite_ledger_store.h"
#include "support/test_env.h"

namespace mh::audit {
namespace {

namespace ma = meter::audit;

ma::SignalEvent Signal(const std::string& meter, int64_t seq, int64_t t, ma::SignalEvent::Kind kind) {
  ma::SignalEvent e;
  e.meter_id = meter;
  e.day = 20777;
  e.window = 1;
  e.d = 3;
  e.seq = seq;
  e.t = t;
  e.kind = kind;
  e.on = kind == ma::SignalEvent::kStart;
  return e;
}

constexpr int64_t kT0 = 20777 * 86400;

void Fill(LedgerSink& ledger) {
  for (const std::string m : {"M1", "M2"}) {
    ASSERT_TRUE(ledger.Append(EncodeCodeRegistration(m, ma::DefaultFixedImage(), kT0 - 86400)).ok());
    ASSERT_TRUE(ledger.Append(EncodeSignalEvent(Signal(m, 1, kT0 + 7200, ma::SignalEvent::kStart))).ok());
    ASSERT_TRUE(ledger.Append(EncodeSignalEvent(Signal(m, 2, kT0 + 10800, ma::SignalEvent::kStop))).ok());
  }
}

std::string FixedKey() { return std::string(32, '\x07'); }

TEST(VerifiedLedgerTest, LiveLedgerServesVerifiedRecordsAndCatchesAChangedRow) {
  SimulatedClock clock(1'800'000'000'000);
  auto ledger = AuditLedger::InMemory(clock, FixedKey());
  ASSERT_TRUE(ledger.ok()) << ledger.status().message();
  Fill(**ledger);
  EXPECT_EQ((*ledger)->size(), 6);
  // Idempotent per key; another payload under a used key is refused.
  EXPECT_TRUE((*ledger)->Append(EncodeSignalEvent(Signal("M1", 1, kT0 + 7200, ma::SignalEvent::kStart))).ok());
  EXPECT_EQ((*ledger)->size(), 6);
  EXPECT_EQ((*ledger)->Append(EncodeSignalEvent(Signal("M1", 1, kT0 + 7300, ma::SignalEvent::kStart))).code(),
            StatusCode::kAlreadyExists);

  auto records = (*ledger)->RecordsOf("M1");
  ASSERT_TRUE(records.ok()) << records.status().message();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].kind, LedgerRecord::kCode);
  EXPECT_EQ((*records)[1].event.t, kT0 + 7200);
  EXPECT_EQ((*records)[2].event.t, kT0 + 10800);
  EXPECT_TRUE((*ledger)->RecordsOf("M9")->empty());

  const EntryKey key{"M1", 20777, 1};
  std::string altered = EncodeSignalEvent(Signal("M1", 1, kT0 + 7800, ma::SignalEvent::kStart)).payload;
  ASSERT_TRUE((*ledger)->Tamper(key, altered));
  auto caught = (*ledger)->RecordsOf("M1");
  ASSERT_FALSE(caught.ok());
  EXPECT_EQ(caught.status().code(), kLedgerIntegrityError);
  EXPECT_EQ(caught.status().message(),
            "ledger: entry at index 1 (M1, window 20777, seq 1) does not match the signed tree (tree head of size 6)");
  EXPECT_TRUE((*ledger)->RecordsOf("M2").ok());  // the other meter's proofs still hold
  (*ledger)->set_verify(false);
  auto unchecked = (*ledger)->RecordsOf("M1");
  ASSERT_TRUE(unchecked.ok());
  EXPECT_EQ((*unchecked)[1].event.t, kT0 + 7800);
  (*ledger)->set_verify(true);
  ASSERT_TRUE((*ledger)->Tamper(key, EncodeSignalEvent(Signal("M1", 1, kT0 + 7200, ma::SignalEvent::kStart)).payload));
  EXPECT_TRUE((*ledger)->RecordsOf("M1").ok());
}

TEST(VerifiedLedgerTest, DirectorySnapshot) {
  SimulatedClock clock(1'800'000'000'000);
  auto ledger = AuditLedger::InMemory(clock, FixedKey());
  ASSERT_TRUE(ledger.ok());
  Fill(**ledger);
  testing::TempDir dir("verified-ledger-dir");
  ASSERT_TRUE(WriteLedgerDirectory((*ledger)->store(), dir.path(), &(*ledger)->ledger()).ok());
  for (const char* f : {"entries.jsonl", "heads.jsonl", "head.json", "public_key"}) EXPECT_TRUE(testing::Exists(dir / f)) << f;

  auto view = OpenLedgerSnapshot(dir.path());
  ASSERT_TRUE(view.ok()) << view.status().message();
  auto records = (*view)->RecordsOf("M2");
  ASSERT_TRUE(records.ok()) << records.status().message();
  EXPECT_EQ(records->size(), 3u);

  // A payload changed in the file (its stored leaf hash kept): that row's proof fails, the other
  // meter's still verify.
  const std::string entries = testing::ReadFile(dir / "entries.jsonl");
  const std::string from = crypto::HexEncode(crypto::AsBytes(std::to_string(kT0 + 10800)));
  const std::string to = crypto::HexEncode(crypto::AsBytes(std::to_string(kT0 + 10860)));
  std::string changed = entries;
  changed.replace(changed.find(from), from.size(), to);  // M1's stop (index 2)
  testing::WriteFile(dir / "entries.jsonl", changed);
  auto tampered = OpenLedgerSnapshot(dir.path());
  ASSERT_TRUE(tampered.ok());
  auto m1 = (*tampered)->RecordsOf("M1");
  ASSERT_FALSE(m1.ok());
  EXPECT_EQ(m1.status().code(), kLedgerIntegrityError);
  EXPECT_EQ(m1.status().message(), "ledger: entry at index 2 (M1, window 20777, seq 2) does not match the signed tree (tree head of size 6)");
  EXPECT_TRUE((*tampered)->RecordsOf("M2").ok());

  // A deleted line.
  std::string deleted = entries;
  const size_t first_nl = deleted.find('\n');
  deleted.erase(first_nl + 1, deleted.find('\n', first_nl + 1) - first_nl);
  testing::WriteFile(dir / "entries.jsonl", deleted);
  auto gap = OpenLedgerSnapshot(dir.path());
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ((*gap)->RecordsOf("M2").status().code(), kLedgerIntegrityError);

  // Another signer's key: the head does not verify.
  testing::WriteFile(dir / "entries.jsonl", entries);
  auto other_key = OpenLedgerSnapshot(dir.path(), std::string(64, 'a'));
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ((*other_key)->RecordsOf("M1").status().code(), kLedgerIntegrityError);

  // Malformed input is bad input naming file:line, not an alarm.
  testing::WriteFile(dir / "entries.jsonl", entries + "{\"index\":6,\"meter_id\":\"M1\"}\n");
  auto bad = OpenLedgerSnapshot(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), (dir / "entries.jsonl") + ":7: field 'window' missing or not an integer");
  EXPECT_EQ(OpenLedgerSnapshot(dir / "nothing").status().code(), StatusCode::kInvalidArgument);
}

TEST(VerifiedLedgerTest, DatabaseSnapshot) {
  testing::TempDir dir("verified-ledger-db");
  const std::string db = dir / "meterhub.db";
  SimulatedClock clock(1'800'000'000'000);
  {
    store::SqliteLedgerOptions o;
    o.path = db;
    auto st = store::OpenSqliteLedgerStore(o);
    ASSERT_TRUE(st.ok()) << st.status().message();
    auto ledger = AuditLedger::Over(std::move(*st), clock, FixedKey());
    ASSERT_TRUE(ledger.ok()) << ledger.status().message();
    Fill(**ledger);
    ASSERT_TRUE((*ledger)->ledger().Head().ok());
  }
  {
    auto view = OpenLedgerSnapshot(db);
    ASSERT_TRUE(view.ok()) << view.status().message();
    auto records = (*view)->RecordsOf("M1");
    ASSERT_TRUE(records.ok()) << records.status().message();
    EXPECT_EQ(records->size(), 3u);
  }
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, "UPDATE ledger_leaves SET payload = CAST(replace(CAST(payload AS TEXT), 'edge=stop', 'edge=start') AS BLOB) WHERE idx = 5",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(h);
  auto view = OpenLedgerSnapshot(db);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE((*view)->RecordsOf("M1").ok());
  auto m2 = (*view)->RecordsOf("M2");
  EXPECT_EQ(m2.status().code(), kLedgerIntegrityError);
  EXPECT_EQ(m2.status().message(), "ledger: entry at index 5 (M2, window 20777, seq 2) does not match the signed tree (tree head of size 6)");
}

}  // namespace
}  // namespace mh::audit
