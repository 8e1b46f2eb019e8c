// What the audit puts in the tamper-evident ledger (SPEC 4.2, 4.6): the entry kinds, keys and
// payload bytes of the initial fixed-code registration made at commissioning, and of the first
// monitoring times (metering signal events) the plugin uploads in real time. Encode/decode only;
// the ledger itself (Merkle log, proofs) lives in src/audit/ledger/. Frozen in docs/formats/audit.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/audit/plugin.h"

namespace mh::audit {

inline constexpr char kCodeKind[] = "audit.code.v1";
inline constexpr char kSignalKind[] = "audit.signal.v1";

// Mirrors the ledger's Entry / EntryKey: appends are idempotent per key.
struct EntryKey {
  std::string meter_id;
  int64_t window = 0;  // code registration: 0; signal event: the local epoch day of its window
  int64_t seq = 0;     // code registration: 0; signal event: its order within the window
  bool operator==(const EntryKey&) const = default;
  auto operator<=>(const EntryKey&) const = default;
};

struct LedgerEntry {
  EntryKey key;
  std::string kind;
  std::string payload;
  bool operator==(const LedgerEntry&) const = default;
};

// A decoded entry.
struct LedgerRecord {
  enum Kind { kCode, kSignal };
  Kind kind = kSignal;
  std::string meter_id;
  // kCode: the initial fixed segment image, exactly as registered, and when.
  std::string fixed_image;
  int64_t registered_at = 0;
  // kSignal: one first monitoring time.
  meter::audit::SignalEvent event;
};

LedgerEntry EncodeCodeRegistration(const std::string& meter_id, std::string_view fixed_image, int64_t registered_at);
LedgerEntry EncodeSignalEvent(const meter::audit::SignalEvent& event);

// InvalidArgument naming the field when the kind is unknown, the payload does not parse, the key
// disagrees with the payload, or a code image does not match its length or SHA-256.
Result<LedgerRecord> DecodeEntry(const LedgerEntry& entry);

// Decodes a meter's entries (as a ledger returns them after checking their proofs) into the order
// LedgerView::RecordsOf promises: by (window, seq). Entries of other kinds are skipped, so the
// ledger may hold more than the audit's records. The first bad entry is the error.
Result<std::vector<LedgerRecord>> DecodeEntries(std::vector<LedgerEntry> entries);

}  // namespace mh::audit
