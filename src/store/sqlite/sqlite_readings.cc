#include "store/sqlite/sqlite_readings.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace mh::store::sqlite_db {
namespace {

using readings::Change;
using readings::Entry;
using readings::SeriesKey;

// reading_log.op: what a row does and how it changed the count of readings (docs/storage.md).
enum LogOp : int64_t {
  kUpsertNew = 0,       // a reading at a new ts (+1)
  kUpsertExisting = 1,  // a new value for a stored reading (0)
  kRemoveExisting = 2,  // a stored reading left the accepted ones (-1)
  kRemoveAbsent = 3,    // a removal of nothing (0)
};

int DeltaOf(int64_t op) { return op == kUpsertNew ? 1 : op == kRemoveExisting ? -1 : 0; }

// The latest staged change of each (series, ts) of one batch: an open-addressing table of
// indices into the staged changes, sized once, so staging a fleet's batch allocates nothing per
// reading (a map of maps did, twice).
class BatchChanges {
 public:
  BatchChanges(const std::vector<StagedReadings::Item>& changes, size_t expected)
      : changes_(changes), slots_(std::bit_ceil(std::max<size_t>(16, expected * 2)), kEmpty) {}

  const StagedReadings::Item* Latest(const SeriesKey& key, int64_t ts) const {
    for (size_t i = Home(key, ts);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == kEmpty) return nullptr;
      const StagedReadings::Item& item = changes_[slots_[i]];
      if (item.change.entry.ts == ts && item.key == key) return &item;
    }
  }
  // Records changes[index], replacing an earlier change of its series and ts.
  void Add(size_t index) {
    const StagedReadings::Item& added = changes_[index];
    if (2 * (used_ + 1) > slots_.size()) Grow();
    for (size_t i = Home(added.key, added.change.entry.ts);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i] == kEmpty) {
        slots_[i] = index;
        ++used_;
        return;
      }
      const StagedReadings::Item& item = changes_[slots_[i]];
      if (item.change.entry.ts == added.change.entry.ts && item.key == added.key) {
        slots_[i] = index;
        return;
      }
    }
  }

 private:
  static constexpr size_t kEmpty = SIZE_MAX;
  size_t Home(const SeriesKey& key, int64_t ts) const {
    const size_t h = readings::SeriesKeyHash()(key) ^ (static_cast<size_t>(ts) * 0x9E3779B97F4A7C15ULL);
    return (h ^ (h >> 29)) & (slots_.size() - 1);
  }
  void Grow() {
    std::vector<size_t> old = std::move(slots_);
    slots_.assign(old.size() * 2, kEmpty);
    used_ = 0;
    for (size_t index : old)
      if (index != kEmpty) Add(index);
  }

  const std::vector<StagedReadings::Item>& changes_;
  std::vector<size_t> slots_;
  size_t used_ = 0;
};

constexpr const char* kPackedCounter = "readings_packed";
// Memory changes packed per write transaction: commits run between two of them.
constexpr size_t kChangesPerPackTransaction = 20000;

int64_t DayStart(int64_t ts) {
  if (ts < std::numeric_limits<int64_t>::min() / 2) return std::numeric_limits<int64_t>::min();
  return readings::BlockDay(ts) * 86400;
}

Status CheckAccepted(const StoredReading& r) {
  if (r.meter_id.empty()) return InvalidArgument("commit batch: accepted reading without meter_id");
  // Non-finite numbers are refused because backends disagree on them (SQLite turns NaN into NULL,
  // PostgreSQL stores it) and no consumption sum survives one.
  if (!std::isfinite(r.value) || !std::isfinite(r.consumption)) {
    return InvalidArgument("commit batch: accepted reading " + r.meter_id + "@" + std::to_string(r.ts) +
                           " has a non-finite value or consumption");
  }
  return Status::Ok();
}

// Reads the blocks of a statement's rows (first_ts, data) into `out`, in row order.
Status DecodeRows(Connection& db, sqlite3_stmt* statement, const Binder& binder, std::string_view operation,
                  std::vector<Entry>* out, std::vector<int64_t>* first_ts) {
  ResetOnExit reset(statement);
  if (binder.rc() != SQLITE_OK) return SqliteError(db.db(), binder.rc(), operation);
  for (;;) {
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, operation);
    Row row(statement);
    const int64_t first = row.Int();
    if (first_ts != nullptr) first_ts->push_back(first);
    MH_RETURN_IF_ERROR(readings::DecodeBlock(row.BlobView(), out).WithContext(std::string(operation)));
  }
}

