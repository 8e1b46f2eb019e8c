// The tamper-evident ledger of SPEC 4.6 (the seed's "blockchain server"): an append-only RFC 6962
// Merkle log of audit entries (first monitoring times, initial code), with Ed25519-signed tree
// heads, inclusion and consistency proofs, and reads that verify entries before returning them.
// Byte formats: docs/formats/ledger.md (frozen).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "audit/ledger/merkle.h"
#include "base/clock.h"
#include "base/status.h"
#include "store/ledger_store.h"

namespace mh::audit::ledger {

struct EntryKey {
  std::string meter_id;
  int64_t window = 0;
  int64_t seq = 0;
};

struct Entry {
  EntryKey key;
  std::string kind;
  std::string payload;  // bytes
};

struct SignedTreeHead {
  int64_t size = 0;
  std::string root_hash;  // 32 bytes
  int64_t timestamp_ms = 0;
  std::string signature;  // 64 bytes: Ed25519 over HeadSignatureInput
};

inline constexpr size_t kMaxPayloadBytes = 1 << 20;
inline constexpr size_t kMaxKindBytes = 64;

// Ok when the entry can go into the ledger: a SPEC 0.1 meter id, window and seq >= 0, a kind of
// 1-64 chars [A-Za-z0-9_.-], a payload of at most 1 MiB. InvalidArgument naming the field.
Status CheckEntry(const Entry& entry);

// The canonical bytes of an entry, the input of its leaf hash (docs/formats/ledger.md):
// 0x01 | u32 len | meter_id | i64 window | i64 seq | u32 len | kind | u32 len | payload (big-endian).
std::string EntryBytes(const Entry& entry);
// HashLeaf(EntryBytes(entry)).
Hash EntryLeafHash(const Entry& entry);
// The bytes an Ed25519 tree-head signature covers: "meterhub-ledger-sth-v1" | 0x00 | u64 size |
// u64 timestamp_ms | root_hash (32), big-endian.
std::string HeadSignatureInput(int64_t size, std::string_view root_hash, int64_t timestamp_ms);

// Ok when `head` carries a valid signature under `public_key` (32 raw bytes or 64 hex chars);
// kUnauthenticated naming the head's size otherwise, InvalidArgument for malformed fields.
Status VerifyHead(const SignedTreeHead& head, std::string_view public_key);

// Proofs read node hashes through a store: O(log n) primary-key reads each (level 0: the stored
// leaf hashes). `store` must outlive the reader.
class StoreNodeReader final : public NodeReader {
 public:
  explicit StoreNodeReader(store::LedgerStore& store) : store_(store) {}
  Result<std::vector<Hash>> ReadNodes(std::span<const NodeId> ids) override;

 private:
  store::LedgerStore& store_;
};

// Thread-safe: one mutex serialises every call (a single writer per store, as the store expects).
class Ledger {
 public:
  // Over `store` and `clock` (both must outlive the Ledger) with a 32-byte Ed25519 private key.
  // Records the public key in the store the first time; a store signed with another key, or one
  // holding fewer entries than its latest signed head, is FailedPrecondition.
  static Result<std::unique_ptr<Ledger>> Open(store::LedgerStore& store, const Clock& clock,
                                              std::string_view private_key);

  // Idempotent per key: the same key with the same kind and payload returns the existing index;
  // with other bytes it is AlreadyExists (the ledger never rewrites).
  Result<int64_t> Append(const Entry& entry);
  // The same, for many entries, in one durable commit: all are appended or none.
  Result<std::vector<int64_t>> AppendBatch(const std::vector<Entry>& entries);

  // The latest signed tree head; signs (and stores) a new one when the log grew since.
  Result<SignedTreeHead> Head();

  Result<InclusionProof> ProveInclusion(int64_t index, int64_t tree_size);
  Result<ConsistencyProof> ProveConsistency(int64_t old_size, int64_t new_size);

  // Entries of one meter in the tree of `head`, each verified against `head` by its inclusion
  // proof before it is returned (after checking the head's signature). A changed or deleted row
  // is kUnauthenticated naming the index.
  Result<std::vector<Entry>> VerifiedEntriesOf(const std::string& meter_id, const SignedTreeHead& head);
  // A deleted row is invisible to a per-meter read, so VerifiedEntriesOf looks for holes in the
  // log — in the whole log once (seconds at 10^7 rows), then only in the rows appended since.
  // This makes the next call look at the whole log again: the audit server calls it at the start
  // of every scheduled pass and before every audit on request.
  void RecheckAllRows();

  const std::string& public_key() const { return public_key_; }  // 32 raw bytes
  int64_t size() const;

 private:
  Ledger(store::LedgerStore& store, const Clock& clock, std::string private_key, std::string public_key)
      : store_(store), clock_(clock), private_key_(std::move(private_key)), public_key_(std::move(public_key)) {}

  Status LoadRange();  // requires mutex_
  Result<std::vector<int64_t>> TryAppend(const std::vector<Entry>& entries);  // requires mutex_

  store::LedgerStore& store_;
  const Clock& clock_;
  const std::string private_key_;
  const std::string public_key_;

  mutable std::mutex mutex_;
  CompactRange range_;  // guarded by mutex_: the right edge of the stored tree
  int64_t present_below_ = 0;  // guarded by mutex_: rows [0, present_below_) were found present
};

}  // namespace mh::audit::ledger
