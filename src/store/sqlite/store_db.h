// The main SQLite store's plumbing, shared by its files (sqlite_store.cc, sqlite_readings.cc,
// sqlite_schema.cc): the statements it prepares once per connection, binding and reading rows,
// error mapping, a connection with its statement cache and the pool of read-only connections.
// Internal to src/store/sqlite.
#pragma once

#include <sqlite3.h>

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::store::sqlite_db {

// ---------------------------------------------------------------------------------------------
// Statements. Every statement is prepared once per connection and reused; parameters are
// numbered in the order the Binder below binds them.

enum class Sql {
  kBegin,
  kCommit,
  kRollback,
  kUpsertMeter,
  kRegisterMeter,
  kFindMeterByAddress,
  kMetersBehindGateway,
  kGetMeter,
  kListMeters,
  kListMetersOfCustomer,
  kCountMeters,
  kSetCustomerThreshold,
  kBindTerminal,
  kUnbindTerminal,
  kListTerminals,
  kInsertQuarantine,
  kDeleteRejudged,
  kInsertEvent,
  kUpsertState,
  kInsertAlert,
  kInsertDelivery,
  kLoadState,
  kQueryQuarantineOfMeter,
  kQueryQuarantine,
  kQueryEvents,
  kCountQuarantine,
  kCountEstimates,
  kListAlertsOfMeter,
  kListAlerts,
  kCountAlerts,
  kListDeliveriesOfAlert,
  kListDeliveriesOfMeter,
  kListDeliveries,
  kDueDeliveries,
  kUpdateDelivery,
  kClaimDelivery,
  kRecordAttempt,
  kListAttempts,
  kGetDelivery,
  kFailedForRequeue,
  kRequeueDelivery,
  kRecordRequeue,
  kListRequeues,
  kPutToken,
  kFindToken,
  kListTokens,
  kRevokeToken,
  kDeleteSessionsOfToken,
  kAddUser,
  kGetUser,
  kListUsers,
  kDeleteUser,
  kDeleteSessionsOfUser,
  kPutSession,
  kFindSession,
  kDeleteSession,
  kDeleteExpiredSessions,
  kSearchMeters,
  kCountSearchMeters,
  kCountMetersByKind,
  kCountMetersByRegion,
  kCountMeterStates,
  kCountQuarantineByVerdict,
  kCountDeliveriesByStatus,
  kCountAlertsSince,
  kUpsertRelayMeter,
  kGetRelayMeter,
  kListRelayMeters,
  kDeleteLevelReports,
  kInsertLevelReport,
  kListLevelReports,
  kInsertRegionKey,
  kListRegionKeys,
  kDeleteRegionKey,
  kInsertRelayBatch,
  kCountRelayBatchCopy,
  kSumRelayBatches,
  kListRelayBatches,
  kListRelayBatchesOfRelay,
  kListRelayBatchesFrom,
  kInsertRelayOutcome,
  kListRelayOutcomes,
  kSumRelayOutcomes,
  kSumRelayOutcomesOfRegion,
  kInsertRelayWorkOrder,
  kUpdateRelayWorkOrder,
  kListRelayWorkOrders,
  // the packed readings (sqlite_readings.cc)
  kAppendLog,
  kLoadLog,
  kDeleteLogUpTo,
  kAppendStateLog,
  kLoadStateLog,
  kDeleteStateLogUpTo,
  kBlocksBetween,
  kBlocksAtOrBeforeDesc,
  kLastBlockEnd,
  kAnyBlock,
  kInsertBlock,
  kDeleteBlock,
  kLoadLabels,
  kInsertLabel,
  kGetCounter,
  kAddCounter,
  kInsertVersion,
  kListVersions,
  kInsertEstimate,
  kGetEstimate,
  kCount_,  // not a statement: the size of the cache
};

// The statement's SQL text.
const char* SqlText(Sql id);

// ---------------------------------------------------------------------------------------------
// Errors: every one names the operation and carries SQLite's own message.

// SQLITE_BUSY/LOCKED/CANTOPEN/IOERR/NOMEM/PROTOCOL → Unavailable, FULL → StorageFull, TOOBIG →
// ResourceExhausted, CONSTRAINT → InvalidArgument, READONLY/PERM/AUTH → PermissionDenied, anything
// else → Internal.
StatusCode CodeFor(int rc);
// "sqlite: <operation>: <SQLite's message> (code N)".
Status SqliteError(sqlite3* db, int rc, std::string_view operation);

// Binds parameters ?1, ?2, … in call order. Text is bound SQLITE_STATIC (no copy): the caller's
// strings must outlive the step, which holds because every statement is stepped and reset within
// the call that bound it, and every parameter is rebound before the next step.
// The first failure is remembered so a caller checks once, at the step.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* statement) : statement_(statement) {}

  Binder& Text(std::string_view v) {
    // An empty view may have a null data(), which SQLite would store as NULL rather than ''.
    const char* data = v.data() != nullptr ? v.data() : "";
    return Check(sqlite3_bind_text(statement_, ++index_, data, static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Binder& Blob(std::string_view v) {
    return Check(sqlite3_bind_blob(statement_, ++index_, v.data() != nullptr ? v.data() : "",
                                   static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Binder& Int(int64_t v) { return Check(sqlite3_bind_int64(statement_, ++index_, v)); }
  Binder& Real(double v) { return Check(sqlite3_bind_double(statement_, ++index_, v)); }
  Binder& OptionalReal(const std::optional<double>& v) {
    return v ? Real(*v) : Check(sqlite3_bind_null(statement_, ++index_));
  }
  Binder& OptionalInt(const std::optional<int>& v) {
    return v ? Int(*v) : Check(sqlite3_bind_null(statement_, ++index_));
  }
  Binder& Limit(int64_t limit) { return Int(limit > 0 ? limit : -1); }  // SQLite: -1 = no limit
  int rc() const { return rc_; }

 private:
  Binder& Check(int rc) {
    if (rc != SQLITE_OK && rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3_stmt* statement_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

// Reads columns 0, 1, … in call order from the current row.
class Row {
 public:
  explicit Row(sqlite3_stmt* statement) : statement_(statement) {}
  std::string Text() {
    const int i = index_++;
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, i));
    return data == nullptr ? std::string() : std::string(data, sqlite3_column_bytes(statement_, i));
  }
  std::string Blob() {
    const int i = index_++;
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, i));
    return data == nullptr ? std::string() : std::string(data, sqlite3_column_bytes(statement_, i));
  }
  // Valid until the statement steps again or is reset.
  std::string_view BlobView() {
    const int i = index_++;
    const auto* data = static_cast<const char*>(sqlite3_column_blob(statement_, i));
    return data == nullptr ? std::string_view() : std::string_view(data, sqlite3_column_bytes(statement_, i));
  }
  int64_t Int() { return sqlite3_column_int64(statement_, index_++); }
  double Real() { return sqlite3_column_double(statement_, index_++); }
  std::optional<double> OptionalReal() {
    const int i = index_++;
    if (sqlite3_column_type(statement_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(statement_, i);
  }
  std::optional<int> OptionalInt() {
    const int i = index_++;
    if (sqlite3_column_type(statement_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int(statement_, i);
  }

 private:
  sqlite3_stmt* statement_;
  int index_ = 0;
};

// Resets a cached statement when the scope ends, so that no statement keeps a read snapshot
// open (an open snapshot stops WAL checkpoints from finishing).
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* statement) : statement_(statement) {}
  ~ResetOnExit() { sqlite3_reset(statement_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* statement_;
};

// ---------------------------------------------------------------------------------------------
// One SQLite connection and its statement cache. Used by one thread at a time (the owner
// serialises), so it is opened NOMUTEX.

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only,
                                                  int busy_timeout_ms) {
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    // Take ownership first: even a failed open returns a handle that must be closed.
    std::unique_ptr<Connection> connection(new Connection(db));
    if (rc != SQLITE_OK) return SqliteError(db, rc, "open " + path);
    sqlite3_busy_timeout(db, busy_timeout_ms);
    return connection;
  }

  ~Connection() {
    for (sqlite3_stmt* statement : statements_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const { return db_; }

  // The cached statement for `id`, prepared on first use.
  Result<sqlite3_stmt*> Statement(Sql id) {
    sqlite3_stmt*& slot = statements_[static_cast<size_t>(id)];
    if (slot == nullptr) {
      const int rc = sqlite3_prepare_v3(db_, SqlText(id), -1, SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, std::string("prepare ") + SqlText(id));
    }
    return slot;
  }

  Status Exec(const char* sql, std::string_view operation) {
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  // Runs a statement that returns no rows.
  Status Run(Sql id, std::string_view operation) {
    MH_ASSIGN_OR_RETURN(sqlite3_stmt * statement, Statement(id));
    ResetOnExit reset(statement);
    const int rc = sqlite3_step(statement);
    if (rc != SQLITE_DONE) return SqliteError(db_, rc, operation);
    return Status::Ok();
  }

  // Runs a PRAGMA (or any query) and returns the first column of its first row as text.
  Result<std::string> QueryText(const std::string& sql, std::string_view operation) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, operation);
    std::string text;
    rc = sqlite3_step(statement);
    if (rc == SQLITE_ROW) {
      text = Row(statement).Text();
    } else if (rc != SQLITE_DONE) {
      Status error = SqliteError(db_, rc, operation);
      sqlite3_finalize(statement);
      return error;
    }
    sqlite3_finalize(statement);
    return text;
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* const db_;
  std::array<sqlite3_stmt*, static_cast<size_t>(Sql::kCount_)> statements_{};
};

// Steps a write statement bound by `binder` to completion.
inline int StepWrite(sqlite3_stmt* statement, const Binder& binder) {
  if (binder.rc() != SQLITE_OK) return binder.rc();
  const int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Steps a bound query and appends one T per row, decoded by `read(Row&, T&) -> Status`.
template <typename T, typename ReadRow>
Status CollectRows(Connection& connection, sqlite3_stmt* statement, const Binder& binder,
                   std::string_view operation, std::vector<T>& out, ReadRow read) {
  ResetOnExit reset(statement);
  if (binder.rc() != SQLITE_OK) return SqliteError(connection.db(), binder.rc(), operation);
  for (;;) {
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return SqliteError(connection.db(), rc, operation);
    Row row(statement);
    T value;
    MH_RETURN_IF_ERROR(read(row, value).WithContext(std::string(operation)));
    out.push_back(std::move(value));
  }
}

// Steps a bound `SELECT count(*)`-like query and returns its single integer.
Result<int64_t> QueryInt(Connection& connection, sqlite3_stmt* statement, const Binder& binder,
                         std::string_view operation);

// ---------------------------------------------------------------------------------------------
// Read-only connections, lent to one read at a time and kept open for the next.

class ReaderPool {
 public:
  // A connection on loan; it goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) pool_->Release(std::move(connection_));
    }
    Connection& connection() { return *connection_; }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  ReaderPool(std::string path, int busy_timeout_ms) : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

  Result<Lease> Acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(connection));
      }
    }
    // Opened outside the lock: opening touches the file system.
    MH_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                        Connection::Open(path_, /*read_only=*/true, busy_timeout_ms_));
    // Large reads (a year of a meter's readings) go faster through the OS page cache.
    MH_RETURN_IF_ERROR(connection->Exec("PRAGMA mmap_size = 268435456", "reader: set mmap_size"));
    return Lease(this, std::move(connection));
  }

 private:
  // More idle connections than this are closed rather than kept: each holds a page cache.
  static constexpr size_t kMaxIdle = 8;

  void Release(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
  }

  const std::string path_;
  const int busy_timeout_ms_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
};

inline bool IsInMemory(const std::string& path) {
  return path == ":memory:" || path.rfind("file::memory:", 0) == 0;
}


}  // namespace mh::store::sqlite_db
