#include "store/sqlite/sqlite_water_store.h"

#include <sqlite3.h>

#include "store/sqlite/area_db.h"

#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

namespace mh::store {
namespace {

constexpr char kCreateTables[] = R"sql(
CREATE TABLE IF NOT EXISTS water_pairs (
  terminal_id  TEXT PRIMARY KEY,
  feature_code TEXT NOT NULL UNIQUE,
  flowmeter_id TEXT NOT NULL UNIQUE,
  phone        TEXT NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS water_frames (
  id           INTEGER PRIMARY KEY,
  feature_code TEXT NOT NULL,
  device_id    TEXT NOT NULL,
  kind         TEXT NOT NULL,
  relayed      INTEGER NOT NULL,
  start        INTEGER NOT NULL,
  end_ts       INTEGER NOT NULL,
  received_at  INTEGER NOT NULL,
  payload      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS water_frames_by_code ON water_frames (feature_code, start);
CREATE TABLE IF NOT EXISTS water_windows (
  feature_code TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_s     INTEGER NOT NULL,
  verdict      TEXT NOT NULL,
  form         TEXT NOT NULL,
  pairs        INTEGER NOT NULL,
  parameters   TEXT NOT NULL,
  reason       TEXT NOT NULL,
  checked_at   INTEGER NOT NULL,
  PRIMARY KEY (feature_code, window_start)
);
CREATE TABLE IF NOT EXISTS water_commands (
  command_id   TEXT PRIMARY KEY,
  feature_code TEXT NOT NULL,
  terminal_id  TEXT NOT NULL,
  source       TEXT NOT NULL,
  issued_at    INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  correction   TEXT NOT NULL,
  status       TEXT NOT NULL,
  acked_at     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS water_history (
  id           INTEGER PRIMARY KEY,
  feature_code TEXT NOT NULL,
  at           INTEGER NOT NULL,
  event        TEXT NOT NULL,
  detail       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS water_history_by_code ON water_history (feature_code, id);
CREATE TABLE IF NOT EXISTS water_work_orders (
  id           INTEGER PRIMARY KEY,
  feature_code TEXT NOT NULL,
  terminal_id  TEXT NOT NULL,
  reason       TEXT NOT NULL,
  opened_at    INTEGER NOT NULL,
  status       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS water_photos (
  id           INTEGER PRIMARY KEY,
  terminal_id  TEXT NOT NULL,
  taken_at     INTEGER NOT NULL,
  value        TEXT NOT NULL,
  unreadable   TEXT NOT NULL,
  outcome      TEXT NOT NULL,
  received_at  INTEGER NOT NULL
);
)sql";

// Version 2: the maintenance state of each meter (a case under way survives a restart). Also the
// in-place migration from version 1, whose tables are all kept as they are.
constexpr char kCreateV2[] = R"sql(
CREATE TABLE IF NOT EXISTS water_case_states (
  feature_code TEXT PRIMARY KEY,
  state        TEXT NOT NULL,
  updated_at   INTEGER NOT NULL
);
)sql";

constexpr std::string_view kArea = "water store";

using area_db::Statement;

class SqliteWaterStore final : public WaterStore {
 public:
  explicit SqliteWaterStore(sqlite3* db) : db_(db) {}
  ~SqliteWaterStore() override { sqlite3_close_v2(db_); }

  Status PutPair(const WaterPairRecord& p) override {
    std::lock_guard lock(mu_);
    // A terminal re-registered with another flowmeter replaces its row; a flowmeter or feature
    // code of ANOTHER terminal is a conflict (UNIQUE constraint).
    Statement del(db_, kArea, "DELETE FROM water_pairs WHERE terminal_id = ?1");
    Statement ins(db_, kArea, "INSERT INTO water_pairs (terminal_id, feature_code, flowmeter_id, phone, updated_at) VALUES (?1,?2,?3,?4,?5)");
    // A savepoint, not BEGIN: it nests inside a Batch's transaction.
    MH_RETURN_IF_ERROR(Exec("SAVEPOINT put_pair"));
    Status s = del.Text(1, p.terminal_id).Run("put pair");
    if (s.ok()) {
      s = ins.Text(1, p.terminal_id).Text(2, p.feature_code).Text(3, p.flowmeter_id).Text(4, p.phone).Int(5, p.updated_at).Run("put pair");
    }
    if (!s.ok()) {
      (void)Exec("ROLLBACK TO put_pair");
      (void)Exec("RELEASE put_pair");
      if (s.code() == StatusCode::kAlreadyExists) {
        return AlreadyExists("flowmeter '" + p.flowmeter_id + "' or feature code '" + p.feature_code +
                             "' is already paired with another terminal");
      }
      return s;
    }
    return Exec("RELEASE put_pair");
  }

  Result<std::optional<WaterPairRecord>> GetPair(const std::string& terminal_id) override {
    std::lock_guard lock(mu_);
    std::optional<WaterPairRecord> out;
    Statement s(db_, kArea, "SELECT terminal_id, feature_code, flowmeter_id, phone, updated_at FROM water_pairs WHERE terminal_id = ?1");
    MH_RETURN_IF_ERROR(s.Text(1, terminal_id).Run("get pair", [&](const Statement& r) { out = PairFrom(r); }));
    return out;
  }

  Result<std::vector<WaterPairRecord>> ListPairs() override {
    std::lock_guard lock(mu_);
    std::vector<WaterPairRecord> out;
    Statement s(db_, kArea, "SELECT terminal_id, feature_code, flowmeter_id, phone, updated_at FROM water_pairs ORDER BY terminal_id");
    MH_RETURN_IF_ERROR(s.Run("list pairs", [&](const Statement& r) { out.push_back(PairFrom(r)); }));
    return out;
  }

  Result<int64_t> AddFrame(const WaterFrameRecord& f) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT INTO water_frames (feature_code, device_id, kind, relayed, start, end_ts, received_at, payload)"
                " VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
    MH_RETURN_IF_ERROR(s.Text(1, f.feature_code).Text(2, f.device_id).Text(3, f.kind).Int(4, f.relayed ? 1 : 0)
                           .Int(5, f.start).Int(6, f.end).Int(7, f.received_at).Blob(8, f.payload).Run("add frame"));
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<WaterFrameRecord>> ListFrames(const std::string& feature_code, const std::string& device_id,
                                                   int64_t from, int64_t to) override {
    std::lock_guard lock(mu_);
    std::vector<WaterFrameRecord> out;
    Statement s(db_, kArea, "SELECT id, feature_code, device_id, kind, relayed, start, end_ts, received_at, payload FROM water_frames"
                " WHERE feature_code = ?1 AND (?2 = '' OR device_id = ?2) AND end_ts > ?3 AND start < ?4 ORDER BY start, id");
    MH_RETURN_IF_ERROR(s.Text(1, feature_code).Text(2, device_id).Int(3, from).Int(4, to).Run("list frames", [&](const Statement& r) {
      WaterFrameRecord f;
      f.id = r.ColInt(0);
      f.feature_code = r.ColText(1);
      f.device_id = r.ColText(2);
      f.kind = r.ColText(3);
      f.relayed = r.ColInt(4) != 0;
      f.start = r.ColInt(5);
      f.end = r.ColInt(6);
      f.received_at = r.ColInt(7);
      f.payload = r.ColText(8);
      out.push_back(std::move(f));
    }));
    return out;
  }

  Status PutWindow(const WaterWindowRecord& w) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT OR REPLACE INTO water_windows (feature_code, window_start, window_s, verdict, form, pairs, parameters,"
                " reason, checked_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    return s.Text(1, w.feature_code).Int(2, w.window_start).Int(3, w.window_s).Text(4, w.verdict).Text(5, w.form)
        .Int(6, w.pairs).Text(7, w.parameters).Text(8, w.reason).Int(9, w.checked_at).Run("put window");
  }

  Result<std::vector<WaterWindowRecord>> ListWindows(const std::string& feature_code, int64_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<WaterWindowRecord> out;
    Statement s(db_, kArea, "SELECT feature_code, window_start, window_s, verdict, form, pairs, parameters, reason, checked_at"
                " FROM (SELECT * FROM water_windows WHERE feature_code = ?1 ORDER BY window_start DESC LIMIT ?2)"
                " ORDER BY window_start");
    MH_RETURN_IF_ERROR(s.Text(1, feature_code).Int(2, limit <= 0 ? -1 : limit).Run("list windows", [&](const Statement& r) {
      WaterWindowRecord w;
      w.feature_code = r.ColText(0);
      w.window_start = r.ColInt(1);
      w.window_s = r.ColInt(2);
      w.verdict = r.ColText(3);
      w.form = r.ColText(4);
      w.pairs = static_cast<int>(r.ColInt(5));
      w.parameters = r.ColText(6);
      w.reason = r.ColText(7);
      w.checked_at = r.ColInt(8);
      out.push_back(std::move(w));
    }));
    return out;
  }

  Status PutCommand(const WaterCommandRecord& c) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT OR REPLACE INTO water_commands (command_id, feature_code, terminal_id, source, issued_at, expires_at,"
                " correction, status, acked_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    return s.Text(1, c.command_id).Text(2, c.feature_code).Text(3, c.terminal_id).Text(4, c.source).Int(5, c.issued_at)
        .Int(6, c.expires_at).Text(7, c.correction).Text(8, c.status).Int(9, c.acked_at).Run("put command");
  }

  Result<std::optional<WaterCommandRecord>> GetCommand(const std::string& command_id) override {
    std::lock_guard lock(mu_);
    std::optional<WaterCommandRecord> out;
    Statement s(db_, kArea, (std::string(kCommandColumns) + " WHERE command_id = ?1").c_str());
    MH_RETURN_IF_ERROR(s.Text(1, command_id).Run("get command", [&](const Statement& r) { out = CommandFrom(r); }));
    return out;
  }

  Result<std::vector<WaterCommandRecord>> ListCommands(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    std::vector<WaterCommandRecord> out;
    Statement s(db_, kArea, (std::string(kCommandColumns) + " WHERE feature_code = ?1 ORDER BY issued_at, rowid").c_str());
    MH_RETURN_IF_ERROR(s.Text(1, feature_code).Run("list commands", [&](const Statement& r) { out.push_back(CommandFrom(r)); }));
    return out;
  }

  Result<int64_t> AppendHistory(const WaterHistoryRecord& h) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT INTO water_history (feature_code, at, event, detail) VALUES (?1,?2,?3,?4)");
    MH_RETURN_IF_ERROR(s.Text(1, h.feature_code).Int(2, h.at).Text(3, h.event).Text(4, h.detail).Run("append history"));
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<WaterHistoryRecord>> ListHistory(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    std::vector<WaterHistoryRecord> out;
    Statement s(db_, kArea, "SELECT id, feature_code, at, event, detail FROM water_history WHERE feature_code = ?1 ORDER BY id");
    MH_RETURN_IF_ERROR(s.Text(1, feature_code).Run("list history", [&](const Statement& r) {
      out.push_back({r.ColInt(0), r.ColText(1), r.ColInt(2), r.ColText(3), r.ColText(4)});
    }));
    return out;
  }

  Result<int64_t> AddWorkOrder(const WaterWorkOrderRecord& o) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT INTO water_work_orders (feature_code, terminal_id, reason, opened_at, status) VALUES (?1,?2,?3,?4,?5)");
    MH_RETURN_IF_ERROR(s.Text(1, o.feature_code).Text(2, o.terminal_id).Text(3, o.reason).Int(4, o.opened_at)
                           .Text(5, o.status.empty() ? "open" : o.status).Run("add work order"));
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status SetWorkOrderStatus(int64_t id, const std::string& status) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "UPDATE water_work_orders SET status = ?2 WHERE id = ?1");
    MH_RETURN_IF_ERROR(s.Int(1, id).Text(2, status).Run("set work order status"));
    if (sqlite3_changes(db_) == 0) return NotFound("no work order " + std::to_string(id));
    return Status::Ok();
  }

  Result<std::vector<WaterWorkOrderRecord>> ListWorkOrders(const std::string& status) override {
    std::lock_guard lock(mu_);
    std::vector<WaterWorkOrderRecord> out;
    Statement s(db_, kArea, "SELECT id, feature_code, terminal_id, reason, opened_at, status FROM water_work_orders"
                " WHERE ?1 = '' OR status = ?1 ORDER BY id");
    MH_RETURN_IF_ERROR(s.Text(1, status).Run("list work orders", [&](const Statement& r) {
      out.push_back({r.ColInt(0), r.ColText(1), r.ColText(2), r.ColText(3), r.ColInt(4), r.ColText(5)});
    }));
    return out;
  }

  Result<int64_t> AddPhoto(const WaterPhotoRecord& p) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT INTO water_photos (terminal_id, taken_at, value, unreadable, outcome, received_at) VALUES (?1,?2,?3,?4,?5,?6)");
    MH_RETURN_IF_ERROR(s.Text(1, p.terminal_id).Int(2, p.taken_at).Text(3, p.value).Text(4, p.unreadable).Text(5, p.outcome)
                           .Int(6, p.received_at).Run("add photo"));
    return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::vector<WaterPhotoRecord>> ListPhotos(const std::string& terminal_id) override {
    std::lock_guard lock(mu_);
    std::vector<WaterPhotoRecord> out;
    Statement s(db_, kArea, "SELECT id, terminal_id, taken_at, value, unreadable, outcome, received_at FROM water_photos"
                " WHERE terminal_id = ?1 ORDER BY taken_at, id");
    MH_RETURN_IF_ERROR(s.Text(1, terminal_id).Run("list photos", [&](const Statement& r) {
      out.push_back({r.ColInt(0), r.ColText(1), r.ColInt(2), r.ColText(3), r.ColText(4), r.ColText(5), r.ColInt(6)});
    }));
    return out;
  }

  Status PutCaseState(const WaterCaseStateRecord& c) override {
    std::lock_guard lock(mu_);
    Statement s(db_, kArea, "INSERT OR REPLACE INTO water_case_states (feature_code, state, updated_at) VALUES (?1,?2,?3)");
    return s.Text(1, c.feature_code).Text(2, c.state).Int(3, c.updated_at).Run("put case state");
  }

  Result<std::optional<WaterCaseStateRecord>> GetCaseState(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    std::optional<WaterCaseStateRecord> out;
    Statement s(db_, kArea, "SELECT feature_code, state, updated_at FROM water_case_states WHERE feature_code = ?1");
    MH_RETURN_IF_ERROR(s.Text(1, feature_code).Run("get case state", [&](const Statement& r) {
      out = WaterCaseStateRecord{r.ColText(0), r.ColText(1), r.ColInt(2)};
    }));
    return out;
  }

  Status Batch(const std::function<Status()>& body) override {
    std::lock_guard lock(mu_);
    if (batch_depth_ > 0) {  // joins the outer transaction
      ++batch_depth_;
      Status s = body();
      --batch_depth_;
      if (!s.ok()) batch_failed_ = true;
      return s;
    }
    MH_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    batch_depth_ = 1;
    batch_failed_ = false;
    Status s = body();
    batch_depth_ = 0;
    if (s.ok() && batch_failed_) s = Internal("sqlite water store: a nested batch failed");
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok() && sqlite3_get_autocommit(db_) == 0) (void)Exec("ROLLBACK");
    return s;
  }

 private:
  static constexpr const char* kCommandColumns =
      "SELECT command_id, feature_code, terminal_id, source, issued_at, expires_at, correction, status, acked_at FROM water_commands";

  static WaterPairRecord PairFrom(const Statement& r) { return {r.ColText(0), r.ColText(1), r.ColText(2), r.ColText(3), r.ColInt(4)}; }
  static WaterCommandRecord CommandFrom(const Statement& r) {
    return {r.ColText(0), r.ColText(1), r.ColText(2), r.ColText(3), r.ColInt(4), r.ColInt(5), r.ColText(6), r.ColText(7),
            r.ColInt(8)};
  }
  Status Exec(const char* sql) { return area_db::Exec(db_, sql, kArea, sql); }

  // Recursive: a Batch holds it for its whole body, whose calls take it again.
  std::recursive_mutex mu_;
  int batch_depth_ = 0;        // guarded by mu_
  bool batch_failed_ = false;  // guarded by mu_: a nested Batch failed
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<WaterStore>> OpenSqliteWaterStore(const SqliteWaterOptions& options) {
  area_db::OpenOptions open;
  open.path = options.path;
  open.busy_timeout_ms = options.busy_timeout_ms;
  open.synchronous = options.synchronous;
  MH_ASSIGN_OR_RETURN(sqlite3* db, area_db::Open(open, kArea));
  auto store = std::make_unique<SqliteWaterStore>(db);  // owns db from here
  // New databases get every table; version 1 gets the water_case_states table (1 → 2).
  const std::string latest = std::string(kCreateTables) + kCreateV2;
  Result<int> version = area_db::CreateSchema(db, kArea, latest.c_str(), "water", kWaterSchemaVersion, {{2, kCreateV2}});
  if (!version.ok()) return version.status().WithContext(options.path);
  return std::unique_ptr<WaterStore>(std::move(store));
}

}  // namespace mh::store
