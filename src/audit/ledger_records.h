// What the audit puts in the tamper-evident ledger (SPEC 4.2, 4.6): the entry kinds, keys and
// payload bytes of what is set at commissioning (the fixed code and the comparison table — both
// the audit side's, never the meter's word) and of the first monitoring times (metering signal
// events) the plugin uploads in real time. Encode/decode only; the ledger itself (Merkle log,
// proofs) lives in src/audit/ledger/. Frozen in docs/formats/audit.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/audit/plugin.h"

namespace mh::audit {

inline constexpr char kCodeKind[] = "audit.code.v1";
inline constexpr char kCompareKind[] = "audit.compare.v1";
inline constexpr char kSignalKind[] = "audit.signal.v1";

// Commissioning n (0 = the first; each re-commissioning, e.g. a firmware update, is the next)
// appends its code at (meter, 0, 2n) and its comparison table at (meter, 0, 2n + 1).
inline int64_t CodeSeq(int commissioning) { return 2 * static_cast<int64_t>(commissioning); }
inline int64_t CompareSeq(int commissioning) { return 2 * static_cast<int64_t>(commissioning) + 1; }

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
  enum Kind { kCode, kCompare, kSignal };
  Kind kind = kSignal;
  std::string meter_id;
  // kCode, kCompare: which commissioning (0, 1, …) and when it was registered.
  int commissioning = 0;
  int64_t registered_at = 0;
  // kCode: the fixed segment image, exactly as registered.
  std::string fixed_image;
  // kCompare: the comparison table as registered (mh-compare 1), its lines, and why it was set.
  std::string compare_text;
  std::vector<int> compare_lines;
  std::string reason;
  // kSignal: one first monitoring time.
  meter::audit::SignalEvent event;
};

// A reason is 1–200 printable ASCII characters (it ends the payload's header line).
inline constexpr size_t kMaxReasonBytes = 200;
Status CheckReason(std::string_view reason);

LedgerEntry EncodeCodeRegistration(const std::string& meter_id, std::string_view fixed_image, int64_t registered_at,
                                   int commissioning = 0);
// `compare_text` must parse as a comparison table; `reason` must pass CheckReason.
LedgerEntry EncodeComparisonTable(const std::string& meter_id, std::string_view compare_text, int64_t registered_at,
                                  std::string_view reason, int commissioning = 0);
LedgerEntry EncodeSignalEvent(const meter::audit::SignalEvent& event);

// What the latest commissioning of a meter set: its code, and its table when the ledger holds one
// (a meter commissioned before tables went into the ledger has none).
struct Commissioning {
  int number = 0;
  int64_t registered_at = 0;
  std::string fixed_image;
  std::optional<std::vector<int>> compare_lines;
  std::string compare_text;
  std::string reason;
};
// From a meter's records (any order): the commissioning with the highest number that has a code
// entry; nullopt when the meter was never commissioned.
std::optional<Commissioning> LatestCommissioning(const std::vector<LedgerRecord>& records);

// InvalidArgument naming the field when the kind is unknown, the payload does not parse, the key
// disagrees with the payload, or a code image does not match its length or SHA-256.
Result<LedgerRecord> DecodeEntry(const LedgerEntry& entry);

// Decodes a meter's entries (as a ledger returns them after checking their proofs) into the order
// LedgerView::RecordsOf promises: by (window, seq). Entries of other kinds are skipped, so the
// ledger may hold more than the audit's records. The first bad entry is the error.
Result<std::vector<LedgerRecord>> DecodeEntries(std::vector<LedgerEntry> entries);

}  // namespace mh::audit
