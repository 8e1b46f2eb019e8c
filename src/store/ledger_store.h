// The storage the tamper-evident ledger (SPEC 4.6, src/audit/ledger) persists through: its leaves
// (entries with their leaf hashes), the hashes of its complete subtrees, and its signed tree heads.
// Backends: memory/ (tests), sqlite/ (beside the main store, same file) and postgres/; all pass
// ledger_store_conformance.
//
// The store keeps bytes; the ledger computes every hash. Level-0 node hashes are the leaves'
// leaf_hash; the store keeps the hash of every complete subtree of level >= 1 by (level, index),
// so a proof reads O(log n) rows at any size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::store {

// A ledger entry's identity: appends are idempotent per key.
struct LedgerKey {
  std::string meter_id;
  int64_t window = 0;
  int64_t seq = 0;
  bool operator==(const LedgerKey&) const = default;
};

struct LedgerLeaf {
  int64_t index = 0;      // position in the log, from 0
  LedgerKey key;
  std::string kind;       // what the payload is (e.g. "first-time", "initial-code")
  std::string payload;    // bytes
  std::string leaf_hash;  // 32 bytes, as computed by the ledger from the entry bytes
};

// The complete subtree over leaves [index << level, (index + 1) << level), level >= 1.
struct LedgerNodeId {
  int level = 0;
  int64_t index = 0;
};

struct LedgerNode {
  int level = 0;
  int64_t index = 0;
  std::string hash;  // 32 bytes
};

struct LedgerTreeHead {
  int64_t size = 0;
  std::string root_hash;  // 32 bytes
  int64_t timestamp_ms = 0;
  std::string signature;  // 64 bytes (Ed25519)
};

// One append: its leaves and the level >= 1 nodes they complete, written in one durable commit.
struct LedgerAppend {
  std::vector<LedgerLeaf> leaves;
  std::vector<LedgerNode> nodes;
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // Writes the batch in one transaction, durable when this returns Ok, and returns one index per
  // leaf. Per leaf, in order:
  //  - its key is already there with the same kind and payload: nothing is written for it and the
  //    existing index is returned (an append is idempotent);
  //  - its key is there with another kind or payload: AlreadyExists naming the key and the index,
  //    and nothing of the batch is written (the ledger never rewrites);
  //  - otherwise it is new, and its `index` must be the next one (Size() for the first new leaf,
  //    then +1): else FailedPrecondition (another writer appended first), nothing written.
  // A node already there with another hash is AlreadyExists, nothing written; with the same hash
  // it is a no-op.
  virtual Result<std::vector<int64_t>> Append(const LedgerAppend& batch) = 0;

  // The number of leaves: one past the highest index.
  virtual Result<int64_t> Size() = 0;

  virtual Result<std::optional<LedgerLeaf>> FindByKey(const LedgerKey& key) = 0;
  // NotFound naming the index when there is no such leaf.
  virtual Result<LedgerLeaf> ReadLeaf(int64_t index) = 0;
  // The leaves present in [begin, end), by index (a deleted row is simply absent).
  virtual Result<std::vector<LedgerLeaf>> ReadLeaves(int64_t begin, int64_t end) = 0;
  // The leaves of one meter with index < below, by index.
  virtual Result<std::vector<LedgerLeaf>> LeavesOfMeter(const std::string& meter_id, int64_t below) = 0;
  // Indices in [begin, end) that have no leaf (rows deleted behind the ledger's back), at most
  // `limit`. Backends make the complete case cheap: [0, end) without reading every row.
  virtual Result<std::vector<int64_t>> MissingLeaves(int64_t begin, int64_t end, int64_t limit) = 0;

  // One 32-byte hash per id, in order; level 0 reads the leaf's leaf_hash. NotFound naming the
  // first missing node.
  virtual Result<std::vector<std::string>> ReadNodes(const std::vector<LedgerNodeId>& ids) = 0;

  // Keeps a signed head; one per size. The same head again is a no-op; another head for a size
  // already signed is AlreadyExists.
  virtual Status PutHead(const LedgerTreeHead& head) = 0;
  // The head of the largest size, if any.
  virtual Result<std::optional<LedgerTreeHead>> LatestHead() = 0;
  // The heads of size >= `since`, by size, at most `limit` (<= 0: no limit). Every head the
  // ledger ever signed stays here: witnesses page through them (GET /api/v1/audit/ledger/heads).
  virtual Result<std::vector<LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) = 0;
  // Every head, by size.
  Result<std::vector<LedgerTreeHead>> Heads() { return HeadsSince(0, 0); }

  // Small named values (the ledger's public key). Put overwrites.
  virtual Status PutMeta(const std::string& name, const std::string& value) = 0;
  virtual Result<std::optional<std::string>> GetMeta(const std::string& name) = 0;
};

}  // namespace mh::store