// Writes `entries` (ts order) as blocks of at most kMaxBlockEntries.
Status InsertBlocks(Connection& db, const SeriesKey& key, std::span<const Entry> entries, std::string_view operation) {
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertBlock));
  for (size_t i = 0; i < entries.size(); i += readings::kMaxBlockEntries) {
    auto part = entries.subspan(i, std::min(readings::kMaxBlockEntries, entries.size() - i));
    const std::string data = readings::EncodeBlock(part);
    Binder b(insert);
    b.Text(key.meter_id).Int(key.channel).Int(part.front().ts).Int(part.back().ts)
        .Int(static_cast<int64_t>(part.size())).Blob(data);
    if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
  }
  return Status::Ok();
}

Status AddCounter(Connection& db, const char* name, int64_t delta) {
  if (delta == 0) return Status::Ok();
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * add, db.Statement(Sql::kAddCounter));
  Binder b(add);
  b.Text(name).Int(delta);
  if (const int rc = StepWrite(add, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, "count packed readings");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<PackedReadings>> PackedReadings::Load(Connection& db) {
  std::unique_ptr<PackedReadings> p(new PackedReadings());
  {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * labels, db.Statement(Sql::kLoadLabels));
    ResetOnExit reset(labels);
    for (int rc; (rc = sqlite3_step(labels)) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, "load labels");
      Row row(labels);
      const auto id = static_cast<uint32_t>(row.Int());
      std::string name = row.Text();
      if (p->label_names_.size() <= id) p->label_names_.resize(id + 1);
      p->label_names_[id] = name;
      p->label_ids_.emplace(std::move(name), id);
    }
  }
  {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * counter, db.Statement(Sql::kGetCounter));
    Binder b(counter);
    b.Text(kPackedCounter);
    MH_ASSIGN_OR_RETURN(p->packed_count_, QueryInt(db, counter, b, "read the packed reading count"));
  }
  {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * states, db.Statement(Sql::kLoadStateLog));
    ResetOnExit reset(states);
    for (int rc; (rc = sqlite3_step(states)) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, "load the meter state log");
      Row row(states);
      const auto seq = static_cast<uint64_t>(row.Int());
      std::string meter = row.Text();
      p->states_[std::move(meter)] = PendingState{seq, row.Blob()};
    }
  }
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * log, db.Statement(Sql::kLoadLog));
  ResetOnExit reset(log);
  for (int rc; (rc = sqlite3_step(log)) != SQLITE_DONE;) {
    if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, "load the reading log");
    Row row(log);
    Change c;
    c.seq = static_cast<uint64_t>(row.Int());
    SeriesKey key;
    key.meter_id = row.Text();
    key.channel = static_cast<uint32_t>(row.Int());
    c.entry.ts = row.Int();
    const int64_t op = row.Int();
    c.remove = op == kRemoveExisting || op == kRemoveAbsent;
    c.delta = DeltaOf(op);
    c.entry.value = row.Real();
    c.entry.consumption = row.Real();
    c.entry.source = static_cast<uint32_t>(row.Int());
    c.entry.quality = static_cast<uint32_t>(row.Int());
    c.entry.version = static_cast<uint32_t>(row.Int());
    c.entry.flags = static_cast<uint8_t>(row.Int());
    p->active_.Apply(key, c);
  }
  return p;
}

std::optional<uint32_t> PackedReadings::KnownLabel(const std::string& name) {
  std::shared_lock lock(mu_);
  auto it = label_ids_.find(name);
  if (it == label_ids_.end()) return std::nullopt;
  return it->second;
}

Result<uint32_t> PackedReadings::LabelForWrite(Connection& db, const std::string& name, StagedReadings* staged) {
  if (auto id = KnownLabel(name)) return *id;
  for (const auto& [n, id] : staged->new_labels)
    if (n == name) return id;
  if (name.size() > 256) return InvalidArgument("commit batch: label longer than 256 characters");
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertLabel));
  Binder b(insert);
  b.Text(name);
  if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, "add label '" + name + "'");
  const auto id = static_cast<uint32_t>(sqlite3_last_insert_rowid(db.db()));
  staged->new_labels.emplace_back(name, id);
  return id;
}

