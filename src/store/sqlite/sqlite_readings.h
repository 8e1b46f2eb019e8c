// Accepted readings in the main SQLite store. What is settled sits in reading_blocks — up to
// kMaxBlockEntries readings of one meter channel and UTC day per row, keyed by meter first; what
// was committed since the last packing sits in reading_log (append-only, in commit order) and,
// mirrored, in memory (readings::RecentReadings). Per-meter validation states likewise: meter_state
// for what is packed, meter_state_log + memory for what is not.
//
// Why (docs/storage.md, "Readings"): a fleet's readings arrive interleaved in time while every
// table is keyed by meter. Writing each reading into its meter's B-tree page costs a page write
// per reading per commit — gigabytes for a few million readings. Appending to a log costs about a
// row's own bytes, and packing later folds many readings of a meter into one row write.
//
// Thread model: Stage and Pack's bodies run on the writer connection under the store's write
// mutex; reads run on any connection; the in-memory parts are guarded by mu_.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/status.h"
#include "store/readings/recent_readings.h"
#include "store/records.h"
#include "store/sqlite/store_db.h"

namespace mh::store::sqlite_db {

// What a commit transaction adds: built inside it (Stage), made visible after COMMIT (Publish).
struct StagedReadings {
  struct Item {
    readings::SeriesKey key;
    readings::Change change;
    int delta = 0;  // readings added (+1), removed (-1) or neither (0)
  };
  struct State {
    std::string meter_id;
    uint64_t seq = 0;  // its meter_state_log row; 0 = deferred
    std::string bytes;
  };
  std::vector<Item> changes;
  std::vector<State> states;
  std::vector<std::pair<std::string, uint32_t>> new_labels;
};

class PackedReadings {
 public:
  // Loads the label dictionary, the packed count, and both logs into memory.
  static Result<std::unique_ptr<PackedReadings>> Load(Connection& writer);

  // Inside the commit transaction: appends the batch's accepted readings, removals and states to
  // the logs (deferred batches: to memory only) and fills `staged`.
  Status Stage(Connection& db, const IngestBatch& batch, StagedReadings* staged);
  // After COMMIT, still under the write mutex: what was staged becomes visible.
  void Publish(StagedReadings&& staged);

  Result<std::vector<StoredReading>> Query(Connection& db, const std::string& meter_id, const std::string& channel,
                                           TimeRange range, int64_t limit);
  Result<std::optional<StoredReading>> LastAtOrBefore(Connection& db, const std::string& meter_id,
                                                      const std::string& channel, int64_t t);
  Result<std::optional<StoredReading>> Get(Connection& db, const std::string& meter_id, const std::string& channel,
                                           int64_t ts);
  // The meter's newest committed validation state.
  Result<std::optional<std::string>> State(Connection& db, const std::string& meter_id);
  int64_t Count();
  int64_t Unpacked();

  // Folds everything committed so far into the blocks and meter_state and truncates the logs.
  // `in_transaction(body, committed)` runs body(writer) inside one write transaction under the
  // write mutex, then committed() after COMMIT, still under it; Pack uses several transactions,
  // so commits go on between them. Deferred commits must not run meanwhile.
  using InTransaction =
      std::function<Status(const std::function<Status(Connection&)>&, const std::function<void()>&)>;
  Status Pack(const InTransaction& in_transaction);

 private:
  struct PendingState {
    uint64_t seq = 0;
    std::string bytes;
  };
  PackedReadings() = default;

  Result<uint32_t> LabelForWrite(Connection& db, const std::string& name, StagedReadings* staged);
  std::optional<uint32_t> KnownLabel(const std::string& name);
  Result<bool> Exists(Connection& db, const readings::SeriesKey& key, int64_t ts);
  Result<int64_t> PackedUntil(Connection& db, const readings::SeriesKey& key);
  Status PackSeries(Connection& db, const readings::SeriesKey& key, std::span<const readings::Change> changes,
                    int64_t* block_delta);
  // Memory changes of a series with from <= ts <= to, newest commit winning, in ts order; with
  // `upserts` > 0 only up to the upserts-th non-removal.
  std::vector<readings::Change> RecentChanges(const readings::SeriesKey& key, int64_t from, int64_t to,
                                              int64_t upserts = 0);
  std::vector<std::string> LabelNames();
  static StoredReading ToStored(const std::vector<std::string>& names, const std::string& meter_id,
                                const std::string& channel, const readings::Entry& e);

  std::shared_mutex mu_;
  std::unordered_map<std::string, uint32_t> label_ids_;       // guarded by mu_
  std::vector<std::string> label_names_;                     // guarded by mu_; by id
  readings::RecentReadings active_;                          // guarded by mu_; committed, not packed
  readings::RecentReadings frozen_;                          // guarded by mu_; being packed
  // Guarded by mu_, and changed only under the write mutex too (Publish, Pack): not in meter_state yet.
  absl::flat_hash_map<std::string, PendingState> states_;
  int64_t packed_count_ = 0;                                 // guarded by mu_

  // Upper bound of the packed ts of each series seen (for "certainly not packed" without a read).
  absl::flat_hash_map<readings::SeriesKey, int64_t> packed_until_;  // write mutex
  std::optional<bool> blocks_before_;  // write mutex; whether reading_blocks had a row when first asked
  std::mutex pack_mu_;  // one Pack at a time
};

// Schema 4's migration step: packs the version-3 `readings` table into reading_blocks, drops it.
Status PackVersion3Readings(Connection& db);

}  // namespace mh::store::sqlite_db
