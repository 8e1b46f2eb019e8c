// RFC 6962 / RFC 9162 Merkle tree hashing for the ledger: leaf and node hashes, roots, inclusion and
// consistency proofs built from stored complete-subtree hashes, and the RFC 9162 verifiers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace mh::audit::ledger {

using Hash = crypto::Digest;

// SHA-256(0x00 || data): a leaf can never be mistaken for an inner node.
Hash HashLeaf(std::span<const uint8_t> data);
// SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);
// MTH of the empty tree: SHA-256 of no bytes.
Hash EmptyRoot();

// The reference MTH of RFC 6962 2.1 over leaf hashes (recursive; for tests and small trees).
Hash ReferenceRoot(std::span<const Hash> leaf_hashes);

// A complete subtree: leaves [index << level, (index + 1) << level). Level 0 is a leaf hash.
struct NodeId {
  int level = 0;
  int64_t index = 0;
  bool operator==(const NodeId&) const = default;
};

// Where proofs read node hashes from (a store, or a tree in memory). Returns one hash per id, in
// order; a missing node is an error naming it.
class NodeReader {
 public:
  virtual ~NodeReader() = default;
  virtual Result<std::vector<Hash>> ReadNodes(std::span<const NodeId> ids) = 0;
};

// The complete subtrees that make up [begin, end), left to right, largest first. For the ranges
// that appear in RFC 6962 proofs (begin aligned to a power of two >= end - begin) folding their
// hashes from the right gives the range's MTH.
std::vector<NodeId> RangeNodes(int64_t begin, int64_t end);

struct InclusionProof {
  int64_t index = 0;
  int64_t tree_size = 0;
  std::vector<Hash> path;  // bottom-up, as in RFC 9162 2.1.3.1
};

struct ConsistencyProof {
  int64_t old_size = 0;
  int64_t new_size = 0;
  std::vector<Hash> path;  // as in RFC 9162 2.1.4.1
};

// Root of the first `size` leaves (O(log size) node reads).
Result<Hash> ComputeRoot(NodeReader& nodes, int64_t size);
// PATH(index, D[tree_size]); InvalidArgument unless 0 <= index < tree_size.
Result<InclusionProof> MakeInclusionProof(NodeReader& nodes, int64_t index, int64_t tree_size);
// PROOF(old_size, D[new_size]); InvalidArgument unless 0 <= old_size <= new_size. Empty when
// old_size is 0 or equal to new_size.
Result<ConsistencyProof> MakeConsistencyProof(NodeReader& nodes, int64_t old_size, int64_t new_size);

// RFC 9162 2.1.3.2: Ok when `proof` shows `leaf_hash` at proof.index in the tree with `root`;
// kUnauthenticated (naming the step that failed) otherwise.
Status VerifyInclusion(const Hash& leaf_hash, const InclusionProof& proof, const Hash& root);
// RFC 9162 2.1.4.2: Ok when the tree with `new_root` extends the one with `old_root`. An old size of
// 0 is consistent with anything (with an empty proof); equal sizes need equal roots.
Status VerifyConsistency(const ConsistencyProof& proof, const Hash& old_root, const Hash& new_root);

// The right edge of a growing tree (one hash per set bit of the size, largest subtree first):
// enough to append and to compute the root without reading anything else.
class CompactRange {
 public:
  CompactRange() = default;
  // From the hashes of RangeNodes(0, size).
  CompactRange(int64_t size, std::vector<Hash> hashes) : size_(size), hashes_(std::move(hashes)) {}

  // Appends a leaf hash; every complete subtree this finishes (the leaf itself included) is
  // passed to `emit` bottom-up, so a store can keep all complete subtrees.
  template <typename Emit>
  void Append(const Hash& leaf_hash, Emit&& emit) {
    Hash hash = leaf_hash;
    int level = 0;
    int64_t index = size_;
    emit(NodeId{level, index}, hash);
    while ((index & 1) == 1) {
      hash = HashChildren(hashes_.back(), hash);
      hashes_.pop_back();
      ++level;
      index >>= 1;
      emit(NodeId{level, index}, hash);
    }
    hashes_.push_back(hash);
    ++size_;
  }

  int64_t size() const { return size_; }
  const std::vector<Hash>& hashes() const { return hashes_; }
  Hash Root() const;

 private:
  int64_t size_ = 0;
  std::vector<Hash> hashes_;
};

// Every complete subtree of a tree kept in memory (2 hashes a leaf): the reference node source for
// tests, the offline verifier and the benchmark.
class MemoryTree final : public NodeReader {
 public:
  void Append(const Hash& leaf_hash);
  int64_t size() const { return levels_.empty() ? 0 : static_cast<int64_t>(levels_[0].size()); }
  Result<std::vector<Hash>> ReadNodes(std::span<const NodeId> ids) override;
  // Nullptr when the node does not exist (yet).
  const Hash* Node(const NodeId& id) const;
  Hash Root() const { return range_.Root(); }

 private:
  std::vector<std::vector<Hash>> levels_;
  CompactRange range_;
};

std::string HashHex(const Hash& hash);
// From 64 hex chars; InvalidArgument otherwise.
Result<Hash> HashFromHex(std::string_view hex);
// From exactly 32 bytes; InvalidArgument otherwise.
Result<Hash> HashFromBytes(std::string_view bytes);
inline std::string HashBytes(const Hash& hash) { return std::string(hash.begin(), hash.end()); }

}  // namespace mh::audit::ledger
