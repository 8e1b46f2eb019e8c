// The audit's LedgerView over the real Merkle ledger (src/audit/ledger): live (a Ledger, entries
// verified by VerifiedEntriesOf against its latest signed head) or a snapshot (a directory written
// by `meterhub ledger export` or a SQLite database, entries verified by inclusion proofs against
// the snapshot's latest signed head). A failed proof is kLedgerIntegrityError → ledger-alarm.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/ledger/ledger.h"
#include "audit/ledger_view.h"
#include "base/clock.h"
#include "store/ledger_store.h"

namespace mh::audit {

ledger::Entry ToLedger(const LedgerEntry& e);
LedgerEntry FromLedger(const ledger::Entry& e);

// Reads through Ledger::VerifiedEntriesOf against the ledger's latest head (signed on demand).
class VerifiedLedgerView final : public LedgerView {
 public:
  explicit VerifiedLedgerView(ledger::Ledger& ledger) : ledger_(ledger) {}
  Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) override;

 private:
  ledger::Ledger& ledger_;
};

// A whole ledger over a LedgerStore — the simulator's, the tests' and `audit example`'s (memory
// store), or the daemon's (SQLite). Tamper rewrites a stored row's payload as someone with write
// access to the storage would (its leaf hash stays), so the inclusion proof of that row fails.
class AuditLedger final : public LedgerSink, public LedgerView {
 public:
  // Over a fresh memory store with `private_key` (32 bytes; a fresh key when empty).
  static Result<std::unique_ptr<AuditLedger>> InMemory(const Clock& clock, std::string private_key = {});
  // Over `store` (owned).
  static Result<std::unique_ptr<AuditLedger>> Over(std::unique_ptr<store::LedgerStore> store, const Clock& clock,
                                                   std::string private_key);

  Status Append(const LedgerEntry& entry) override;
  Status AppendAll(const std::vector<LedgerEntry>& entries) override;
  Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) override;

  bool Tamper(const EntryKey& key, std::string payload);
  // With verification off, RecordsOf serves the stored rows unchecked (what the time check alone sees).
  void set_verify(bool verify) { verify_ = verify; }
  // The stored rows of a meter (as they are, tampered or not), in (window, seq) order.
  Result<std::vector<LedgerEntry>> EntriesOf(const std::string& meter_id);
  int64_t size() const { return ledger_->size(); }
  ledger::Ledger& ledger() { return *ledger_; }
  store::LedgerStore& store() { return *store_; }

 private:
  AuditLedger() = default;
  std::unique_ptr<store::LedgerStore> store_;  // the tamperable wrapper around the real store
  std::unique_ptr<ledger::Ledger> ledger_;
  bool verify_ = true;
};

// Writes the ledger directory format of `meterhub ledger export` (docs/formats/ledger.md):
// entries.jsonl, heads.jsonl, head.json, public_key. With `sign_first` (the Ledger over `store`)
// a head covering every entry is signed first when the log grew since the latest one.
Status WriteLedgerDirectory(store::LedgerStore& store, const std::string& dir, ledger::Ledger* sign_first = nullptr);

// The 32-byte Ed25519 private key held in `path` as 64 hex chars; FailedPrecondition when the file
// is not such a key or is readable by group/others.
Result<std::string> ReadLedgerKeyFile(const std::string& path);

// A ledger snapshot at `path`: a directory (entries.jsonl, head.json, public_key) or a SQLite
// database holding the ledger tables. `public_key_hex` (64 hex) overrides the stored key.
// InvalidArgument naming the file (and line) when it cannot be read.
Result<std::unique_ptr<LedgerView>> OpenLedgerSnapshot(const std::string& path,
                                                       const std::optional<std::string>& public_key_hex = std::nullopt);

}  // namespace mh::audit
