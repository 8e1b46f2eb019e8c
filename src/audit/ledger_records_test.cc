// Ledger entry kinds and payload bytes (docs/formats/audit.md): exact encodings, round trips and
// rejected payloads.
#include "audit/ledger_records.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "meter/audit/fixed_segment.h"

namespace mh::audit {
namespace {

using meter::audit::SignalEvent;

TEST(LedgerRecordsTest, SignalEventExactBytes) {
  SignalEvent e{"M1", 20777, 1, 3, 0, 1, 1795140000, SignalEvent::kStart, true};
  const LedgerEntry entry = EncodeSignalEvent(e);
  EXPECT_EQ(entry.key, (EntryKey{"M1", 20777, 1}));
  EXPECT_EQ(entry.kind, "audit.signal.v1");
  EXPECT_EQ(entry.payload, "mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=1795140000 edge=start");
  auto r = DecodeEntry(entry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, LedgerRecord::kSignal);
  EXPECT_EQ(r->event, e);
  SignalEvent open{"M1", 20778, 2, 3, 28800, 0, 1795190400, SignalEvent::kOpen, true};
  EXPECT_EQ(EncodeSignalEvent(open).payload, "mh-signal 1 day=2026-11-21 window=2/3 tz=28800 t=1795190400 edge=open-on");
  EXPECT_EQ(DecodeEntry(EncodeSignalEvent(open))->event, open);
  SignalEvent close{"M1", 20778, 2, 3, 0, 4, 1795219200, SignalEvent::kClose, false};
  EXPECT_EQ(DecodeEntry(EncodeSignalEvent(close))->event, close);
}

TEST(LedgerRecordsTest, CodeRegistration) {
  const std::string image = meter::audit::DefaultFixedImage();
  const LedgerEntry entry = EncodeCodeRegistration("M1", image, 1795046400);
  EXPECT_EQ(entry.key, (EntryKey{"M1", 0, 0}));
  EXPECT_EQ(entry.kind, "audit.code.v1");
  EXPECT_EQ(entry.payload.substr(0, entry.payload.find('\n')),
            "mh-code 1 at=1795046400 bytes=" + std::to_string(image.size()) + " sha256=" +
                crypto::HexEncode(crypto::Sha256(image)));
  auto r = DecodeEntry(entry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, LedgerRecord::kCode);
  EXPECT_EQ(r->fixed_image, image);
  EXPECT_EQ(r->registered_at, 1795046400);
}

// The comparison table is the audit side's: its own entry kind, keyed like the code (commissioning
// n: code at seq 2n, table at seq 2n + 1), with why it was set.
TEST(LedgerRecordsTest, ComparisonTableAndCommissionings) {
  const std::string table = "mh-compare 1\n3-11\n";
  const LedgerEntry entry = EncodeComparisonTable("M1", table, 1795046400, "commissioning");
  EXPECT_EQ(entry.key, (EntryKey{"M1", 0, 1}));
  EXPECT_EQ(entry.kind, "audit.compare.v1");
  EXPECT_EQ(entry.payload, "mh-table 1 at=1795046400 bytes=18 sha256=" + crypto::HexEncode(crypto::Sha256(table)) +
                               " reason=commissioning\n" + table);
  auto r = DecodeEntry(entry);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, LedgerRecord::kCompare);
  EXPECT_EQ(r->compare_lines, (std::vector<int>{3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(r->reason, "commissioning");
  EXPECT_EQ(r->commissioning, 0);

  const LedgerEntry update_code = EncodeCodeRegistration("M1", "mh-fixed 1\nEND\n", 1795100000, 1);
  const LedgerEntry update_table = EncodeComparisonTable("M1", "mh-compare 1\n2\n", 1795100000, "firmware 2.1: one line", 1);
  EXPECT_EQ(update_code.key, (EntryKey{"M1", 0, 2}));
  EXPECT_EQ(update_table.key, (EntryKey{"M1", 0, 3}));
  EXPECT_EQ(DecodeEntry(update_table)->reason, "firmware 2.1: one line");
  auto all = DecodeEntries({update_table, EncodeCodeRegistration("M1", "mh-fixed 1\n", 1), entry, update_code});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::optional<Commissioning> latest = LatestCommissioning(*all);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->number, 1);
  EXPECT_EQ(latest->fixed_image, "mh-fixed 1\nEND\n");
  EXPECT_EQ(latest->compare_lines, (std::vector<int>{2}));
  EXPECT_EQ(latest->reason, "firmware 2.1: one line");
  // A meter commissioned before tables went into the ledger: a code, no table.
  auto legacy = DecodeEntries({EncodeCodeRegistration("M1", "mh-fixed 1\n", 1)});
  EXPECT_FALSE(LatestCommissioning(*legacy)->compare_lines.has_value());
  EXPECT_FALSE(LatestCommissioning({}).has_value());

  auto msg = [](LedgerEntry e) { return DecodeEntry(e).status().message(); };
  LedgerEntry bad = entry;
  bad.key.seq = 2;
  EXPECT_EQ(msg(bad), "ledger entry (M1, 0, 2): comparison table key must be window 0 and an odd seq (2 x the commissioning + 1)");
  bad = EncodeCodeRegistration("M1", "mh-fixed 1\n", 1);
  bad.key.seq = 1;
  EXPECT_EQ(msg(bad), "ledger entry (M1, 0, 1): code registration key must be window 0 and an even seq (2 x the commissioning)");
  bad = EncodeComparisonTable("M1", "mh-compare 1\nseven\n", 1, "x");
  EXPECT_NE(msg(bad).find("table payload:2: 'seven' is not a line number"), std::string::npos) << msg(bad);
  bad = EncodeComparisonTable("M1", table, 1, "tab\there");
  EXPECT_NE(msg(bad).find("reason"), std::string::npos) << msg(bad);
  EXPECT_FALSE(CheckReason("").ok());
  EXPECT_FALSE(CheckReason(std::string(201, 'a')).ok());
  EXPECT_TRUE(CheckReason("firmware update 2.1 (vendor notice 17)").ok());
}

TEST(LedgerRecordsTest, RejectsBadPayloads) {
  auto msg = [](LedgerEntry e) { return DecodeEntry(e).status().message(); };
  LedgerEntry code = EncodeCodeRegistration("M1", "mh-fixed 1\nEND\n", 5);
  LedgerEntry changed = code;
  changed.payload.back() = 'X';
  EXPECT_EQ(msg(changed), "ledger entry (M1, 0, 0): code payload image does not match its sha256");
  changed = code;
  changed.payload += "more";
  EXPECT_EQ(msg(changed), "ledger entry (M1, 0, 0): code payload holds 19 image bytes, header says 15");
  SignalEvent e{"M1", 20777, 1, 3, 0, 1, 1795140000, SignalEvent::kStart, true};
  LedgerEntry s = EncodeSignalEvent(e);
  s.key.window = 20778;
  EXPECT_EQ(msg(s), "ledger entry (M1, 20778, 1): key window 20778 is not the payload's day");
  s = EncodeSignalEvent(e);
  s.payload.replace(s.payload.find("edge=start"), 10, "edge=begin");
  EXPECT_EQ(msg(s), "ledger entry (M1, 20777, 1): edge 'begin' is not open-on, open-off, start, stop, close-on or close-off");
  s = EncodeSignalEvent(e);
  s.payload.replace(s.payload.find("window=1/3"), 10, "window=4/3");
  EXPECT_EQ(msg(s), "ledger entry (M1, 20777, 1): window '4/3' is not W/D with 1 <= W <= D");
  s.kind = "audit.other";
  EXPECT_EQ(msg(s), "ledger entry (M1, 20777, 1): unknown kind 'audit.other'");
}

TEST(LedgerRecordsTest, DecodeEntriesOrdersAndSkipsOtherKinds) {
  SignalEvent a{"M1", 20777, 1, 3, 0, 1, 1795140000, SignalEvent::kStart, true};
  SignalEvent b{"M1", 20777, 1, 3, 0, 0, 1795132800, SignalEvent::kOpen, false};
  LedgerEntry other{{"M1", 5, 5}, "water.other.v1", "x"};
  auto r = DecodeEntries({EncodeSignalEvent(a), other, EncodeSignalEvent(b), EncodeCodeRegistration("M1", "mh-fixed 1\n", 1)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].kind, LedgerRecord::kCode);
  EXPECT_EQ((*r)[1].event, b);
  EXPECT_EQ((*r)[2].event, a);
}

}  // namespace
}  // namespace mh::audit