Result<int64_t> PackedReadings::PackedUntil(Connection& db, const SeriesKey& key) {
  auto it = packed_until_.find(key);
  if (it != packed_until_.end()) return it->second;
  if (!blocks_before_) {
    // Asked once, inside a write transaction under the readings lock: from then on only this
    // process packs, so with no block at all (a new store's first load) a series it never packed
    // has none, and a fleet's new series need no lookup each.
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * any, db.Statement(Sql::kAnyBlock));
    MH_ASSIGN_OR_RETURN(int64_t exists, QueryInt(db, any, Binder(any), "look for reading blocks"));
    blocks_before_ = exists != 0;
  }
  if (!*blocks_before_) return std::numeric_limits<int64_t>::min();
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * last, db.Statement(Sql::kLastBlockEnd));
  ResetOnExit reset(last);
  Binder b(last);
  b.Text(key.meter_id).Int(key.channel);
  if (b.rc() != SQLITE_OK) return SqliteError(db.db(), b.rc(), "last packed reading of " + key.meter_id);
  const int rc = sqlite3_step(last);
  int64_t until = std::numeric_limits<int64_t>::min();
  if (rc == SQLITE_ROW) until = sqlite3_column_int64(last, 0);
  else if (rc != SQLITE_DONE) return SqliteError(db.db(), rc, "last packed reading of " + key.meter_id);
  packed_until_.emplace(key, until);
  return until;
}

// Whether an accepted reading is stored at ts now (memory first, then the blocks).
Result<bool> PackedReadings::Exists(Connection& db, const SeriesKey& key, int64_t ts) {
  {
    std::shared_lock lock(mu_);
    for (const readings::RecentReadings* recent : {&active_, &frozen_}) {
      const Change* c = recent->LastAtOrBefore(key, ts);
      if (c != nullptr && c->entry.ts == ts) return !c->remove;
    }
  }
  MH_ASSIGN_OR_RETURN(int64_t until, PackedUntil(db, key));
  if (ts > until) return false;
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * blocks, db.Statement(Sql::kBlocksAtOrBeforeDesc));
  ResetOnExit reset(blocks);
  Binder b(blocks);
  b.Text(key.meter_id).Int(key.channel).Int(ts);
  if (b.rc() != SQLITE_OK) return SqliteError(db.db(), b.rc(), "look up a packed reading");
  const int rc = sqlite3_step(blocks);
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, "look up a packed reading");
  Row row(blocks);
  (void)row.Int();
  std::vector<Entry> entries;
  MH_RETURN_IF_ERROR(readings::DecodeBlock(row.BlobView(), &entries));
  auto it = std::lower_bound(entries.begin(), entries.end(), ts, [](const Entry& e, int64_t t) { return e.ts < t; });
  return it != entries.end() && it->ts == ts;
}

