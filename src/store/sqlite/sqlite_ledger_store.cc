#include "store/sqlite/sqlite_ledger_store.h"

#include <sqlite3.h>

#include "store/sqlite/area_db.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <string_view>

namespace mh::store {
namespace {

using area_db::Statement;

// The ledger's tables. Leaves keep their leaf hash (level 0); ledger_nodes keeps every complete
// subtree of level >= 1, so any proof is O(log n) primary-key reads. WITHOUT ROWID keeps a node
// to its (level, idx) key and hash. Frozen: docs/formats/ledger.md.
constexpr char kCreateTables[] = R"sql(
CREATE TABLE IF NOT EXISTS ledger_leaves (
  idx       INTEGER PRIMARY KEY,
  meter_id  TEXT    NOT NULL,
  window_no INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  kind      TEXT    NOT NULL,
  payload   BLOB    NOT NULL,
  leaf_hash BLOB    NOT NULL,
  UNIQUE (meter_id, window_no, seq)
);
CREATE TABLE IF NOT EXISTS ledger_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB    NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_heads (
  size         INTEGER PRIMARY KEY,
  root_hash    BLOB    NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  signature    BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
)sql";

enum Sql {
  kBegin,
  kCommit,
  kRollback,
  kNextIndex,
  kFindKey,
  kInsertLeaf,
  kInsertNode,
  kReadNode,
  kReadLeafHash,
  kReadLeaf,
  kReadLeaves,
  kLeavesOfMeter,
  kCountAll,
  kCountFrom,
  kCountRange,
  kGapStarts,
  kNextPresent,
  kInsertHead,
  kReadHead,
  kLatestHead,
  kHeads,
  kPutMeta,
  kGetMeta,
  kSqlCount,
};

constexpr std::array<const char*, kSqlCount> kSqlText = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SELECT coalesce(max(idx) + 1, 0) FROM ledger_leaves",
    "SELECT idx, kind, payload FROM ledger_leaves WHERE meter_id = ?1 AND window_no = ?2 AND seq = ?3",
    "INSERT INTO ledger_leaves (idx, meter_id, window_no, seq, kind, payload, leaf_hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT OR IGNORE INTO ledger_nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
    "SELECT hash FROM ledger_nodes WHERE level = ?1 AND idx = ?2",
    "SELECT leaf_hash FROM ledger_leaves WHERE idx = ?1",
    "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves WHERE idx = ?1",
    "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves"
    " WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
    "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves"
    " WHERE meter_id = ?1 AND idx < ?2 ORDER BY idx",
    // count(*) of the whole table scans the small key index (SQLite's count shortcut); the rows
    // at or above a head's size are few. Together: the rows below, 4x faster than counting them.
    "SELECT count(*) FROM ledger_leaves",
    "SELECT count(*) FROM ledger_leaves WHERE idx >= ?1",
    // A range of the rowid key: cost in proportion to the range.
    "SELECT count(*) FROM ledger_leaves WHERE idx >= ?1 AND idx < ?2",
    // The first index of every run of missing rows (after a present one) in [?3, ?1).
    "SELECT a.idx + 1 FROM ledger_leaves a WHERE a.idx >= ?3 AND a.idx + 1 < ?1"
    " AND NOT EXISTS (SELECT 1 FROM ledger_leaves b WHERE b.idx = a.idx + 1) ORDER BY a.idx LIMIT ?2",
    "SELECT coalesce(min(idx), -1) FROM ledger_leaves WHERE idx >= ?1",
    "INSERT OR IGNORE INTO ledger_heads (size, root_hash, timestamp_ms, signature) VALUES (?1, ?2, ?3, ?4)",
    "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads WHERE size = ?1",
    "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads ORDER BY size DESC LIMIT 1",
    "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads WHERE size >= ?1 ORDER BY size LIMIT ?2",
    "INSERT INTO ledger_meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    "SELECT value FROM ledger_meta WHERE name = ?1",
};

constexpr std::string_view kArea = "ledger";

Status SqliteError(sqlite3* db, int rc, std::string_view operation) { return area_db::Error(db, rc, kArea, operation); }

std::string KeyText(const LedgerKey& key) {
  return "(" + key.meter_id + ", window " + std::to_string(key.window) + ", seq " + std::to_string(key.seq) + ")";
}

LedgerLeaf LeafFrom(const Statement& row) {
  LedgerLeaf leaf;
  leaf.index = row.ColInt(0);
  leaf.key.meter_id = row.ColText(1);
  leaf.key.window = row.ColInt(2);
  leaf.key.seq = row.ColInt(3);
  leaf.kind = row.ColText(4);
  leaf.payload = row.ColText(5);
  leaf.leaf_hash = row.ColText(6);
  return leaf;
}

LedgerTreeHead HeadFrom(const Statement& row) {
  return LedgerTreeHead{row.ColInt(0), row.ColText(1), row.ColInt(2), row.ColText(3)};
}

class SqliteLedgerStore final : public LedgerStore {
 public:
  SqliteLedgerStore(sqlite3* db, std::array<sqlite3_stmt*, kSqlCount> statements)
      : db_(db), statements_(statements) {}
  ~SqliteLedgerStore() override {
    for (sqlite3_stmt* s : statements_) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  Result<std::vector<int64_t>> Append(const LedgerAppend& batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_RETURN_IF_ERROR(Exec(kBegin, "append: begin"));
    Result<std::vector<int64_t>> result = AppendLocked(batch);
    if (result.ok()) {
      const Status committed = Exec(kCommit, "append: commit");
      if (committed.ok()) return result;
      result = committed;
    }
    if (sqlite3_get_autocommit(db_) == 0) (void)Exec(kRollback, "append: rollback");
    return result;
  }

  Result<int64_t> Size() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return NextIndex();
  }

