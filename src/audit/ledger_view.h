// The audit's only way into the ledger: the decoded records of one meter, after the ledger has
// checked them (the real one verifies inclusion proofs against a signed tree head; the lead wires
// it in behind this interface). Plus an in-memory ledger for tests and the simulator, and an
// Uploader that appends a plugin's first monitoring times to a ledger as they happen.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "audit/ledger_records.h"
#include "base/status.h"
#include "meter/audit/plugin.h"

namespace mh::audit {

// RecordsOf returns this code when the ledger's own check fails (a changed or deleted entry: the
// proof does not verify). The audit reports it as a ledger alarm rather than an error.
inline constexpr StatusCode kLedgerIntegrityError = StatusCode::kUnauthenticated;

// Where appends go (the plugin's uploader, commissioning): a ledger keyed per (meter, window, seq).
class LedgerSink {
 public:
  virtual ~LedgerSink() = default;
  // Idempotent per key; AlreadyExists when another entry holds the key.
  virtual Status Append(const LedgerEntry& entry) = 0;
  // The same for several entries, all or none (what one commissioning writes).
  virtual Status AppendAll(const std::vector<LedgerEntry>& entries) = 0;
};

class LedgerView {
 public:
  virtual ~LedgerView() = default;
  // The meter's records in ledger order (code registration first, then signal events by
  // (window, seq)). An empty vector when the ledger knows nothing of the meter.
  virtual Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) = 0;
};

// A ledger in memory. Appends are idempotent per key (the same entry again is a no-op; a different
// entry under a used key is AlreadyExists). Each entry's SHA-256 is kept at append time, standing
// in for the real ledger's Merkle leaf hash: with verification on, a row changed afterwards (by
// Tamper, i.e. by someone with write access to storage) makes RecordsOf fail with
// kLedgerIntegrityError, as a failed inclusion proof would. With it off, the changed row is
// served as is, to show what the time check alone catches.
class InMemoryLedger final : public LedgerSink, public LedgerView {
 public:
  explicit InMemoryLedger(bool verify = true) : verify_(verify) {}

  Status Append(const LedgerEntry& entry) override;
  Status AppendAll(const std::vector<LedgerEntry>& entries) override;
  Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) override;

  // Rewrites a stored entry's payload in place (the leaf hash stays): false when no such key.
  bool Tamper(const EntryKey& key, std::string payload);
  void set_verify(bool verify) { verify_ = verify; }
  // The stored entries of a meter, in key order.
  std::vector<LedgerEntry> EntriesOf(const std::string& meter_id) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Stored {
    LedgerEntry entry;
    std::string leaf_hash;  // hex SHA-256 of kind, 0x00, payload at append time
  };
  bool verify_;
  std::map<EntryKey, Stored> entries_;
};

// The meter's real-time upload path in tests and the simulator: each event goes straight into the
// ledger. Append failures are counted, not thrown.
class LedgerUploader final : public meter::audit::Uploader {
 public:
  explicit LedgerUploader(LedgerSink* ledger) : ledger_(ledger) {}
  void Upload(const meter::audit::SignalEvent& event) override;
  uint64_t failures() const { return failures_; }

 private:
  LedgerSink* ledger_;
  uint64_t failures_ = 0;
};

}  // namespace mh::audit