Status PackedReadings::Stage(Connection& db, const IngestBatch& batch, StagedReadings* staged) {
  // This batch's own changes count too: a ts upserted twice in one batch is one new reading.
  BatchChanges in_batch(staged->changes, batch.accepted.size() + batch.remove_accepted.size());
  // `stored_absent`: the writer knows the store held nothing at ts before this batch (the batch's
  // own earlier changes still count).
  auto exists = [&](const SeriesKey& key, int64_t ts, bool stored_absent) -> Result<bool> {
    if (const StagedReadings::Item* earlier = in_batch.Latest(key, ts)) return !earlier->change.remove;
    if (stored_absent) return false;
    return Exists(db, key, ts);
  };
  sqlite3_stmt* append = nullptr;
  if (!batch.deferred && (!batch.accepted.empty() || !batch.remove_accepted.empty())) {
    MH_ASSIGN_OR_RETURN(append, db.Statement(Sql::kAppendLog));
  }
  auto log = [&](const SeriesKey& key, const Entry& e, int64_t op, uint64_t* seq) -> Status {
    if (append == nullptr) return Status::Ok();
    Binder b(append);
    b.Text(key.meter_id).Int(key.channel).Int(e.ts).Int(op).Real(e.value).Real(e.consumption).Int(e.source)
        .Int(e.quality).Int(e.version).Int(e.flags);
    if (const int rc = StepWrite(append, b); rc != SQLITE_OK) {
      return SqliteError(db.db(), rc, "commit batch: log reading " + key.meter_id + "@" + std::to_string(e.ts));
    }
    *seq = static_cast<uint64_t>(sqlite3_last_insert_rowid(db.db()));
    return Status::Ok();
  };

  // A batch's readings mostly share their channel, source and quality: the last label looked up
  // for each is remembered instead of locking and hashing three strings per reading.
  struct LastLabel {
    const std::string* name = nullptr;
    uint32_t id = 0;
  };
  auto label = [&](const std::string& name, LastLabel& last) -> Result<uint32_t> {
    if (last.name != nullptr && *last.name == name) return last.id;
    MH_ASSIGN_OR_RETURN(last.id, LabelForWrite(db, name, staged));
    last.name = &name;
    return last.id;
  };
  LastLabel last_channel, last_source, last_quality;
  staged->changes.reserve(batch.accepted.size() + batch.remove_accepted.size());
  for (const StoredReading& r : batch.accepted) {
    MH_RETURN_IF_ERROR(CheckAccepted(r));
    SeriesKey key{r.meter_id, 0};
    MH_ASSIGN_OR_RETURN(key.channel, label(r.channel, last_channel));
    Change c;
    c.entry.ts = r.ts;
    c.entry.value = r.value;
    c.entry.consumption = r.consumption;
    MH_ASSIGN_OR_RETURN(c.entry.source, label(r.source, last_source));
    MH_ASSIGN_OR_RETURN(c.entry.quality, label(r.quality, last_quality));
    c.entry.version = std::max<uint32_t>(1, r.version);
    c.entry.flags = r.estimated ? readings::kEstimated : 0;
    MH_ASSIGN_OR_RETURN(bool existed, exists(key, r.ts, r.known_absent));
    const int64_t op = existed ? kUpsertExisting : kUpsertNew;
    MH_RETURN_IF_ERROR(log(key, c.entry, op, &c.seq));
    c.delta = DeltaOf(op);
    staged->changes.push_back({key, c, c.delta});
    in_batch.Add(staged->changes.size() - 1);
  }
  for (const ReadingKey& k : batch.remove_accepted) {
    if (k.meter_id.empty()) return InvalidArgument("commit batch: reading to remove without meter_id");
    SeriesKey key{k.meter_id, 0};
    MH_ASSIGN_OR_RETURN(key.channel, LabelForWrite(db, k.channel, staged));
    Change c;
    c.entry.ts = k.ts;
    c.remove = true;
    MH_ASSIGN_OR_RETURN(bool existed, exists(key, k.ts, false));
    const int64_t op = existed ? kRemoveExisting : kRemoveAbsent;
    MH_RETURN_IF_ERROR(log(key, c.entry, op, &c.seq));
    c.delta = DeltaOf(op);
    staged->changes.push_back({key, c, c.delta});
    in_batch.Add(staged->changes.size() - 1);
  }
  if (!batch.states.empty()) {
    staged->states.reserve(batch.states.size());
    sqlite3_stmt* append_state = nullptr;
    if (!batch.deferred) {
      MH_ASSIGN_OR_RETURN(append_state, db.Statement(Sql::kAppendStateLog));
    }
    for (const MeterStateRecord& s : batch.states) {
      if (s.meter_id.empty()) return InvalidArgument("commit batch: meter state without meter_id");
      uint64_t seq = 0;
      if (append_state != nullptr) {
        Binder b(append_state);
        b.Text(s.meter_id).Blob(s.state);
        if (const int rc = StepWrite(append_state, b); rc != SQLITE_OK) {
          return SqliteError(db.db(), rc, "commit batch: log the state of meter " + s.meter_id);
        }
        seq = static_cast<uint64_t>(sqlite3_last_insert_rowid(db.db()));
      }
      staged->states.push_back({s.meter_id, seq, s.state});
    }
  }
  return Status::Ok();
}

