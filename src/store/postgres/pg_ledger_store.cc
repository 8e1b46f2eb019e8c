#include "store/postgres/pg_ledger_store.h"

#include <algorithm>
#include <mutex>

#include "store/postgres/pg_db.h"

namespace mh::store {
namespace {

using pg::Params;
using pg::Rows;
using pg::Statement;

// The SQLite ledger's tables (docs/formats/ledger.md) in PostgreSQL types.
constexpr char kCreateTables[] = R"sql(
CREATE TABLE ledger_leaves (
  idx       BIGINT PRIMARY KEY,
  meter_id  TEXT   NOT NULL,
  window_no BIGINT NOT NULL,
  seq       BIGINT NOT NULL,
  kind      TEXT   NOT NULL,
  payload   BYTEA  NOT NULL,
  leaf_hash BYTEA  NOT NULL,
  UNIQUE (meter_id, window_no, seq)
);
CREATE TABLE ledger_nodes (
  level INTEGER NOT NULL,
  idx   BIGINT  NOT NULL,
  hash  BYTEA   NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE ledger_heads (
  size         BIGINT PRIMARY KEY,
  root_hash    BYTEA  NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  signature    BYTEA  NOT NULL
);
CREATE TABLE ledger_meta (
  name  TEXT  PRIMARY KEY,
  value BYTEA NOT NULL
);
)sql";


const Statement kLock{"ledger_lock", "SELECT pg_advisory_xact_lock($1)"};
const Statement kNextIndex{"ledger_next_index", "SELECT coalesce(max(idx) + 1, 0) FROM ledger_leaves"};
const Statement kFindKey{"ledger_find_key",
                         "SELECT idx, kind, payload FROM ledger_leaves WHERE meter_id = $1 AND window_no = $2 AND seq = $3"};
const Statement kInsertLeaf{"ledger_insert_leaf",
                            "INSERT INTO ledger_leaves (idx, meter_id, window_no, seq, kind, payload, leaf_hash)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"};
const Statement kInsertNode{"ledger_insert_node",
                            "INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"};
const Statement kReadNode{"ledger_read_node", "SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2"};
const Statement kReadLeafHash{"ledger_read_leaf_hash", "SELECT leaf_hash FROM ledger_leaves WHERE idx = $1"};
const Statement kReadLeaf{"ledger_read_leaf",
                          "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves WHERE idx = $1"};
const Statement kReadLeaves{"ledger_read_leaves",
                            "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves"
                            " WHERE idx >= $1 AND idx < $2 ORDER BY idx"};
const Statement kLeavesOfMeter{"ledger_leaves_of_meter",
                               "SELECT idx, meter_id, window_no, seq, kind, payload, leaf_hash FROM ledger_leaves"
                               " WHERE meter_id = $1 AND idx < $2 ORDER BY idx"};
const Statement kCountRange{"ledger_count_range", "SELECT count(*) FROM ledger_leaves WHERE idx >= $1 AND idx < $2"};
// Only when some are missing (a damaged ledger): one index probe per position of the range.
const Statement kMissing{"ledger_missing",
                         "SELECT s FROM generate_series($1::bigint, $2::bigint - 1) AS s"
                         " WHERE NOT EXISTS (SELECT 1 FROM ledger_leaves WHERE idx = s) ORDER BY s LIMIT $3"};
const Statement kInsertHead{"ledger_insert_head",
                            "INSERT INTO ledger_heads (size, root_hash, timestamp_ms, signature) VALUES ($1, $2, $3, $4)"
                            " ON CONFLICT DO NOTHING"};
const Statement kReadHead{"ledger_read_head", "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads WHERE size = $1"};
const Statement kLatestHead{"ledger_latest_head",
                            "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads ORDER BY size DESC LIMIT 1"};
const Statement kHeads{"ledger_heads",
                       "SELECT size, root_hash, timestamp_ms, signature FROM ledger_heads WHERE size >= $1"
                       " ORDER BY size LIMIT $2"};
const Statement kPutMeta{"ledger_put_meta",
                         "INSERT INTO ledger_meta (name, value) VALUES ($1, $2)"
                         " ON CONFLICT (name) DO UPDATE SET value = excluded.value"};
const Statement kGetMeta{"ledger_get_meta", "SELECT value FROM ledger_meta WHERE name = $1"};

const std::vector<Statement> kStatements = {kLock, kNextIndex, kFindKey, kInsertLeaf, kInsertNode, kReadNode,
                                            kReadLeafHash, kReadLeaf, kReadLeaves, kLeavesOfMeter, kCountRange,
                                            kMissing, kInsertHead, kReadHead, kLatestHead, kHeads, kPutMeta, kGetMeta};

std::string KeyText(const LedgerKey& key) {
  return "(" + key.meter_id + ", window " + std::to_string(key.window) + ", seq " + std::to_string(key.seq) + ")";
}

LedgerLeaf LeafAt(const Rows& r, int i) {
  LedgerLeaf leaf;
  leaf.index = r.Int(i, 0);
  leaf.key.meter_id = r.Text(i, 1);
  leaf.key.window = r.Int(i, 2);
  leaf.key.seq = r.Int(i, 3);
  leaf.kind = r.Text(i, 4);
  leaf.payload = r.Bytes(i, 5);
  leaf.leaf_hash = r.Bytes(i, 6);
  return leaf;
}

std::vector<LedgerLeaf> LeavesOf(const Rows& r) {
  std::vector<LedgerLeaf> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) out.push_back(LeafAt(r, i));
  return out;
}

LedgerTreeHead HeadAt(const Rows& r, int i) { return LedgerTreeHead{r.Int(i, 0), r.Bytes(i, 1), r.Int(i, 2), r.Bytes(i, 3)}; }

class PostgresLedgerStore final : public LedgerStore {
 public:
  explicit PostgresLedgerStore(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}

