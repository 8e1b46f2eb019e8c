// Accepted readings (and removals) committed since the last packing, per meter channel in ts
// order: what the packed blocks do not hold yet. The log table holds the same changes durably;
// this is its in-memory index, rebuilt from the log when a store opens. Queries merge it over the
// blocks (a change here wins over a block entry with the same ts). Not thread-safe: the store
// guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "store/readings/block_codec.h"

namespace mh::store::readings {

// Ordered so it packs into 56 bytes: a fleet holds millions of these between packings.
struct Change {
  Entry entry;
  uint64_t seq = 0;     // its row in the log; 0 = not logged (a deferred bulk import)
  int32_t delta = 0;    // readings this ts added to the store since the last packing (-1, 0, +1)
  bool remove = false;  // the reading at entry.ts left the accepted readings
};
static_assert(sizeof(Change) <= 56);

struct SeriesKey {
  std::string meter_id;
  uint32_t channel = 0;
  bool operator==(const SeriesKey&) const = default;
  bool operator<(const SeriesKey& o) const {
    int c = meter_id.compare(o.meter_id);
    return c < 0 || (c == 0 && channel < o.channel);
  }
  template <typename H>
  friend H AbslHashValue(H h, const SeriesKey& k) {
    return H::combine(std::move(h), k.meter_id, k.channel);
  }
};

struct SeriesKeyHash {
  size_t operator()(const SeriesKey& k) const { return absl::Hash<SeriesKey>()(k); }
};

class RecentReadings {
 public:
  // Records a change, replacing an earlier change of the same series and ts (their deltas add up).
  void Apply(const SeriesKey& key, const Change& change);
  // Starts fetching the series' slot into the CPU cache: a loop over a fleet's batch calls it a
  // few changes ahead of Apply, whose lookups would otherwise each wait for memory.
  void Prefetch(const SeriesKey& key) const { series_.prefetch(key); }
  // The series' changes with from <= ts <= to, in ts order.
  std::span<const Change> Range(const SeriesKey& key, int64_t from, int64_t to) const;
  // The change with the greatest ts <= t, nullptr when none.
  const Change* LastAtOrBefore(const SeriesKey& key, int64_t t) const;
  // The last change with ts <= t that is not a removal, nullptr when none.
  const Change* LastUpsertAtOrBefore(const SeriesKey& key, int64_t t) const;
  // The change at exactly ts, nullptr when none.
  const Change* At(const SeriesKey& key, int64_t ts) const;
  // The change with the smallest ts >= t, nullptr when none.
  const Change* FirstAtOrAfter(const SeriesKey& key, int64_t t) const;

  size_t changes() const { return changes_; }
  bool empty() const { return changes_ == 0; }
  uint64_t max_seq() const { return max_seq_; }
  // Readings added net since the last packing (the sum of the changes' deltas).
  int64_t net_added() const { return net_added_; }
  // Takes `delta` off net_added (a part that was packed).
  void Settle(int64_t delta) { net_added_ -= delta; }
  // Every series in key order (packing writes blocks in key order).
  std::vector<std::pair<const SeriesKey*, const std::vector<Change>*>> Sorted() const;
  void Clear();

 private:
  // Flat: a fleet has a series per meter, and a node-based map costs several cache misses per
  // lookup at 10^5–10^6 of them. Spans handed out point into the vectors, which rehashing moves
  // without reallocating their buffers.
  absl::flat_hash_map<SeriesKey, std::vector<Change>> series_;
  size_t changes_ = 0;
  uint64_t max_seq_ = 0;
  int64_t net_added_ = 0;
};

// Merges `changes` (ts order) over `packed` (ts order): a change replaces or removes the entry
// with its ts. The result is in ts order.
std::vector<Entry> Merge(std::span<const Entry> packed, std::span<const Change> changes);

}  // namespace mh::store::readings