void PackedReadings::Publish(StagedReadings&& staged) {
  std::unique_lock lock(mu_);
  for (auto& [name, id] : staged.new_labels) {
    if (label_names_.size() <= id) label_names_.resize(id + 1);
    label_names_[id] = name;
    label_ids_.emplace(std::move(name), id);
  }
  constexpr size_t kAhead = 8;  // changes whose series are fetched while one is applied
  const auto& changes = staged.changes;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (i + kAhead < changes.size()) active_.Prefetch(changes[i + kAhead].key);
    active_.Apply(changes[i].key, changes[i].change);
  }
  for (auto& s : staged.states) {
    PendingState& pending = states_[s.meter_id];
    pending.seq = s.seq;
    pending.bytes = std::move(s.bytes);
  }
}

std::vector<Change> PackedReadings::RecentChanges(const SeriesKey& key, int64_t from, int64_t to, int64_t upserts) {
  std::shared_lock lock(mu_);
  auto older = frozen_.Range(key, from, to);
  auto newer = active_.Range(key, from, to);
  std::vector<Change> out;
  out.reserve(upserts > 0 ? std::min<size_t>(older.size() + newer.size(), static_cast<size_t>(upserts) + 16)
                          : older.size() + newer.size());
  size_t i = 0, j = 0;
  int64_t kept = 0;
  while ((i < older.size() || j < newer.size()) && (upserts <= 0 || kept < upserts)) {
    if (j == newer.size() || (i < older.size() && older[i].entry.ts < newer[j].entry.ts)) {
      out.push_back(older[i++]);
    } else {
      if (i < older.size() && older[i].entry.ts == newer[j].entry.ts) ++i;  // the newer commit wins
      out.push_back(newer[j++]);
    }
    if (!out.back().remove) ++kept;
  }
  return out;
}

std::vector<std::string> PackedReadings::LabelNames() {
  std::shared_lock lock(mu_);
  return label_names_;
}

StoredReading PackedReadings::ToStored(const std::vector<std::string>& names, const std::string& meter_id,
                                       const std::string& channel, const Entry& e) {
  StoredReading r;
  r.meter_id = meter_id;
  r.channel = channel;
  r.ts = e.ts;
  r.value = e.value;
  r.consumption = e.consumption;
  r.version = e.version;
  r.estimated = (e.flags & readings::kEstimated) != 0;
  if (e.source < names.size()) r.source = names[e.source];
  if (e.quality < names.size()) r.quality = names[e.quality];
  return r;
}

Result<std::vector<StoredReading>> PackedReadings::Query(Connection& db, const std::string& meter_id,
                                                         const std::string& channel, TimeRange range, int64_t limit) {
  std::vector<StoredReading> out;
  std::optional<uint32_t> ch = KnownLabel(channel);
  if (!ch || range.from > range.to) return out;
  const SeriesKey key{meter_id, *ch};
  // Memory first, then the blocks: whatever a concurrent Pack moves is in one or the other. With
  // a limit, only as much of either as the first `limit` readings can come from.
  std::vector<Change> recent = RecentChanges(key, range.from, range.to, limit);
  int64_t upto = range.to;
  if (limit > 0 && static_cast<int64_t>(std::count_if(recent.begin(), recent.end(),
                                                      [](const Change& c) { return !c.remove; })) >= limit)
    upto = recent.back().entry.ts;
  std::vector<Entry> packed;
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * blocks, db.Statement(Sql::kBlocksBetween));
  ResetOnExit reset(blocks);
  Binder b(blocks);
  b.Text(meter_id).Int(*ch).Int(DayStart(range.from)).Int(upto);
  const std::string operation = "query readings of meter " + meter_id;
  if (b.rc() != SQLITE_OK) return SqliteError(db.db(), b.rc(), operation);
  const size_t enough = limit > 0 ? static_cast<size_t>(limit) + recent.size() : SIZE_MAX;
  while (packed.size() < enough) {
    const int rc = sqlite3_step(blocks);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, operation);
    Row row(blocks);
    (void)row.Int();
    std::vector<Entry> entries;
    MH_RETURN_IF_ERROR(readings::DecodeBlock(row.BlobView(), &entries).WithContext(operation));
    for (const Entry& e : entries)
      if (e.ts >= range.from && e.ts <= upto) packed.push_back(e);
  }
  std::vector<Entry> merged = readings::Merge(packed, recent);
  const size_t n = limit > 0 ? std::min<size_t>(merged.size(), static_cast<size_t>(limit)) : merged.size();
  out.reserve(n);
  const std::vector<std::string> names = LabelNames();
  for (size_t i = 0; i < n; ++i) out.push_back(ToStored(names, meter_id, channel, merged[i]));
  return out;
}

