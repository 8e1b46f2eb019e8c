// The LedgerStore contract (ledger_store.h) as tests, run by every backend.
#include "store/ledger_store_conformance.h"

#include <stdlib.h>

#include <filesystem>
#include <tuple>
#include <vector>

namespace mh::store::conformance {

std::string LedgerStoreBackendName(const ::testing::TestParamInfo<LedgerStoreBackend>& info) {
  return info.param.name;
}

void PrintTo(const LedgerStoreBackend& backend, std::ostream* out) { *out << backend.name; }

LedgerScratchDir::LedgerScratchDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mh_ledger_test_XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

LedgerScratchDir::~LedgerScratchDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void LedgerStoreConformanceTest::SetUp() {
  dir_ = std::make_unique<LedgerScratchDir>();
  ASSERT_FALSE(dir_->path().empty()) << "cannot make a temporary directory";
  Result<std::unique_ptr<LedgerStore>> store = GetParam().make(dir_->path());
  if (IsSkipped()) return;  // the backend cannot run here (e.g. no PostgreSQL server binaries)
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

void LedgerStoreConformanceTest::TearDown() {
  store_.reset();
  dir_.reset();
}

namespace {

#define ASSERT_OK(expr)                                           \
  do {                                                            \
    const ::mh::Status mh_s_ = (expr);                            \
    ASSERT_TRUE(mh_s_.ok()) << #expr << ": " << mh_s_.ToString(); \
  } while (0)

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                                     \
  auto MH_CONCAT(r_, __LINE__) = (expr);                                                    \
  ASSERT_TRUE(MH_CONCAT(r_, __LINE__).ok()) << #expr << ": "                                \
                                            << MH_CONCAT(r_, __LINE__).status().ToString(); \
  lhs = std::move(MH_CONCAT(r_, __LINE__)).value()

auto Fields(const LedgerLeaf& l) {
  return std::make_tuple(l.index, l.key.meter_id, l.key.window, l.key.seq, l.kind, l.payload, l.leaf_hash);
}
auto Fields(const LedgerTreeHead& h) { return std::make_tuple(h.size, h.root_hash, h.timestamp_ms, h.signature); }

// A distinct 32-byte stand-in for a hash (the store never hashes).
std::string FakeHash(int64_t seed, char salt = 'h') {
  std::string h(32, salt);
  for (int i = 0; i < 8; ++i) h[i] = static_cast<char>((seed >> (8 * i)) & 0xff);
  return h;
}

LedgerLeaf Leaf(int64_t index, const std::string& meter, int64_t window, int64_t seq, const std::string& payload) {
  LedgerLeaf l;
  l.index = index;
  l.key = LedgerKey{meter, window, seq};
  l.kind = "first-time";
  l.payload = payload;
  l.leaf_hash = FakeHash(index);
  return l;
}

LedgerTreeHead Head(int64_t size) {
  return LedgerTreeHead{size, FakeHash(size, 'r'), 1700000000000 + size, std::string(64, static_cast<char>('s' + size % 5))};
}

TEST_P(LedgerStoreConformanceTest, StartsEmpty) {
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 0);
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerLeaf> found, store().FindByKey(LedgerKey{"M1", 0, 0}));
  EXPECT_FALSE(found.has_value());
  EXPECT_EQ(store().ReadLeaf(0).status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerTreeHead> head, store().LatestHead());
  EXPECT_FALSE(head.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> heads, store().Heads());
  EXPECT_TRUE(heads.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> missing, store().MissingLeaves(0, 0, 10));
  EXPECT_TRUE(missing.empty());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> meta, store().GetMeta("public_key"));
  EXPECT_FALSE(meta.has_value());
}

