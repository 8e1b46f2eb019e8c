#include "audit/ledger/merkle.h"

#include <algorithm>
#include <bit>
#include <utility>

#include <openssl/sha.h>

namespace mh::audit::ledger {
namespace {

using Range = std::pair<int64_t, int64_t>;  // leaves [first, second)

// The largest power of two strictly below n (n >= 2): where RFC 6962 splits a tree of n leaves.
int64_t SplitPoint(int64_t n) { return static_cast<int64_t>(std::bit_floor(static_cast<uint64_t>(n - 1))); }

void InclusionRanges(int64_t m, int64_t begin, int64_t end, std::vector<Range>& out) {
  if (end - begin == 1) return;
  const int64_t k = SplitPoint(end - begin);
  if (m < begin + k) {
    InclusionRanges(m, begin, begin + k, out);
    out.emplace_back(begin + k, end);
  } else {
    InclusionRanges(m, begin + k, end, out);
    out.emplace_back(begin, begin + k);
  }
}

// SUBPROOF(m, D[begin:end], whole) of RFC 6962 2.1.2, as ranges.
void ConsistencyRanges(int64_t m, int64_t begin, int64_t end, bool whole, std::vector<Range>& out) {
  const int64_t n = end - begin;
  if (m == n) {
    if (!whole) out.emplace_back(begin, end);
    return;
  }
  const int64_t k = SplitPoint(n);
  if (m <= k) {
    ConsistencyRanges(m, begin, begin + k, whole, out);
    out.emplace_back(begin + k, end);
  } else {
    ConsistencyRanges(m - k, begin + k, end, false, out);
    out.emplace_back(begin, begin + k);
  }
}

// Reads every node of every range in one call, then folds each range to its hash.
Result<std::vector<Hash>> RangeHashes(NodeReader& nodes, const std::vector<Range>& ranges) {
  std::vector<NodeId> ids;
  std::vector<size_t> counts;
  for (const Range& range : ranges) {
    std::vector<NodeId> part = RangeNodes(range.first, range.second);
    counts.push_back(part.size());
    ids.insert(ids.end(), part.begin(), part.end());
  }
  MH_ASSIGN_OR_RETURN(std::vector<Hash> hashes, nodes.ReadNodes(ids));
  if (hashes.size() != ids.size()) return Internal("merkle: node source returned the wrong number of hashes");
  std::vector<Hash> out;
  out.reserve(ranges.size());
  size_t at = 0;
  for (size_t count : counts) {
    Hash hash = hashes[at + count - 1];
    for (size_t i = count - 1; i-- > 0;) hash = HashChildren(hashes[at + i], hash);
    out.push_back(hash);
    at += count;
  }
  return out;
}

Status Fail(const std::string& what) { return Unauthenticated("merkle: " + what); }

}  // namespace

Hash HashLeaf(std::span<const uint8_t> data) {
  std::vector<uint8_t> buffer;
  buffer.reserve(data.size() + 1);
  buffer.push_back(0x00);
  buffer.insert(buffer.end(), data.begin(), data.end());
  Hash out;
  SHA256(buffer.data(), buffer.size(), out.data());
  return out;
}

Hash HashChildren(const Hash& left, const Hash& right) {
  uint8_t buffer[65];
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 33);
  Hash out;
  SHA256(buffer, sizeof(buffer), out.data());
  return out;
}

Hash EmptyRoot() { return crypto::Sha256(std::span<const uint8_t>()); }

Hash ReferenceRoot(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.empty()) return EmptyRoot();
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const size_t k = static_cast<size_t>(SplitPoint(static_cast<int64_t>(leaf_hashes.size())));
  return HashChildren(ReferenceRoot(leaf_hashes.subspan(0, k)), ReferenceRoot(leaf_hashes.subspan(k)));
}

std::vector<NodeId> RangeNodes(int64_t begin, int64_t end) {
  std::vector<NodeId> out;
  int64_t pos = begin;
  while (pos < end) {
    uint64_t step = std::bit_floor(static_cast<uint64_t>(end - pos));
    if (pos != 0) step = std::min(step, static_cast<uint64_t>(pos & -pos));
    const int level = std::countr_zero(step);
    out.push_back(NodeId{level, pos >> level});
    pos += static_cast<int64_t>(step);
  }
  return out;
}

Result<Hash> ComputeRoot(NodeReader& nodes, int64_t size) {
  if (size < 0) return InvalidArgument("merkle: negative tree size");
  if (size == 0) return EmptyRoot();
  MH_ASSIGN_OR_RETURN(std::vector<Hash> hashes, RangeHashes(nodes, {Range{0, size}}));
  return hashes[0];
}

Result<InclusionProof> MakeInclusionProof(NodeReader& nodes, int64_t index, int64_t tree_size) {
  if (index < 0 || index >= tree_size) {
    return InvalidArgument("merkle: no leaf " + std::to_string(index) + " in a tree of size " +
                           std::to_string(tree_size));
  }
  std::vector<Range> ranges;
  InclusionRanges(index, 0, tree_size, ranges);
  InclusionProof proof;
  proof.index = index;
  proof.tree_size = tree_size;
  MH_ASSIGN_OR_RETURN(proof.path, RangeHashes(nodes, ranges));
  return proof;
}