// The newest reading at or before t, in memory (what the blocks do not hold yet) or packed. Both
// are walked back only as far as needed: a series sent newest first costs a lookup per reading,
// not a scan.
Result<std::optional<StoredReading>> PackedReadings::LastAtOrBefore(Connection& db, const std::string& meter_id,
                                                                    const std::string& channel, int64_t t) {
  std::optional<uint32_t> ch = KnownLabel(channel);
  if (!ch) return std::optional<StoredReading>();
  const SeriesKey key{meter_id, *ch};
  std::optional<Entry> in_memory;
  {
    std::shared_lock lock(mu_);
    for (int64_t upper = t;;) {
      const Change* a = active_.LastUpsertAtOrBefore(key, upper);
      const Change* f = frozen_.LastUpsertAtOrBefore(key, upper);
      if (a == nullptr && f == nullptr) break;
      if (a != nullptr && (f == nullptr || a->entry.ts >= f->entry.ts)) {
        in_memory = a->entry;
        break;
      }
      // A frozen change counts unless the active changes removed it since.
      const Change* newer = active_.At(key, f->entry.ts);
      if (newer == nullptr) {
        in_memory = f->entry;
        break;
      }
      upper = f->entry.ts - 1;
    }
  }
  auto removed_in_memory = [&](int64_t ts) {
    std::shared_lock lock(mu_);
    const Change* c = active_.At(key, ts);
    if (c == nullptr) c = frozen_.At(key, ts);
    return c != nullptr && c->remove;
  };
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * blocks, db.Statement(Sql::kBlocksAtOrBeforeDesc));
  ResetOnExit reset(blocks);
  Binder b(blocks);
  b.Text(meter_id).Int(*ch).Int(t);
  const std::string operation = "last reading of meter " + meter_id + " at or before " + std::to_string(t);
  if (b.rc() != SQLITE_OK) return SqliteError(db.db(), b.rc(), operation);
  const std::vector<std::string> names = LabelNames();
  for (;;) {
    const int rc = sqlite3_step(blocks);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, operation);
    Row row(blocks);
    (void)row.Int();
    std::vector<Entry> entries;
    MH_RETURN_IF_ERROR(readings::DecodeBlock(row.BlobView(), &entries).WithContext(operation));
    for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
      if (e->ts > t) continue;
      // A packed entry older than (or replaced by) the newest change in memory loses to it.
      if (in_memory && e->ts <= in_memory->ts) return std::optional<StoredReading>(ToStored(names, meter_id, channel, *in_memory));
      if (removed_in_memory(e->ts)) continue;
      return std::optional<StoredReading>(ToStored(names, meter_id, channel, *e));
    }
  }
  if (in_memory) return std::optional<StoredReading>(ToStored(names, meter_id, channel, *in_memory));
  return std::optional<StoredReading>();
}

Result<std::optional<StoredReading>> PackedReadings::Get(Connection& db, const std::string& meter_id,
                                                         const std::string& channel, int64_t ts) {
  MH_ASSIGN_OR_RETURN(std::optional<StoredReading> last, LastAtOrBefore(db, meter_id, channel, ts));
  if (last && last->ts != ts) last.reset();
  return last;
}

Result<std::optional<std::string>> PackedReadings::State(Connection& db, const std::string& meter_id) {
  {
    std::shared_lock lock(mu_);
    auto it = states_.find(meter_id);
    if (it != states_.end()) return std::optional<std::string>(it->second.bytes);
  }
  MH_ASSIGN_OR_RETURN(sqlite3_stmt * load, db.Statement(Sql::kLoadState));
  ResetOnExit reset(load);
  Binder b(load);
  b.Text(meter_id);
  if (b.rc() != SQLITE_OK) return SqliteError(db.db(), b.rc(), "load the state of meter " + meter_id);
  const int rc = sqlite3_step(load);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return SqliteError(db.db(), rc, "load the state of meter " + meter_id);
  return std::optional<std::string>(Row(load).Blob());
}

int64_t PackedReadings::Count() {
  std::shared_lock lock(mu_);
  return packed_count_ + active_.net_added() + frozen_.net_added();
}

int64_t PackedReadings::Unpacked() {
  std::shared_lock lock(mu_);
  return static_cast<int64_t>(active_.changes() + frozen_.changes());
}