TEST_P(LedgerStoreConformanceTest, AppendsAndReadsBack) {
  LedgerAppend batch;
  batch.leaves = {Leaf(0, "M1", 1, 0, "a"), Leaf(1, "M2", 1, 0, "b"), Leaf(2, "M1", 1, 1, "c")};
  batch.nodes = {LedgerNode{1, 0, FakeHash(100, 'n')}};
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> indices, store().Append(batch));
  EXPECT_EQ(indices, (std::vector<int64_t>{0, 1, 2}));
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 3);
  for (const LedgerLeaf& want : batch.leaves) {
    ASSERT_OK_AND_ASSIGN(LedgerLeaf got, store().ReadLeaf(want.index));
    EXPECT_EQ(Fields(got), Fields(want));
    ASSERT_OK_AND_ASSIGN(std::optional<LedgerLeaf> found, store().FindByKey(want.key));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(Fields(*found), Fields(want));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerLeaf> range, store().ReadLeaves(1, 10));
  ASSERT_EQ(range.size(), 2u);
  EXPECT_EQ(Fields(range[0]), Fields(batch.leaves[1]));
  EXPECT_EQ(Fields(range[1]), Fields(batch.leaves[2]));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> nodes,
                       store().ReadNodes({LedgerNodeId{1, 0}, LedgerNodeId{0, 2}, LedgerNodeId{0, 0}}));
  EXPECT_EQ(nodes, (std::vector<std::string>{FakeHash(100, 'n'), FakeHash(2), FakeHash(0)}));
}

TEST_P(LedgerStoreConformanceTest, KeysDifferByWindowAndSeq) {
  LedgerAppend batch;
  batch.leaves = {Leaf(0, "M1", 1, 0, "a"), Leaf(1, "M1", 2, 0, "a"), Leaf(2, "M1", 1, 1, "a"),
                  Leaf(3, "M10", 1, 0, "a")};
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> indices, store().Append(batch));
  EXPECT_EQ(indices, (std::vector<int64_t>{0, 1, 2, 3}));
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerLeaf> found, store().FindByKey(LedgerKey{"M1", 2, 0}));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->index, 1);
  ASSERT_OK_AND_ASSIGN(found, store().FindByKey(LedgerKey{"M1", 2, 1}));
  EXPECT_FALSE(found.has_value());
}

TEST_P(LedgerStoreConformanceTest, BinaryPayloadsRoundTrip) {
  std::string payload;
  for (int i = 0; i < 256; ++i) payload.push_back(static_cast<char>(i));
  payload += std::string("\0\0end", 5);
  LedgerAppend batch;
  batch.leaves = {Leaf(0, "M1", 0, 0, payload)};
  batch.leaves[0].kind = "initial-code";
  ASSERT_OK(store().Append(batch).status());
  ASSERT_OK_AND_ASSIGN(LedgerLeaf got, store().ReadLeaf(0));
  EXPECT_EQ(got.payload, payload);
  EXPECT_EQ(got.kind, "initial-code");
  EXPECT_EQ(got.leaf_hash.size(), 32u);
}

TEST_P(LedgerStoreConformanceTest, SameKeySameBytesReturnsTheExistingIndex) {
  LedgerAppend first;
  first.leaves = {Leaf(0, "M1", 1, 0, "a"), Leaf(1, "M1", 1, 1, "b")};
  ASSERT_OK(store().Append(first).status());
  LedgerAppend again;
  again.leaves = {Leaf(7, "M1", 1, 1, "b"), Leaf(2, "M1", 1, 2, "c"), Leaf(0, "M1", 1, 0, "a")};
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> indices, store().Append(again));
  EXPECT_EQ(indices, (std::vector<int64_t>{1, 2, 0}));
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 3);
  // The same key twice in one batch: the second is the first's index.
  LedgerAppend twice;
  twice.leaves = {Leaf(3, "M2", 0, 0, "x"), Leaf(4, "M2", 0, 0, "x")};
  ASSERT_OK_AND_ASSIGN(indices, store().Append(twice));
  EXPECT_EQ(indices, (std::vector<int64_t>{3, 3}));
  ASSERT_OK_AND_ASSIGN(size, store().Size());
  EXPECT_EQ(size, 4);
}

