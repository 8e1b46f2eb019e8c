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