Status PackedReadings::PackSeries(Connection& db, const SeriesKey& key, std::span<const Change> changes,
                                  int64_t* block_delta) {
  const std::string operation = "pack readings of meter " + key.meter_id;
  MH_ASSIGN_OR_RETURN(int64_t until, PackedUntil(db, key));
  size_t i = 0;
  while (i < changes.size()) {
    const int64_t day = readings::BlockDay(changes[i].entry.ts);
    size_t j = i;
    while (j < changes.size() && readings::BlockDay(changes[j].entry.ts) == day) ++j;
    const int64_t day_start = day * 86400;
    std::vector<Entry> packed;
    std::vector<int64_t> old_blocks;
    if (until >= day_start) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * select, db.Statement(Sql::kBlocksBetween));
      Binder b(select);
      b.Text(key.meter_id).Int(key.channel).Int(day_start).Int(day_start + 86399);
      MH_RETURN_IF_ERROR(DecodeRows(db, select, b, operation, &packed, &old_blocks));
    }
    std::vector<Entry> merged = readings::Merge(packed, changes.subspan(i, j - i));
    if (!old_blocks.empty()) {
      MH_ASSIGN_OR_RETURN(sqlite3_stmt * remove, db.Statement(Sql::kDeleteBlock));
      for (int64_t first : old_blocks) {
        Binder b(remove);
        b.Text(key.meter_id).Int(key.channel).Int(first);
        if (const int rc = StepWrite(remove, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
      }
    }
    MH_RETURN_IF_ERROR(InsertBlocks(db, key, merged, operation));
    *block_delta += static_cast<int64_t>(merged.size()) - static_cast<int64_t>(packed.size());
    if (!merged.empty()) until = std::max(until, merged.back().ts);
    i = j;
  }
  packed_until_[key] = until;
  return Status::Ok();
}