  Result<std::vector<int64_t>> Append(const LedgerAppend& batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> indices;
    MH_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      // One log for every worker: appends wait for each other here until commit.
      MH_RETURN_IF_ERROR(db_->Run(kLock, Params().Int(pg::AdvisoryKey("meterhub ledger append"))).status());
      MH_ASSIGN_OR_RETURN(indices, AppendLocked(batch));
      return Status::Ok();
    }));
    return indices;
  }

  Result<int64_t> Size() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return NextIndex();
  }

  Result<std::optional<LedgerLeaf>> FindByKey(const LedgerKey& key) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kFindKey, Params().Text(key.meter_id).Int(key.window).Int(key.seq)));
    if (r.empty()) return std::optional<LedgerLeaf>();
    MH_ASSIGN_OR_RETURN(LedgerLeaf leaf, ReadLeafLocked(r.Int(0, 0)));
    return std::optional<LedgerLeaf>(std::move(leaf));
  }

  Result<LedgerLeaf> ReadLeaf(int64_t index) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ReadLeafLocked(index);
  }

  Result<std::vector<LedgerLeaf>> ReadLeaves(int64_t begin, int64_t end) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kReadLeaves, Params().Int(begin).Int(end)));
    return LeavesOf(r);
  }

  Result<std::vector<LedgerLeaf>> LeavesOfMeter(const std::string& meter_id, int64_t below) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kLeavesOfMeter, Params().Text(meter_id).Int(below)));
    return LeavesOf(r);
  }

  Result<std::vector<int64_t>> MissingLeaves(int64_t begin, int64_t end, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> out;
    begin = std::max<int64_t>(begin, 0);
    if (end <= begin || limit <= 0) return out;
    // The common case, nothing missing: one count over the primary key's range.
    MH_ASSIGN_OR_RETURN(Rows count, db_->Run(kCountRange, Params().Int(begin).Int(end)));
    if (count.Int(0, 0) == end - begin) return out;
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kMissing, Params().Int(begin).Int(end).Int(limit)));
    for (int i = 0; i < r.size(); ++i) out.push_back(r.Int(i, 0));
    return out;
  }

  Result<std::vector<std::string>> ReadNodes(const std::vector<LedgerNodeId>& ids) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (const LedgerNodeId& id : ids) {
      Result<Rows> r = id.level == 0 ? db_->Run(kReadLeafHash, Params().Int(id.index))
                                     : db_->Run(kReadNode, Params().Int(id.level).Int(id.index));
      MH_RETURN_IF_ERROR(r.status());
      if (r->empty()) {
        if (id.level == 0) return NotFound("ledger: no entry at index " + std::to_string(id.index));
        return NotFound("ledger: no node at level " + std::to_string(id.level) + " index " + std::to_string(id.index));
      }
      out.push_back(r->Bytes(0, 0));
    }
    return out;
  }

  Status PutHead(const LedgerTreeHead& head) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows inserted, db_->Run(kInsertHead, Params()
                                                                 .Int(head.size)
                                                                 .Bytes(head.root_hash)
                                                                 .Int(head.timestamp_ms)
                                                                 .Bytes(head.signature)));
    if (inserted.affected() == 1) return Status::Ok();
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kReadHead, Params().Int(head.size)));
    if (r.empty()) return Internal("ledger: tree head of size " + std::to_string(head.size) + " vanished");
    const LedgerTreeHead old = HeadAt(r, 0);
    if (old.root_hash == head.root_hash && old.timestamp_ms == head.timestamp_ms && old.signature == head.signature) {
      return Status::Ok();
    }
    return AlreadyExists("ledger: another tree head of size " + std::to_string(head.size) + " is already stored");
  }

  Result<std::optional<LedgerTreeHead>> LatestHead() override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kLatestHead));
    if (r.empty()) return std::optional<LedgerTreeHead>();
    return std::optional<LedgerTreeHead>(HeadAt(r, 0));
  }

  Result<std::vector<LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Params p;
    p.Int(since).Limit(limit);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kHeads, p));
    std::vector<LedgerTreeHead> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(HeadAt(r, i));
    return out;
  }

  Status PutMeta(const std::string& name, const std::string& value) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_->Run(kPutMeta, Params().Text(name).Bytes(value)).status();
  }

  Result<std::optional<std::string>> GetMeta(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetMeta, Params().Text(name)));
    if (r.empty()) return std::optional<std::string>();
    return std::optional<std::string>(r.Bytes(0, 0));
  }

 private:
  Result<int64_t> NextIndex() {
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kNextIndex));
    return r.Int(0, 0);
  }

  Result<LedgerLeaf> ReadLeafLocked(int64_t index) {
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kReadLeaf, Params().Int(index)));
    if (r.empty()) return NotFound("ledger: no entry at index " + std::to_string(index));
    return LeafAt(r, 0);
  }

  Result<std::vector<int64_t>> AppendLocked(const LedgerAppend& batch) {
    MH_ASSIGN_OR_RETURN(int64_t next, NextIndex());
    std::vector<int64_t> indices;
    indices.reserve(batch.leaves.size());
    for (const LedgerLeaf& leaf : batch.leaves) {
      if (leaf.index == next) {
        // The common case, a new entry: insert at once; a key already there inserts nothing.
        MH_ASSIGN_OR_RETURN(Rows inserted, db_->Run(kInsertLeaf, Params()
                                                                     .Int(next)
                                                                     .Text(leaf.key.meter_id)
                                                                     .Int(leaf.key.window)
                                                                     .Int(leaf.key.seq)
                                                                     .Text(leaf.kind)
                                                                     .Bytes(leaf.payload)
                                                                     .Bytes(leaf.leaf_hash)));
        if (inserted.affected() == 1) {
          indices.push_back(next++);
          continue;
        }
      }
      MH_ASSIGN_OR_RETURN(Rows found, db_->Run(kFindKey, Params().Text(leaf.key.meter_id).Int(leaf.key.window).Int(leaf.key.seq)));
      if (found.empty()) {
        return FailedPrecondition("ledger: new entry " + KeyText(leaf.key) + " given index " + std::to_string(leaf.index) +
                                  ", the next index is " + std::to_string(next));
      }
      if (found.Text(0, 1) != leaf.kind || found.Bytes(0, 2) != leaf.payload) {
        return AlreadyExists("ledger: entry " + KeyText(leaf.key) + " already at index " + std::to_string(found.Int(0, 0)) +
                             " with other bytes");
      }
      indices.push_back(found.Int(0, 0));
    }
    for (const LedgerNode& node : batch.nodes) {
      const std::string name = "node level " + std::to_string(node.level) + " index " + std::to_string(node.index);
      MH_ASSIGN_OR_RETURN(Rows inserted, db_->Run(kInsertNode, Params().Int(node.level).Int(node.index).Bytes(node.hash)));
      if (inserted.affected() == 1) continue;
      MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kReadNode, Params().Int(node.level).Int(node.index)));
      if (r.empty() || r.Bytes(0, 0) != node.hash) return AlreadyExists("ledger: " + name + " already stored with another hash");
    }
    return indices;
  }

  std::mutex mutex_;
  std::unique_ptr<pg::Connection> db_;  // guarded by mutex_
};

}  // namespace

Result<std::unique_ptr<LedgerStore>> OpenPostgresLedgerStore(const PostgresLedgerOptions& options) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> db, pg::Connection::Open(options.url, "ledger"));
  if (options.read_only) {
    MH_ASSIGN_OR_RETURN(int version, db->StoredVersion("ledger"));
    if (version < 0) return InvalidArgument("postgres ledger: the database holds no ledger (no 'ledger' in schema_components)");
    if (version != kPostgresLedgerSchemaVersion) {
      return FailedPrecondition("postgres ledger: schema version " + std::to_string(version) + " is not " +
                                std::to_string(kPostgresLedgerSchemaVersion));
    }
    MH_RETURN_IF_ERROR(db->Exec("SET default_transaction_read_only = on", "open read-only"));
  } else {
    MH_ASSIGN_OR_RETURN(int version, db->CreateSchema(kCreateTables, "ledger", kPostgresLedgerSchemaVersion));
    (void)version;
  }
  MH_RETURN_IF_ERROR(db->Prepare(kStatements));
  return std::unique_ptr<LedgerStore>(new PostgresLedgerStore(std::move(db)));
}

}  // namespace mh::store