  Result<std::optional<LedgerLeaf>> FindByKey(const LedgerKey& key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(std::optional<int64_t> index, FindIndex(key, nullptr, nullptr));
    if (!index) return std::optional<LedgerLeaf>();
    MH_ASSIGN_OR_RETURN(LedgerLeaf leaf, ReadLeafLocked(*index));
    return std::optional<LedgerLeaf>(std::move(leaf));
  }

  Result<LedgerLeaf> ReadLeaf(int64_t index) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ReadLeafLocked(index);
  }

  Result<std::vector<LedgerLeaf>> ReadLeaves(int64_t begin, int64_t end) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kReadLeaves);
    q.Int(1, begin).Int(2, end);
    return Leaves(q, "read entries " + std::to_string(begin) + ".." + std::to_string(end));
  }

  Result<std::vector<LedgerLeaf>> LeavesOfMeter(const std::string& meter_id, int64_t below) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kLeavesOfMeter);
    q.Text(1, meter_id).Int(2, below);
    return Leaves(q, "read entries of meter " + meter_id);
  }

  Result<std::vector<int64_t>> MissingLeaves(int64_t begin, int64_t end, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> out;
    begin = std::max<int64_t>(begin, 0);
    if (end <= begin || limit <= 0) return out;
    if (begin == 0) {
      // The common case of a whole-log check, nothing missing, in two counting queries
      // (count(*) of the whole table reads the small key index only).
      Statement all = Use(kCountAll);
      int rc = all.Step();
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "count entries");
      Statement from = Use(kCountFrom);
      from.Int(1, end);
      rc = from.Step();
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "count entries");
      if (all.ColInt(0) - from.ColInt(0) == end) return out;
    } else {
      Statement range = Use(kCountRange);
      range.Int(1, begin).Int(2, end);
      const int rc = range.Step();
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "count entries");
      if (range.ColInt(0) == end - begin) return out;
    }
    std::vector<int64_t> starts;
    MH_ASSIGN_OR_RETURN(int64_t first, NextPresent(begin));
    if (first != begin) starts.push_back(begin);
    {
      Statement q = Use(kGapStarts);
      q.Int(1, end).Int(2, limit).Int(3, begin);
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) starts.push_back(q.ColInt(0));
      if (rc != SQLITE_DONE) return SqliteError(db_, rc, "find missing entries");
    }
    for (int64_t start : starts) {
      MH_ASSIGN_OR_RETURN(int64_t next, NextPresent(start));
      const int64_t stop = next < 0 || next > end ? end : next;
      for (int64_t i = start; i < stop && static_cast<int64_t>(out.size()) < limit; ++i) out.push_back(i);
      if (static_cast<int64_t>(out.size()) >= limit) break;
    }
    return out;
  }

  Result<std::vector<std::string>> ReadNodes(const std::vector<LedgerNodeId>& ids) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (const LedgerNodeId& id : ids) {
      Statement q = Use(id.level == 0 ? kReadLeafHash : kReadNode);
      if (id.level == 0) {
        q.Int(1, id.index);
      } else {
        q.Int(1, id.level).Int(2, id.index);
      }
      const int rc = q.Step();
      if (rc == SQLITE_DONE) {
        if (id.level == 0) return NotFound("ledger: no entry at index " + std::to_string(id.index));
        return NotFound("ledger: no node at level " + std::to_string(id.level) + " index " + std::to_string(id.index));
      }
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read node");
      out.push_back(q.ColText(0));
    }
    return out;
  }

  Status PutHead(const LedgerTreeHead& head) override {
    std::lock_guard<std::mutex> lock(mutex_);
    {
      Statement q = Use(kInsertHead);
      q.Int(1, head.size).Blob(2, head.root_hash).Int(3, head.timestamp_ms).Blob(4, head.signature);
      const int rc = q.Step();
      if (rc != SQLITE_DONE) return SqliteError(db_, rc, "store tree head of size " + std::to_string(head.size));
      if (sqlite3_changes(db_) == 1) return Status::Ok();
    }
    Statement q = Use(kReadHead);
    q.Int(1, head.size);
    const int rc = q.Step();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read tree head of size " + std::to_string(head.size));
    const LedgerTreeHead old = HeadFrom(q);
    if (old.root_hash == head.root_hash && old.timestamp_ms == head.timestamp_ms && old.signature == head.signature) {
      return Status::Ok();
    }
    return AlreadyExists("ledger: another tree head of size " + std::to_string(head.size) + " is already stored");
  }

  Result<std::optional<LedgerTreeHead>> LatestHead() override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kLatestHead);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return std::optional<LedgerTreeHead>();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read the latest tree head");
    return std::optional<LedgerTreeHead>(HeadFrom(q));
  }

  Result<std::vector<LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kHeads);
    q.Int(1, since).Int(2, limit > 0 ? limit : -1);  // LIMIT -1: no limit
    std::vector<LedgerTreeHead> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(HeadFrom(q));
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "read tree heads");
    return out;
  }

  Status PutMeta(const std::string& name, const std::string& value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kPutMeta);
    q.Text(1, name).Blob(2, value);
    const int rc = q.Step();
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, "store " + name);
    return Status::Ok();
  }

  Result<std::optional<std::string>> GetMeta(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement q = Use(kGetMeta);
    q.Text(1, name);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read " + name);
    return std::optional<std::string>(q.ColText(0));
  }

 private:
  Statement Use(size_t id) { return Statement::Reuse(db_, kArea, statements_[id]); }

  Status Exec(Sql id, std::string_view operation) {
    Statement q = Use(id);
    const int rc = q.Step();
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  Result<int64_t> NextIndex() {
    Statement q = Use(kNextIndex);
    const int rc = q.Step();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read the ledger size");
    return q.ColInt(0);
  }

  // The first present index >= from, or -1.
  Result<int64_t> NextPresent(int64_t from) {
    Statement q = Use(kNextPresent);
    q.Int(1, from);
    const int rc = q.Step();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "find the next entry");
    return q.ColInt(0);
  }

  // The index of `key`, with its kind and payload when asked for.
  Result<std::optional<int64_t>> FindIndex(const LedgerKey& key, std::string* kind, std::string* payload) {
    Statement q = Use(kFindKey);
    q.Text(1, key.meter_id).Int(2, key.window).Int(3, key.seq);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "look up entry " + KeyText(key));
    if (kind != nullptr) *kind = q.ColText(1);
    if (payload != nullptr) *payload = q.ColText(2);
    return std::optional<int64_t>(q.ColInt(0));
  }

  Result<LedgerLeaf> ReadLeafLocked(int64_t index) {
    Statement q = Use(kReadLeaf);
    q.Int(1, index);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) return NotFound("ledger: no entry at index " + std::to_string(index));
    if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read entry " + std::to_string(index));
    return LeafFrom(q);
  }

  Result<std::vector<LedgerLeaf>> Leaves(Statement& q, const std::string& operation) {
    std::vector<LedgerLeaf> out;
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out.push_back(LeafFrom(q));
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, operation);
    return out;
  }

  Result<std::vector<int64_t>> AppendLocked(const LedgerAppend& batch) {
    MH_ASSIGN_OR_RETURN(int64_t next, NextIndex());
    std::vector<int64_t> indices;
    indices.reserve(batch.leaves.size());
    std::string kind, payload;
    for (const LedgerLeaf& leaf : batch.leaves) {
      if (leaf.index == next) {
        // The common case, a new entry: insert straight away and let the key's UNIQUE index say
        // when it is not new (one B-tree probe instead of a lookup and an insert).
        Statement q = Use(kInsertLeaf);
        q.Int(1, next).Text(2, leaf.key.meter_id).Int(3, leaf.key.window).Int(4, leaf.key.seq).Text(5, leaf.kind);
        q.Blob(6, leaf.payload).Blob(7, leaf.leaf_hash);
        const int rc = q.Step();
        if (rc == SQLITE_DONE) {
          indices.push_back(next++);
          continue;
        }
        if ((rc & 0xff) != SQLITE_CONSTRAINT) return SqliteError(db_, rc, "append entry " + KeyText(leaf.key));
      }
      MH_ASSIGN_OR_RETURN(std::optional<int64_t> existing, FindIndex(leaf.key, &kind, &payload));
      if (!existing) {
        return FailedPrecondition("ledger: new entry " + KeyText(leaf.key) + " given index " +
                                  std::to_string(leaf.index) + ", the next index is " + std::to_string(next));
      }
      if (kind != leaf.kind || payload != leaf.payload) {
        return AlreadyExists("ledger: entry " + KeyText(leaf.key) + " already at index " + std::to_string(*existing) +
                             " with other bytes");
      }
      indices.push_back(*existing);
    }
    for (const LedgerNode& node : batch.nodes) {
      const std::string name = "node level " + std::to_string(node.level) + " index " + std::to_string(node.index);
      {
        Statement q = Use(kInsertNode);
        q.Int(1, node.level).Int(2, node.index).Blob(3, node.hash);
        const int rc = q.Step();
        if (rc != SQLITE_DONE) return SqliteError(db_, rc, "store " + name);
        if (sqlite3_changes(db_) == 1) continue;
      }
      Statement q = Use(kReadNode);
      q.Int(1, node.level).Int(2, node.index);
      const int rc = q.Step();
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, "read " + name);
      if (q.ColText(0) != node.hash) return AlreadyExists("ledger: " + name + " already stored with another hash");
    }
    return indices;
  }

  std::mutex mutex_;
  sqlite3* const db_;                                  // guarded by mutex_
  const std::array<sqlite3_stmt*, kSqlCount> statements_;  // guarded by mutex_
};

