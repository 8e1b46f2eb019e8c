// Merkle hashing and proofs against the RFC 6962 reference vectors, then cross-checks on every
// tree size up to 64: generated proofs equal the RFC's recursive definitions, verify, and stop
// verifying when any element is changed.
//
// Vectors: the 8 leaves, node hashes and roots of transparency-dev/merkle testonly/constants.go
// (the same data as certificate-transparency's merkle_tree_test.cc), and the inclusion and
// consistency proofs of transparency-dev/merkle proof/verify_test.go (whose leaf numbers are
// 1-based; they are converted to 0-based indices here).
#include "audit/ledger/merkle.h"

#include <random>

#include <gtest/gtest.h>

namespace mh::audit::ledger {
namespace {

Hash H(std::string_view hex) {
  Result<Hash> hash = HashFromHex(hex);
  EXPECT_TRUE(hash.ok()) << hex;
  return hash.ok() ? *hash : Hash{};
}

crypto::Bytes Bytes(std::string_view hex) {
  Result<crypto::Bytes> bytes = crypto::HexDecode(hex);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : crypto::Bytes{};
}

const char* const kLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"};

// Roots for sizes 0..8.
const char* const kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

// Complete subtree hashes of the 8-leaf tree, by level.
const std::vector<std::vector<const char*>> kNodes = {
    {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

struct ProofVector {
  int64_t a;  // leaf index (inclusion) or old size (consistency)
  int64_t size;
  std::vector<const char*> path;
};

const ProofVector kInclusion[] = {
    {0, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {0, 1, {}},
};

const ProofVector kConsistency[] = {
    {1, 1, {}},
    {1, 8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

MemoryTree VectorTree() {
  MemoryTree tree;
  for (const char* leaf : kLeaves) tree.Append(HashLeaf(Bytes(leaf)));
  return tree;
}

std::vector<Hash> Path(const std::vector<const char*>& hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(H(h));
  return out;
}

TEST(Merkle, EmptyTreeRoot) {
  EXPECT_EQ(HashHex(EmptyRoot()), kRoots[0]);
  MemoryTree tree;
  EXPECT_EQ(HashHex(tree.Root()), kRoots[0]);
  Result<Hash> root = ComputeRoot(tree, 0);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(HashHex(*root), kRoots[0]);
}

TEST(Merkle, ReferenceNodeHashes) {
  const MemoryTree tree = VectorTree();
  for (size_t level = 0; level < kNodes.size(); ++level) {
    for (size_t i = 0; i < kNodes[level].size(); ++i) {
      const Hash* node = tree.Node(NodeId{static_cast<int>(level), static_cast<int64_t>(i)});
      ASSERT_NE(node, nullptr) << level << "/" << i;
      EXPECT_EQ(HashHex(*node), kNodes[level][i]) << "level " << level << " index " << i;
    }
  }
}

TEST(Merkle, ReferenceRootsForSizes1To8) {
  MemoryTree tree = VectorTree();
  std::vector<Hash> leaves;
  MemoryTree growing;
  for (int size = 1; size <= 8; ++size) {
    leaves.push_back(HashLeaf(Bytes(kLeaves[size - 1])));
    growing.Append(leaves.back());
    Result<Hash> root = ComputeRoot(tree, size);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(HashHex(*root), kRoots[size]) << "size " << size;
    EXPECT_EQ(HashHex(ReferenceRoot(leaves)), kRoots[size]) << "size " << size;
    EXPECT_EQ(HashHex(growing.Root()), kRoots[size]) << "size " << size;
  }
}

TEST(Merkle, ReferenceInclusionProofs) {
  MemoryTree tree = VectorTree();
  for (const ProofVector& v : kInclusion) {
    Result<InclusionProof> proof = MakeInclusionProof(tree, v.a, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(proof->path, Path(v.path)) << "leaf " << v.a << " size " << v.size;
    const Hash leaf = HashLeaf(Bytes(kLeaves[v.a]));
    EXPECT_TRUE(VerifyInclusion(leaf, *proof, H(kRoots[v.size])).ok()) << "leaf " << v.a << " size " << v.size;
  }
}

TEST(Merkle, ReferenceConsistencyProofs) {
  MemoryTree tree = VectorTree();
  for (const ProofVector& v : kConsistency) {
    Result<ConsistencyProof> proof = MakeConsistencyProof(tree, v.a, v.size);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    EXPECT_EQ(proof->path, Path(v.path)) << v.a << " -> " << v.size;
    const Status status = VerifyConsistency(*proof, H(kRoots[v.a]), H(kRoots[v.size]));
    EXPECT_TRUE(status.ok()) << v.a << " -> " << v.size << ": " << status.ToString();
  }
}

// The edge cases transparency-dev/merkle pins in TestVerifyConsistency / TestVerifyInclusion.
TEST(Merkle, VerifierEdgeCases) {
  const Hash a = H(kRoots[1]);
  const Hash b = H(kRoots[2]);
  EXPECT_TRUE(VerifyConsistency({0, 0, {}}, a, a).ok());
  EXPECT_FALSE(VerifyConsistency({0, 0, {}}, a, b).ok());
  EXPECT_TRUE(VerifyConsistency({0, 1, {}}, a, b).ok());
  EXPECT_TRUE(VerifyConsistency({1, 1, {}}, b, b).ok());
  EXPECT_FALSE(VerifyConsistency({1, 1, {}}, a, b).ok());
  EXPECT_FALSE(VerifyConsistency({1, 0, {}}, a, b).ok());
  EXPECT_FALSE(VerifyConsistency({2, 1, {}}, a, b).ok());
  EXPECT_FALSE(VerifyConsistency({1, 2, {}}, a, b).ok());
  EXPECT_FALSE(VerifyConsistency({0, 1, {EmptyRoot()}}, EmptyRoot(), EmptyRoot()).ok());
  EXPECT_FALSE(VerifyConsistency({1, 1, {EmptyRoot()}}, EmptyRoot(), EmptyRoot()).ok());

  EXPECT_FALSE(VerifyInclusion(a, {0, 0, {}}, a).ok());
  EXPECT_FALSE(VerifyInclusion(a, {1, 1, {}}, a).ok());
  EXPECT_TRUE(VerifyInclusion(a, {0, 1, {}}, a).ok());
  EXPECT_FALSE(VerifyInclusion(a, {0, 1, {}}, b).ok());
  MemoryTree tree = VectorTree();
  EXPECT_EQ(MakeInclusionProof(tree, 8, 8).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeConsistencyProof(tree, 3, 2).status().code(), StatusCode::kInvalidArgument);
}

TEST(Merkle, RangeNodesDecomposeIntoCompleteSubtrees) {
  EXPECT_EQ(RangeNodes(0, 7), (std::vector<NodeId>{{2, 0}, {1, 2}, {0, 6}}));
  EXPECT_EQ(RangeNodes(4, 8), (std::vector<NodeId>{{2, 1}}));
  EXPECT_EQ(RangeNodes(8, 13), (std::vector<NodeId>{{2, 2}, {0, 12}}));
  EXPECT_TRUE(RangeNodes(5, 5).empty());
}

// --- cross-checks on every size up to 64 ---

// RFC 6962 2.1.1 PATH and 2.1.2 PROOF, written straight from the text over leaf hashes.
std::vector<Hash> RefPath(size_t m, std::span<const Hash> d) {
  if (d.size() <= 1) return {};
  size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  std::vector<Hash> out;
  if (m < k) {
    out = RefPath(m, d.subspan(0, k));
    out.push_back(ReferenceRoot(d.subspan(k)));
  } else {
    out = RefPath(m - k, d.subspan(k));
    out.push_back(ReferenceRoot(d.subspan(0, k)));
  }
  return out;
}

std::vector<Hash> RefSubproof(size_t m, std::span<const Hash> d, bool b) {
  const size_t n = d.size();
  if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{ReferenceRoot(d)};
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  std::vector<Hash> out;
  if (m <= k) {
    out = RefSubproof(m, d.subspan(0, k), b);
    out.push_back(ReferenceRoot(d.subspan(k)));
  } else {
    out = RefSubproof(m - k, d.subspan(k), false);
    out.push_back(ReferenceRoot(d.subspan(0, k)));
  }
  return out;
}

class RandomTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(20261122);
    for (int i = 0; i < kMax; ++i) {
      std::string data(1 + rng() % 40, '\0');
      for (char& c : data) c = static_cast<char>(rng());
      leaves_.push_back(HashLeaf(crypto::AsBytes(data)));
      tree_.Append(leaves_.back());
    }
  }
  std::span<const Hash> First(int64_t n) const { return std::span<const Hash>(leaves_).subspan(0, n); }

  static constexpr int kMax = 64;
  std::vector<Hash> leaves_;
  MemoryTree tree_;
};

TEST_F(RandomTree, EveryInclusionProofMatchesTheRfcAndVerifies) {
  int flips = 0;
  for (int64_t size = 1; size <= kMax; ++size) {
    const Hash root = ReferenceRoot(First(size));
    Result<Hash> computed = ComputeRoot(tree_, size);
    ASSERT_TRUE(computed.ok());
    ASSERT_EQ(*computed, root) << "size " << size;
    for (int64_t index = 0; index < size; ++index) {
      Result<InclusionProof> proof = MakeInclusionProof(tree_, index, size);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(proof->path, RefPath(index, First(size))) << index << "/" << size;
      ASSERT_TRUE(VerifyInclusion(leaves_[index], *proof, root).ok()) << index << "/" << size;
      // A flipped bit, of any element, of the leaf or of the root, fails: every bit up to size 16,
      // 7 bit positions per element beyond (keeps the test under a second).
      const int step = size <= 16 ? 1 : 37;
      for (size_t e = 0; e < proof->path.size(); ++e) {
        for (int bit = 0; bit < 256; bit += step) {
          InclusionProof bad = *proof;
          bad.path[e][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          EXPECT_FALSE(VerifyInclusion(leaves_[index], bad, root).ok()) << index << "/" << size << " e" << e;
          ++flips;
        }
      }
      Hash bad_leaf = leaves_[index];
      bad_leaf[index % 32] ^= 0x80;
      EXPECT_FALSE(VerifyInclusion(bad_leaf, *proof, root).ok());
      Hash bad_root = root;
      bad_root[size % 32] ^= 0x01;
      EXPECT_FALSE(VerifyInclusion(leaves_[index], *proof, bad_root).ok());
      // Another index or size with the same path fails too.
      if (size > 1) {
        InclusionProof moved = *proof;
        moved.index = (index + 1) % size;
        EXPECT_FALSE(VerifyInclusion(leaves_[index], moved, root).ok()) << index << "/" << size;
      }
      InclusionProof grown = *proof;
      grown.tree_size = size * 2;
      EXPECT_FALSE(VerifyInclusion(leaves_[index], grown, root).ok());
      if (!proof->path.empty()) {
        InclusionProof shorter = *proof;
        shorter.path.pop_back();
        EXPECT_FALSE(VerifyInclusion(leaves_[index], shorter, root).ok());
      }
      InclusionProof longer = *proof;
      longer.path.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves_[index], longer, root).ok());
    }
  }
  EXPECT_GT(flips, 10000);
}

TEST_F(RandomTree, EveryConsistencyProofMatchesTheRfcAndVerifies) {
  for (int64_t n = 1; n <= kMax; ++n) {
    const Hash new_root = ReferenceRoot(First(n));
    for (int64_t m = 0; m <= n; ++m) {
      const Hash old_root = ReferenceRoot(First(m));
      Result<ConsistencyProof> proof = MakeConsistencyProof(tree_, m, n);
      ASSERT_TRUE(proof.ok());
      if (m > 0) {
        ASSERT_EQ(proof->path, RefSubproof(m, First(n), true)) << m << "->" << n;
      }
      ASSERT_TRUE(VerifyConsistency(*proof, old_root, new_root).ok()) << m << "->" << n;
      if (m == 0 || m == n) continue;
      const int step = n <= 16 ? 1 : 37;
      for (size_t e = 0; e < proof->path.size(); ++e) {
        for (int bit = 0; bit < 256; bit += step) {
          ConsistencyProof bad = *proof;
          bad.path[e][bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
          EXPECT_FALSE(VerifyConsistency(bad, old_root, new_root).ok()) << m << "->" << n << " e" << e;
        }
      }
      Hash bad = old_root;
      bad[0] ^= 1;
      EXPECT_FALSE(VerifyConsistency(*proof, bad, new_root).ok());
      bad = new_root;
      bad[31] ^= 1;
      EXPECT_FALSE(VerifyConsistency(*proof, old_root, bad).ok());
      EXPECT_FALSE(VerifyConsistency(*proof, new_root, old_root).ok());
      ConsistencyProof truncated = *proof;
      truncated.path.pop_back();
      EXPECT_FALSE(VerifyConsistency(truncated, old_root, new_root).ok()) << m << "->" << n;
      ConsistencyProof shifted = *proof;
      shifted.old_size = m + 1 < n ? m + 1 : m - 1;
      if (shifted.old_size > 0) {
        EXPECT_FALSE(VerifyConsistency(shifted, old_root, new_root).ok()) << m << "->" << n;
      }
    }
  }
}

}  // namespace
}  // namespace mh::audit::ledger