TEST_P(LedgerStoreConformanceTest, SameKeyOtherBytesIsRefusedAndNothingIsWritten) {
  LedgerAppend first;
  first.leaves = {Leaf(0, "M1", 1, 0, "a")};
  ASSERT_OK(store().Append(first).status());
  LedgerAppend changed;
  changed.leaves = {Leaf(1, "M1", 1, 1, "new"), Leaf(2, "M1", 1, 0, "A")};
  changed.nodes = {LedgerNode{1, 0, FakeHash(9, 'n')}};
  Result<std::vector<int64_t>> result = store().Append(changed);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(result.status().message().find("M1"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("index 0"), std::string::npos) << result.status().message();
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 1);
  EXPECT_EQ(store().ReadNodes({LedgerNodeId{1, 0}}).status().code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(LedgerLeaf kept, store().ReadLeaf(0));
  EXPECT_EQ(kept.payload, "a");
  // Another kind with the same payload is other bytes too.
  LedgerAppend other_kind;
  other_kind.leaves = {Leaf(1, "M1", 1, 0, "a")};
  other_kind.leaves[0].kind = "initial-code";
  EXPECT_EQ(store().Append(other_kind).status().code(), StatusCode::kAlreadyExists);
}

TEST_P(LedgerStoreConformanceTest, NewLeavesMustTakeTheNextIndex) {
  LedgerAppend first;
  first.leaves = {Leaf(0, "M1", 1, 0, "a")};
  ASSERT_OK(store().Append(first).status());
  LedgerAppend gap;
  gap.leaves = {Leaf(1, "M1", 1, 1, "b"), Leaf(3, "M1", 1, 2, "c")};
  Result<std::vector<int64_t>> result = store().Append(gap);
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  LedgerAppend stale;  // a writer that thinks the log is still empty
  stale.leaves = {Leaf(0, "M9", 1, 0, "z")};
  EXPECT_EQ(store().Append(stale).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 1);
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerLeaf> found, store().FindByKey(LedgerKey{"M1", 1, 1}));
  EXPECT_FALSE(found.has_value());
}

TEST_P(LedgerStoreConformanceTest, NodesAreNeverRewritten) {
  LedgerAppend first;
  first.leaves = {Leaf(0, "M1", 1, 0, "a"), Leaf(1, "M1", 1, 1, "b")};
  first.nodes = {LedgerNode{1, 0, FakeHash(1, 'n')}};
  ASSERT_OK(store().Append(first).status());
  LedgerAppend same;
  same.nodes = {LedgerNode{1, 0, FakeHash(1, 'n')}};
  ASSERT_OK(store().Append(same).status());
  LedgerAppend other;
  other.leaves = {Leaf(2, "M1", 1, 2, "c")};
  other.nodes = {LedgerNode{1, 0, FakeHash(2, 'n')}};
  EXPECT_EQ(store().Append(other).status().code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(int64_t size, store().Size());
  EXPECT_EQ(size, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> nodes, store().ReadNodes({LedgerNodeId{1, 0}}));
  EXPECT_EQ(nodes[0], FakeHash(1, 'n'));
}

TEST_P(LedgerStoreConformanceTest, MissingNodesAreNamed) {
  LedgerAppend first;
  first.leaves = {Leaf(0, "M1", 1, 0, "a")};
  ASSERT_OK(store().Append(first).status());
  Result<std::vector<std::string>> nodes = store().ReadNodes({LedgerNodeId{0, 0}, LedgerNodeId{2, 5}});
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().code(), StatusCode::kNotFound);
  EXPECT_NE(nodes.status().message().find("level 2 index 5"), std::string::npos) << nodes.status().message();
  nodes = store().ReadNodes({LedgerNodeId{0, 4}});
  ASSERT_FALSE(nodes.ok());
  EXPECT_NE(nodes.status().message().find("index 4"), std::string::npos) << nodes.status().message();
}

TEST_P(LedgerStoreConformanceTest, LeavesOfOneMeterInIndexOrder) {
  LedgerAppend batch;
  for (int i = 0; i < 20; ++i) batch.leaves.push_back(Leaf(i, i % 3 == 0 ? "A" : "B", i / 4, i, "p" + std::to_string(i)));
  ASSERT_OK(store().Append(batch).status());
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerLeaf> a, store().LeavesOfMeter("A", 13));
  std::vector<int64_t> indices;
  for (const LedgerLeaf& l : a) indices.push_back(l.index);
  EXPECT_EQ(indices, (std::vector<int64_t>{0, 3, 6, 9, 12}));
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerLeaf> none, store().LeavesOfMeter("C", 100));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> missing, store().MissingLeaves(0, 20, 10));
  EXPECT_TRUE(missing.empty());
  ASSERT_OK_AND_ASSIGN(missing, store().MissingLeaves(0, 23, 2));  // beyond the end counts as missing
  EXPECT_EQ(missing, (std::vector<int64_t>{20, 21}));
  ASSERT_OK_AND_ASSIGN(missing, store().MissingLeaves(18, 23, 10));  // a range: only its own indices
  EXPECT_EQ(missing, (std::vector<int64_t>{20, 21, 22}));
  ASSERT_OK_AND_ASSIGN(missing, store().MissingLeaves(5, 20, 10));
  EXPECT_TRUE(missing.empty());
}