Status PackedReadings::Pack(const InTransaction& in_transaction) {
  std::lock_guard pack_lock(pack_mu_);
  {
    std::unique_lock lock(mu_);
    // A Pack that failed half-way left frozen_ as it was: it is packed again (packing is idempotent).
    if (frozen_.empty()) std::swap(active_, frozen_);
    if (frozen_.empty() && states_.empty()) return Status::Ok();
  }
  const uint64_t log_mark = frozen_.max_seq();
  // Changes that were never logged (log_mark 0) come from a bulk load's deferred batches: the
  // loader is the only writer and waits for this Pack, and a crash loses its unpacked readings
  // whatever the chunking, so they are packed in one transaction — one fsync instead of one per
  // 20,000 changes, and each B-tree page written to the WAL once.
  const size_t per_transaction = log_mark == 0 ? SIZE_MAX : kChangesPerPackTransaction;
  // frozen_ changes only here (under pack_mu_), so it is read without mu_; readers share mu_.
  const auto series = frozen_.Sorted();
  size_t next = 0;
  while (next < series.size()) {
    size_t end = next, changes = 0;
    while (end < series.size() && changes < per_transaction) changes += series[end++].second->size();
    int64_t block_delta = 0, settled = 0;
    for (size_t k = next; k < end; ++k)
      for (const Change& c : *series[k].second) settled += c.delta;
    Status packed = in_transaction(
        [&](Connection& db) -> Status {
          block_delta = 0;
          for (size_t k = next; k < end; ++k) {
            MH_RETURN_IF_ERROR(PackSeries(db, *series[k].first, *series[k].second, &block_delta));
          }
          return AddCounter(db, kPackedCounter, block_delta);
        },
        [&] {
          std::unique_lock lock(mu_);
          packed_count_ += block_delta;
          frozen_.Settle(settled);
        });
    // (A rolled-back chunk may leave packed_until_ above the file: still an upper bound, so safe.)
    if (!packed.ok()) return packed.WithContext("pack");
    next = end;
  }
  // The states as of now (newer than the packed readings is fine: the logs keep what came after
  // the marks, and a reopened store replays them in order). Read in place, inside the transaction:
  // only a commit's Publish changes states_, and it runs under the write mutex this transaction
  // holds, so nothing is copied and, once committed, states_ is emptied whole.
  Status folded = in_transaction(
      [&](Connection& db) -> Status {
        using StateEntry = std::pair<const std::string, PendingState>;
        std::vector<const StateEntry*> states;
        uint64_t state_mark = 0;
        {
          std::shared_lock lock(mu_);
          states.reserve(states_.size());
          for (const StateEntry& entry : states_) {
            states.push_back(&entry);
            state_mark = std::max(state_mark, entry.second.seq);
          }
        }
        // In key order: meter_state's B-tree then takes them page by page instead of one random
        // page per meter (a fleet's states are a hash map's order otherwise).
        std::sort(states.begin(), states.end(), [](const StateEntry* a, const StateEntry* b) { return a->first < b->first; });
        MH_ASSIGN_OR_RETURN(sqlite3_stmt * upsert, db.Statement(Sql::kUpsertState));
        for (const StateEntry* state : states) {
          Binder b(upsert);
          b.Text(state->first).Blob(state->second.bytes);
          if (const int rc = StepWrite(upsert, b); rc != SQLITE_OK)
            return SqliteError(db.db(), rc, "pack the state of " + state->first);
        }
        MH_ASSIGN_OR_RETURN(sqlite3_stmt * trim_log, db.Statement(Sql::kDeleteLogUpTo));
        Binder b(trim_log);
        b.Int(static_cast<int64_t>(log_mark));
        if (const int rc = StepWrite(trim_log, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, "trim the reading log");
        MH_ASSIGN_OR_RETURN(sqlite3_stmt * trim_states, db.Statement(Sql::kDeleteStateLogUpTo));
        Binder t(trim_states);
        t.Int(static_cast<int64_t>(state_mark));
        if (const int rc = StepWrite(trim_states, t); rc != SQLITE_OK) return SqliteError(db.db(), rc, "trim the state log");
        return Status::Ok();
      },
      [&] {
        std::unique_lock lock(mu_);
        states_.clear();
        frozen_.Clear();
      });
  return folded.WithContext("pack");
}

Status PackVersion3Readings(Connection& db) {
  const std::string operation = "migrate readings to reading blocks";
  std::unordered_map<std::string, uint32_t> labels{{"", 0}};
  auto label = [&](const std::string& name) -> Result<uint32_t> {
    auto it = labels.find(name);
    if (it != labels.end()) return it->second;
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * insert, db.Statement(Sql::kInsertLabel));
    Binder b(insert);
    b.Text(name);
    if (const int rc = StepWrite(insert, b); rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
    const auto id = static_cast<uint32_t>(sqlite3_last_insert_rowid(db.db()));
    labels.emplace(name, id);
    return id;
  };
  sqlite3_stmt* rows = nullptr;
  int rc = sqlite3_prepare_v2(db.db(),
                              "SELECT meter_id, ts, value, consumption, source, quality FROM readings"
                              " ORDER BY meter_id, ts",
                              -1, &rows, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db.db(), rc, operation);
  struct Finalize {
    sqlite3_stmt* s;
    ~Finalize() { sqlite3_finalize(s); }
  } finalize{rows};
  int64_t total = 0;
  SeriesKey current{"", 0};
  std::vector<Entry> day;
  auto flush = [&]() -> Status {
    if (day.empty()) return Status::Ok();
    MH_RETURN_IF_ERROR(InsertBlocks(db, current, day, operation));
    total += static_cast<int64_t>(day.size());
    day.clear();
    return Status::Ok();
  };
  while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
    Row row(rows);
    std::string meter = row.Text();
    Entry e;
    e.ts = row.Int();
    e.value = row.Real();
    e.consumption = row.Real();
    MH_ASSIGN_OR_RETURN(e.source, label(row.Text()));
    MH_ASSIGN_OR_RETURN(e.quality, label(row.Text()));
    if (meter != current.meter_id || (!day.empty() && readings::BlockDay(day.front().ts) != readings::BlockDay(e.ts))) {
      MH_RETURN_IF_ERROR(flush());
      current.meter_id = std::move(meter);
    }
    day.push_back(e);
  }
  if (rc != SQLITE_DONE) return SqliteError(db.db(), rc, operation);
  MH_RETURN_IF_ERROR(flush());
  MH_RETURN_IF_ERROR(AddCounter(db, kPackedCounter, total));
  return db.Exec("DROP TABLE readings", operation);
}

}  // namespace mh::store::sqlite_db