Result<ConsistencyProof> MakeConsistencyProof(NodeReader& nodes, int64_t old_size, int64_t new_size) {
  if (old_size < 0 || old_size > new_size) {
    return InvalidArgument("merkle: no consistency proof from size " + std::to_string(old_size) + " to " +
                           std::to_string(new_size));
  }
  ConsistencyProof proof;
  proof.old_size = old_size;
  proof.new_size = new_size;
  if (old_size == 0 || old_size == new_size) return proof;
  std::vector<Range> ranges;
  ConsistencyRanges(old_size, 0, new_size, true, ranges);
  MH_ASSIGN_OR_RETURN(proof.path, RangeHashes(nodes, ranges));
  return proof;
}

Status VerifyInclusion(const Hash& leaf_hash, const InclusionProof& proof, const Hash& root) {
  if (proof.index < 0 || proof.index >= proof.tree_size) {
    return Fail("leaf index " + std::to_string(proof.index) + " outside a tree of size " +
                std::to_string(proof.tree_size));
  }
  uint64_t fn = static_cast<uint64_t>(proof.index);
  uint64_t sn = static_cast<uint64_t>(proof.tree_size - 1);
  Hash r = leaf_hash;
  for (const Hash& p : proof.path) {
    if (sn == 0) return Fail("inclusion proof too long");
    if ((fn & 1) == 1 || fn == sn) {
      r = HashChildren(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("inclusion proof too short");
  if (r != root) return Fail("inclusion proof of leaf " + std::to_string(proof.index) + " does not lead to the root");
  return Status::Ok();
}

Status VerifyConsistency(const ConsistencyProof& proof, const Hash& old_root, const Hash& new_root) {
  if (proof.old_size < 0 || proof.old_size > proof.new_size) {
    return Fail("old size " + std::to_string(proof.old_size) + " beyond new size " + std::to_string(proof.new_size));
  }
  if (proof.old_size == proof.new_size) {
    if (!proof.path.empty()) return Fail("consistency proof between equal sizes must be empty");
    if (old_root != new_root) return Fail("different roots for the same size " + std::to_string(proof.old_size));
    return Status::Ok();
  }
  if (proof.old_size == 0) {
    if (!proof.path.empty()) return Fail("consistency proof from the empty tree must be empty");
    return Status::Ok();
  }
  if (proof.path.empty()) return Fail("empty consistency proof");
  std::vector<Hash> path;
  path.reserve(proof.path.size() + 1);
  // An old tree that is a complete subtree is itself the first node of the proof.
  if (std::has_single_bit(static_cast<uint64_t>(proof.old_size))) path.push_back(old_root);
  path.insert(path.end(), proof.path.begin(), proof.path.end());

  uint64_t fn = static_cast<uint64_t>(proof.old_size - 1);
  uint64_t sn = static_cast<uint64_t>(proof.new_size - 1);
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Fail("consistency proof too long");
    if ((fn & 1) == 1 || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("consistency proof too short");
  if (fr != old_root) return Fail("consistency proof does not lead to the old root (size " + std::to_string(proof.old_size) + ")");
  if (sr != new_root) return Fail("consistency proof does not lead to the new root (size " + std::to_string(proof.new_size) + ")");
  return Status::Ok();
}

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash hash = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) hash = HashChildren(hashes_[i], hash);
  return hash;
}

void MemoryTree::Append(const Hash& leaf_hash) {
  range_.Append(leaf_hash, [this](const NodeId& id, const Hash& hash) {
    if (levels_.size() <= static_cast<size_t>(id.level)) levels_.resize(id.level + 1);
    levels_[id.level].push_back(hash);
  });
}

const Hash* MemoryTree::Node(const NodeId& id) const {
  if (id.level < 0 || static_cast<size_t>(id.level) >= levels_.size() || id.index < 0) return nullptr;
  const std::vector<Hash>& level = levels_[id.level];
  if (static_cast<size_t>(id.index) >= level.size()) return nullptr;
  return &level[id.index];
}

Result<std::vector<Hash>> MemoryTree::ReadNodes(std::span<const NodeId> ids) {
  std::vector<Hash> out;
  out.reserve(ids.size());
  for (const NodeId& id : ids) {
    const Hash* hash = Node(id);
    if (hash == nullptr) {
      return NotFound("merkle: no node at level " + std::to_string(id.level) + " index " + std::to_string(id.index));
    }
    out.push_back(*hash);
  }
  return out;
}

std::string HashHex(const Hash& hash) { return crypto::HexEncode(hash); }

Result<Hash> HashFromHex(std::string_view hex) {
  if (hex.size() != 64) return InvalidArgument("hash must be 64 hex chars, not " + std::to_string(hex.size()));
  MH_ASSIGN_OR_RETURN(crypto::Bytes bytes, crypto::HexDecode(hex));
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

Result<Hash> HashFromBytes(std::string_view bytes) {
  if (bytes.size() != 32) return InvalidArgument("hash must be 32 bytes, not " + std::to_string(bytes.size()));
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

}  // namespace mh::audit::ledger
