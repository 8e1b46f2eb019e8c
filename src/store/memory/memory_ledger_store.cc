#include "store/memory/memory_ledger_store.h"

#include <map>
#include <algorithm>
#include <mutex>
#include <tuple>

namespace mh::store {
namespace {

std::string KeyText(const LedgerKey& key) {
  return "(" + key.meter_id + ", window " + std::to_string(key.window) + ", seq " + std::to_string(key.seq) + ")";
}

class MemoryLedgerStore final : public LedgerStore {
 public:
  Result<std::vector<int64_t>> Append(const LedgerAppend& batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    // Check everything first so that a refused batch leaves no trace.
    std::vector<int64_t> indices;
    std::map<Key, int64_t> added;  // keys new in this batch
    int64_t next = Size_();
    for (const LedgerLeaf& leaf : batch.leaves) {
      const Key key = KeyOf(leaf.key);
      std::optional<int64_t> existing;
      if (auto it = by_key_.find(key); it != by_key_.end()) existing = it->second;
      if (auto it = added.find(key); it != added.end()) existing = it->second;
      if (existing) {
        const LedgerLeaf& old = *existing < Size_() ? leaves_.at(*existing) : Pending(batch, *existing);
        if (old.kind != leaf.kind || old.payload != leaf.payload) {
          return AlreadyExists("ledger: entry " + KeyText(leaf.key) + " already at index " + std::to_string(*existing) +
                               " with other bytes");
        }
        indices.push_back(*existing);
        continue;
      }
      if (leaf.index != next) {
        return FailedPrecondition("ledger: new entry " + KeyText(leaf.key) + " given index " +
                                  std::to_string(leaf.index) + ", the next index is " + std::to_string(next));
      }
      added[key] = next;
      indices.push_back(next++);
    }
    for (const LedgerNode& node : batch.nodes) {
      auto it = nodes_.find({node.level, node.index});
      if (it != nodes_.end() && it->second != node.hash) {
        return AlreadyExists("ledger: node level " + std::to_string(node.level) + " index " +
                             std::to_string(node.index) + " already stored with another hash");
      }
    }
    for (size_t i = 0; i < batch.leaves.size(); ++i) {
      const LedgerLeaf& leaf = batch.leaves[i];
      if (leaves_.count(indices[i]) != 0) continue;
      LedgerLeaf copy = leaf;
      copy.index = indices[i];
      by_key_[KeyOf(leaf.key)] = copy.index;
      leaves_[copy.index] = std::move(copy);
    }
    for (const LedgerNode& node : batch.nodes) nodes_[{node.level, node.index}] = node.hash;
    return indices;
  }

  Result<int64_t> Size() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return Size_();
  }

  Result<std::optional<LedgerLeaf>> FindByKey(const LedgerKey& key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = by_key_.find(KeyOf(key));
    if (it == by_key_.end()) return std::optional<LedgerLeaf>();
    return std::optional<LedgerLeaf>(leaves_.at(it->second));
  }

  Result<LedgerLeaf> ReadLeaf(int64_t index) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = leaves_.find(index);
    if (it == leaves_.end()) return NotFound("ledger: no entry at index " + std::to_string(index));
    return it->second;
  }

  Result<std::vector<LedgerLeaf>> ReadLeaves(int64_t begin, int64_t end) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LedgerLeaf> out;
    for (auto it = leaves_.lower_bound(begin); it != leaves_.end() && it->first < end; ++it) out.push_back(it->second);
    return out;
  }

  Result<std::vector<LedgerLeaf>> LeavesOfMeter(const std::string& meter_id, int64_t below) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LedgerLeaf> out;
    for (const auto& [index, leaf] : leaves_) {
      if (index < below && leaf.key.meter_id == meter_id) out.push_back(leaf);
    }
    return out;
  }

  Result<std::vector<int64_t>> MissingLeaves(int64_t begin, int64_t end, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> out;
    for (int64_t i = std::max<int64_t>(begin, 0); i < end && static_cast<int64_t>(out.size()) < limit; ++i) {
      if (leaves_.count(i) == 0) out.push_back(i);
    }
    return out;
  }

  Result<std::vector<std::string>> ReadNodes(const std::vector<LedgerNodeId>& ids) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (const LedgerNodeId& id : ids) {
      if (id.level == 0) {
        auto it = leaves_.find(id.index);
        if (it == leaves_.end()) return NotFound("ledger: no entry at index " + std::to_string(id.index));
        out.push_back(it->second.leaf_hash);
        continue;
      }
      auto it = nodes_.find({id.level, id.index});
      if (it == nodes_.end()) {
        return NotFound("ledger: no node at level " + std::to_string(id.level) + " index " + std::to_string(id.index));
      }
      out.push_back(it->second);
    }
    return out;
  }

  Status PutHead(const LedgerTreeHead& head) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = heads_.find(head.size);
    if (it != heads_.end()) {
      const LedgerTreeHead& old = it->second;
      if (old.root_hash == head.root_hash && old.timestamp_ms == head.timestamp_ms && old.signature == head.signature) {
        return Status::Ok();
      }
      return AlreadyExists("ledger: another tree head of size " + std::to_string(head.size) + " is already stored");
    }
    heads_[head.size] = head;
    return Status::Ok();
  }

  Result<std::optional<LedgerTreeHead>> LatestHead() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (heads_.empty()) return std::optional<LedgerTreeHead>();
    return std::optional<LedgerTreeHead>(heads_.rbegin()->second);
  }

  Result<std::vector<LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<LedgerTreeHead> out;
    for (auto it = heads_.lower_bound(since); it != heads_.end(); ++it) {
      if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
      out.push_back(it->second);
    }
    return out;
  }

  Status PutMeta(const std::string& name, const std::string& value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    meta_[name] = value;
    return Status::Ok();
  }

  Result<std::optional<std::string>> GetMeta(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = meta_.find(name);
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

 private:
  using Key = std::tuple<std::string, int64_t, int64_t>;
  static Key KeyOf(const LedgerKey& k) { return {k.meter_id, k.window, k.seq}; }

  int64_t Size_() const { return leaves_.empty() ? 0 : leaves_.rbegin()->first + 1; }

  // A leaf of this batch that an earlier leaf of the same batch will add at `index`.
  static const LedgerLeaf& Pending(const LedgerAppend& batch, int64_t index) {
    for (const LedgerLeaf& leaf : batch.leaves) {
      if (leaf.index == index) return leaf;
    }
    return batch.leaves.front();  // unreachable: `index` was assigned from a leaf of the batch
  }

  std::mutex mutex_;
  std::map<int64_t, LedgerLeaf> leaves_;       // guarded by mutex_
  std::map<Key, int64_t> by_key_;              // guarded by mutex_
  std::map<std::pair<int, int64_t>, std::string> nodes_;  // guarded by mutex_; level >= 1
  std::map<int64_t, LedgerTreeHead> heads_;    // guarded by mutex_
  std::map<std::string, std::string> meta_;    // guarded by mutex_
};

}  // namespace

std::unique_ptr<LedgerStore> NewMemoryLedgerStore() { return std::make_unique<MemoryLedgerStore>(); }

}  // namespace mh::store