Status ExecText(sqlite3* db, const char* sql, std::string_view operation) {
  return area_db::Exec(db, sql, kArea, operation);
}

Result<std::string> QueryText(sqlite3* db, const char* sql, std::string_view operation) {
  return area_db::QueryText(db, sql, kArea, operation);
}

Status CheckExistingSchema(sqlite3* db, const std::string& path) {
  MH_ASSIGN_OR_RETURN(std::string tables,
                      QueryText(db,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                                " ('schema_components', 'ledger_leaves', 'ledger_nodes', 'ledger_heads', 'ledger_meta')",
                                "look for the ledger tables"));
  if (tables != "5") return InvalidArgument("sqlite ledger: " + path + " holds no ledger (tables ledger_* missing)");
  MH_ASSIGN_OR_RETURN(std::string version, QueryText(db, "SELECT version FROM schema_components WHERE component = 'ledger'",
                                                     "read the ledger schema version"));
  if (std::atoi(version.c_str()) != kLedgerSchemaVersion) {
    return FailedPrecondition("sqlite ledger: " + path + ": schema version '" + version + "' is not " +
                              std::to_string(kLedgerSchemaVersion));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LedgerStore>> OpenSqliteLedgerStore(const SqliteLedgerOptions& options) {
  area_db::OpenOptions open;
  open.path = options.path;
  open.read_only = options.read_only;
  open.busy_timeout_ms = options.busy_timeout_ms;
  open.synchronous = options.synchronous;
  MH_ASSIGN_OR_RETURN(sqlite3* db, area_db::Open(open, kArea));
  auto fail = [db](Status status) {
    sqlite3_close_v2(db);
    return status;
  };
  // Keeps the upper levels of the leaf, key and node B-trees in memory on big ledgers.
  if (Status s = ExecText(db, "PRAGMA cache_size = -32768", "set cache_size"); !s.ok()) return fail(s);
  if (options.read_only) {
    if (Status s = CheckExistingSchema(db, options.path); !s.ok()) return fail(s);
  } else {
    Result<int> version = area_db::CreateSchema(db, kArea, kCreateTables, "ledger", kLedgerSchemaVersion);
    if (!version.ok()) return fail(version.status().WithContext(options.path));
  }
  int rc = SQLITE_OK;
  std::array<sqlite3_stmt*, kSqlCount> statements{};
  for (size_t i = 0; i < kSqlText.size(); ++i) {
    rc = sqlite3_prepare_v3(db, kSqlText[i], -1, SQLITE_PREPARE_PERSISTENT, &statements[i], nullptr);
    if (rc != SQLITE_OK) {
      Status status = SqliteError(db, rc, std::string("prepare: ") + kSqlText[i]);
      for (sqlite3_stmt* s : statements) sqlite3_finalize(s);
      return fail(status);
    }
  }
  return std::unique_ptr<LedgerStore>(new SqliteLedgerStore(db, statements));
}

}  // namespace mh::store
