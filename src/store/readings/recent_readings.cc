#include "store/readings/recent_readings.h"

#include <algorithm>

namespace mh::store::readings {
namespace {

bool ByTs(const Change& c, int64_t ts) { return c.entry.ts < ts; }
constexpr size_t kFirstCapacity = 2;

}  // namespace

void RecentReadings::Apply(const SeriesKey& key, const Change& change) {
  std::vector<Change>& s = series_[key];
  // A series mostly gains a reading per batch: starting at 2 spares the first reallocation (a
  // malloc, a copy and a free per meter of a fleet) and wastes nothing for two readings a meter.
  if (s.capacity() == 0) s.reserve(kFirstCapacity);
  if (change.seq > max_seq_) max_seq_ = change.seq;
  net_added_ += change.delta;
  if (s.empty() || s.back().entry.ts < change.entry.ts) {
    s.push_back(change);
    ++changes_;
    return;
  }
  auto it = std::lower_bound(s.begin(), s.end(), change.entry.ts, ByTs);
  if (it != s.end() && it->entry.ts == change.entry.ts) {
    const int delta = it->delta + change.delta;
    *it = change;
    it->delta = delta;
  } else {
    s.insert(it, change);
    ++changes_;
  }
}

std::span<const Change> RecentReadings::Range(const SeriesKey& key, int64_t from, int64_t to) const {
  auto found = series_.find(key);
  if (found == series_.end() || from > to) return {};
  const std::vector<Change>& s = found->second;
  auto lo = std::lower_bound(s.begin(), s.end(), from, ByTs);
  auto hi = std::upper_bound(lo, s.end(), to, [](int64_t ts, const Change& c) { return ts < c.entry.ts; });
  return {s.data() + (lo - s.begin()), static_cast<size_t>(hi - lo)};
}

const Change* RecentReadings::LastAtOrBefore(const SeriesKey& key, int64_t t) const {
  auto found = series_.find(key);
  if (found == series_.end()) return nullptr;
  const std::vector<Change>& s = found->second;
  auto hi = std::upper_bound(s.begin(), s.end(), t, [](int64_t ts, const Change& c) { return ts < c.entry.ts; });
  return hi == s.begin() ? nullptr : &*(hi - 1);
}

const Change* RecentReadings::LastUpsertAtOrBefore(const SeriesKey& key, int64_t t) const {
  auto found = series_.find(key);
  if (found == series_.end()) return nullptr;
  const std::vector<Change>& s = found->second;
  auto hi = std::upper_bound(s.begin(), s.end(), t, [](int64_t ts, const Change& c) { return ts < c.entry.ts; });
  while (hi != s.begin()) {
    --hi;
    if (!hi->remove) return &*hi;
  }
  return nullptr;
}

const Change* RecentReadings::At(const SeriesKey& key, int64_t ts) const {
  const Change* c = LastAtOrBefore(key, ts);
  return c != nullptr && c->entry.ts == ts ? c : nullptr;
}

const Change* RecentReadings::FirstAtOrAfter(const SeriesKey& key, int64_t t) const {
  auto found = series_.find(key);
  if (found == series_.end()) return nullptr;
  const std::vector<Change>& s = found->second;
  auto lo = std::lower_bound(s.begin(), s.end(), t, ByTs);
  return lo == s.end() ? nullptr : &*lo;
}

std::vector<std::pair<const SeriesKey*, const std::vector<Change>*>> RecentReadings::Sorted() const {
  std::vector<std::pair<const SeriesKey*, const std::vector<Change>*>> out;
  out.reserve(series_.size());
  for (const auto& [k, v] : series_) out.emplace_back(&k, &v);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return out;
}

void RecentReadings::Clear() {
  series_.clear();
  changes_ = 0;
  max_seq_ = 0;
  net_added_ = 0;
}

std::vector<Entry> Merge(std::span<const Entry> packed, std::span<const Change> changes) {
  std::vector<Entry> out;
  out.reserve(packed.size() + changes.size());
  size_t i = 0, j = 0;
  while (i < packed.size() || j < changes.size()) {
    if (j == changes.size() || (i < packed.size() && packed[i].ts < changes[j].entry.ts)) {
      out.push_back(packed[i++]);
      continue;
    }
    if (i < packed.size() && packed[i].ts == changes[j].entry.ts) ++i;  // replaced or removed
    if (!changes[j].remove) out.push_back(changes[j].entry);
    ++j;
  }
  return out;
}

}  // namespace mh::store::readings