TEST_P(LedgerStoreConformanceTest, HeadsOnePerSize) {
  ASSERT_OK(store().PutHead(Head(0)));
  ASSERT_OK(store().PutHead(Head(5)));
  ASSERT_OK(store().PutHead(Head(3)));
  ASSERT_OK(store().PutHead(Head(5)));  // the same head again
  LedgerTreeHead other = Head(5);
  other.timestamp_ms += 1;
  EXPECT_EQ(store().PutHead(other).code(), StatusCode::kAlreadyExists);
  other = Head(5);
  other.root_hash[3] ^= 1;
  EXPECT_EQ(store().PutHead(other).code(), StatusCode::kAlreadyExists);
  ASSERT_OK_AND_ASSIGN(std::optional<LedgerTreeHead> latest, store().LatestHead());
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(Fields(*latest), Fields(Head(5)));
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> heads, store().Heads());
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(Fields(heads[0]), Fields(Head(0)));
  EXPECT_EQ(Fields(heads[1]), Fields(Head(3)));
  EXPECT_EQ(Fields(heads[2]), Fields(Head(5)));
}

// Witnesses page through every head ever signed (GET /api/v1/audit/ledger/heads?since=SIZE).
TEST_P(LedgerStoreConformanceTest, EveryHeadIsKeptAndPagedFromASize) {
  for (int64_t size : {1, 2, 4, 8, 9, 100, 1000}) ASSERT_OK(store().PutHead(Head(size)));
  auto sizes = [](const std::vector<LedgerTreeHead>& heads) {
    std::vector<int64_t> out;
    for (const auto& h : heads) out.push_back(h.size);
    return out;
  };
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> all, store().HeadsSince(0, 0));
  EXPECT_EQ(sizes(all), (std::vector<int64_t>{1, 2, 4, 8, 9, 100, 1000}));
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(Fields(all[i]), Fields(Head(all[i].size)));
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> from8, store().HeadsSince(8, 0));
  EXPECT_EQ(sizes(from8), (std::vector<int64_t>{8, 9, 100, 1000}));  // since is inclusive
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> page, store().HeadsSince(3, 2));
  EXPECT_EQ(sizes(page), (std::vector<int64_t>{4, 8}));
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerTreeHead> none, store().HeadsSince(1001, 10));
  EXPECT_TRUE(none.empty());
}

TEST_P(LedgerStoreConformanceTest, MetaValues) {
  ASSERT_OK(store().PutMeta("public_key", std::string("\x01\x00\x02", 3)));
  ASSERT_OK(store().PutMeta("public_key", std::string("\x03\x00\x04", 3)));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> value, store().GetMeta("public_key"));
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, std::string("\x03\x00\x04", 3));
}

TEST_P(LedgerStoreConformanceTest, LargeBatches) {
  LedgerAppend batch;
  for (int i = 0; i < 5000; ++i) batch.leaves.push_back(Leaf(i, "M" + std::to_string(i % 50), i / 50, i % 50, "x"));
  for (int i = 0; i < 2500; ++i) batch.nodes.push_back(LedgerNode{1, i, FakeHash(i, 'n')});
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> indices, store().Append(batch));
  ASSERT_EQ(indices.size(), 5000u);
  EXPECT_EQ(indices.back(), 4999);
  ASSERT_OK_AND_ASSIGN(std::vector<LedgerLeaf> all, store().ReadLeaves(0, 5000));
  EXPECT_EQ(all.size(), 5000u);
  std::vector<LedgerNodeId> ids;
  for (int i = 0; i < 2500; i += 7) ids.push_back(LedgerNodeId{1, i});
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> nodes, store().ReadNodes(ids));
  ASSERT_EQ(nodes.size(), ids.size());
  EXPECT_EQ(nodes.back(), FakeHash(ids.back().index, 'n'));
}

}  // namespace
}  // namespace mh::store::conformance
