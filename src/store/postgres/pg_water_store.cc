#include "store/postgres/pg_water_store.h"

#include <mutex>

#include "store/postgres/pg_db.h"

namespace mh::store {
namespace {

using pg::Params;
using pg::Rows;
using pg::Statement;

// Version 2 of the SQLite schema. `seq` orders commands as SQLite's rowid does (a replaced
// command moves to the end).
constexpr char kSchema[] = R"sql(
CREATE TABLE water_pairs (
  terminal_id TEXT PRIMARY KEY, feature_code TEXT NOT NULL UNIQUE, flowmeter_id TEXT NOT NULL UNIQUE,
  phone TEXT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE water_frames (
  id BIGSERIAL PRIMARY KEY, feature_code TEXT NOT NULL, device_id TEXT NOT NULL, kind TEXT NOT NULL,
  relayed BOOLEAN NOT NULL, start BIGINT NOT NULL, end_ts BIGINT NOT NULL, received_at BIGINT NOT NULL,
  payload BYTEA NOT NULL);
CREATE INDEX water_frames_by_code ON water_frames (feature_code, start);
CREATE TABLE water_windows (
  feature_code TEXT NOT NULL, window_start BIGINT NOT NULL, window_s BIGINT NOT NULL, verdict TEXT NOT NULL,
  form TEXT NOT NULL, pairs INTEGER NOT NULL, parameters TEXT NOT NULL, reason TEXT NOT NULL, checked_at BIGINT NOT NULL,
  PRIMARY KEY (feature_code, window_start));
CREATE TABLE water_commands (
  command_id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL, feature_code TEXT NOT NULL, terminal_id TEXT NOT NULL,
  source TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, correction TEXT NOT NULL,
  status TEXT NOT NULL, acked_at BIGINT NOT NULL);
CREATE INDEX water_commands_by_code ON water_commands (feature_code, issued_at, seq);
CREATE TABLE water_history (
  id BIGSERIAL PRIMARY KEY, feature_code TEXT NOT NULL, at BIGINT NOT NULL, event TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX water_history_by_code ON water_history (feature_code, id);
CREATE TABLE water_work_orders (
  id BIGSERIAL PRIMARY KEY, feature_code TEXT NOT NULL, terminal_id TEXT NOT NULL, reason TEXT NOT NULL,
  opened_at BIGINT NOT NULL, status TEXT NOT NULL);
CREATE TABLE water_photos (
  id BIGSERIAL PRIMARY KEY, terminal_id TEXT NOT NULL, taken_at BIGINT NOT NULL, value TEXT NOT NULL,
  unreadable TEXT NOT NULL, outcome TEXT NOT NULL, received_at BIGINT NOT NULL);
CREATE INDEX water_photos_by_terminal ON water_photos (terminal_id, taken_at, id);
CREATE TABLE water_case_states (
  feature_code TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at BIGINT NOT NULL);
)sql";


const Statement kDeletePair{"water_delete_pair", "DELETE FROM water_pairs WHERE terminal_id = $1"};
const Statement kInsertPair{"water_insert_pair",
                            "INSERT INTO water_pairs (terminal_id, feature_code, flowmeter_id, phone, updated_at)"
                            " VALUES ($1, $2, $3, $4, $5)"};
const Statement kGetPair{"water_get_pair",
                         "SELECT terminal_id, feature_code, flowmeter_id, phone, updated_at FROM water_pairs WHERE terminal_id = $1"};
const Statement kListPairs{"water_list_pairs",
                           "SELECT terminal_id, feature_code, flowmeter_id, phone, updated_at FROM water_pairs ORDER BY terminal_id"};
const Statement kAddFrame{"water_add_frame",
                          "INSERT INTO water_frames (feature_code, device_id, kind, relayed, start, end_ts, received_at, payload)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"};
const Statement kListFrames{"water_list_frames",
                            "SELECT id, feature_code, device_id, kind, relayed, start, end_ts, received_at, payload FROM water_frames"
                            " WHERE feature_code = $1 AND ($2 = '' OR device_id = $2) AND end_ts > $3 AND start < $4"
                            " ORDER BY start, id"};
const Statement kPutWindow{"water_put_window",
                           "INSERT INTO water_windows (feature_code, window_start, window_s, verdict, form, pairs, parameters,"
                           " reason, checked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                           " ON CONFLICT (feature_code, window_start) DO UPDATE SET window_s = excluded.window_s,"
                           " verdict = excluded.verdict, form = excluded.form, pairs = excluded.pairs,"
                           " parameters = excluded.parameters, reason = excluded.reason, checked_at = excluded.checked_at"};
const Statement kListWindows{"water_list_windows",
                             "SELECT feature_code, window_start, window_s, verdict, form, pairs, parameters, reason, checked_at"
                             " FROM (SELECT * FROM water_windows WHERE feature_code = $1 ORDER BY window_start DESC LIMIT $2) w"
                             " ORDER BY window_start"};
const Statement kPutCommand{"water_put_command",
                            "INSERT INTO water_commands (command_id, feature_code, terminal_id, source, issued_at, expires_at,"
                            " correction, status, acked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                            " ON CONFLICT (command_id) DO UPDATE SET seq = excluded.seq, feature_code = excluded.feature_code,"
                            " terminal_id = excluded.terminal_id, source = excluded.source, issued_at = excluded.issued_at,"
                            " expires_at = excluded.expires_at, correction = excluded.correction, status = excluded.status,"
                            " acked_at = excluded.acked_at"};
const Statement kGetCommand{"water_get_command", "SELECT command_id, feature_code, terminal_id, source, issued_at, expires_at,"
                                                 " correction, status, acked_at FROM water_commands WHERE command_id = $1"};
const Statement kListCommands{"water_list_commands",
                              "SELECT command_id, feature_code, terminal_id, source, issued_at, expires_at, correction, status,"
                              " acked_at FROM water_commands WHERE feature_code = $1 ORDER BY issued_at, seq"};
const Statement kAppendHistory{"water_append_history",
                               "INSERT INTO water_history (feature_code, at, event, detail) VALUES ($1, $2, $3, $4) RETURNING id"};
const Statement kListHistory{"water_list_history",
                             "SELECT id, feature_code, at, event, detail FROM water_history WHERE feature_code = $1 ORDER BY id"};
const Statement kAddWorkOrder{"water_add_work_order",
                              "INSERT INTO water_work_orders (feature_code, terminal_id, reason, opened_at, status)"
                              " VALUES ($1, $2, $3, $4, $5) RETURNING id"};
const Statement kSetWorkOrderStatus{"water_set_work_order_status", "UPDATE water_work_orders SET status = $2 WHERE id = $1"};
const Statement kListWorkOrders{"water_list_work_orders",
                                "SELECT id, feature_code, terminal_id, reason, opened_at, status FROM water_work_orders"
                                " WHERE $1 = '' OR status = $1 ORDER BY id"};
const Statement kAddPhoto{"water_add_photo",
                          "INSERT INTO water_photos (terminal_id, taken_at, value, unreadable, outcome, received_at)"
                          " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"};
const Statement kListPhotos{"water_list_photos",
                            "SELECT id, terminal_id, taken_at, value, unreadable, outcome, received_at FROM water_photos"
                            " WHERE terminal_id = $1 ORDER BY taken_at, id"};
const Statement kPutCaseState{"water_put_case_state",
                              "INSERT INTO water_case_states (feature_code, state, updated_at) VALUES ($1, $2, $3)"
                              " ON CONFLICT (feature_code) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"};
const Statement kGetCaseState{"water_get_case_state",
                              "SELECT feature_code, state, updated_at FROM water_case_states WHERE feature_code = $1"};

const std::vector<Statement> kStatements = {
    kDeletePair, kInsertPair,  kGetPair,       kListPairs,       kAddFrame,           kListFrames,     kPutWindow,
    kListWindows, kPutCommand, kGetCommand,    kListCommands,    kAppendHistory,      kListHistory,    kAddWorkOrder,
    kSetWorkOrderStatus, kListWorkOrders, kAddPhoto, kListPhotos, kPutCaseState, kGetCaseState};

WaterPairRecord PairAt(const Rows& r, int i) { return {r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4)}; }
WaterCommandRecord CommandAt(const Rows& r, int i) {
  return {r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5), r.Text(i, 6), r.Text(i, 7), r.Int(i, 8)};
}

class PostgresWaterStore final : public WaterStore {
 public:
  explicit PostgresWaterStore(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}

  Status PutPair(const WaterPairRecord& p) override {
    std::lock_guard lock(mu_);
    // A terminal re-registered with another flowmeter replaces its row; a flowmeter or feature
    // code of ANOTHER terminal is a conflict (UNIQUE). Inside a Batch a savepoint keeps the
    // conflict from aborting the batch's transaction; outside, a transaction of its own.
    auto put = [&]() -> Status {
      MH_RETURN_IF_ERROR(db_->Run(kDeletePair, Params().Text(p.terminal_id), "put pair").status());
      return db_->Run(kInsertPair, Params().Text(p.terminal_id).Text(p.feature_code).Text(p.flowmeter_id).Text(p.phone).Int(p.updated_at),
                 "put pair")
          .status();
    };
    Status s;
    if (batch_depth_ > 0) {
      MH_RETURN_IF_ERROR(db_->Exec("SAVEPOINT put_pair", "put pair"));
      s = put();
      MH_RETURN_IF_ERROR(db_->Exec(s.ok() ? "RELEASE put_pair" : "ROLLBACK TO put_pair; RELEASE put_pair", "put pair"));
    } else {
      s = db_->Transaction(put);
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExists("flowmeter '" + p.flowmeter_id + "' or feature code '" + p.feature_code +
                           "' is already paired with another terminal");
    }
    return s;
  }

  Result<std::optional<WaterPairRecord>> GetPair(const std::string& terminal_id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetPair, Params().Text(terminal_id), "get pair"));
    if (r.empty()) return std::optional<WaterPairRecord>();
    return std::optional<WaterPairRecord>(PairAt(r, 0));
  }

  Result<std::vector<WaterPairRecord>> ListPairs() override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListPairs, Params(), "list pairs"));
    std::vector<WaterPairRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(PairAt(r, i));
    return out;
  }

  Result<int64_t> AddFrame(const WaterFrameRecord& f) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(f.feature_code).Text(f.device_id).Text(f.kind).Bool(f.relayed).Int(f.start).Int(f.end).Int(f.received_at).Bytes(f.payload);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kAddFrame, p, "add frame"));
    return r.Int(0, 0);
  }

  Result<std::vector<WaterFrameRecord>> ListFrames(const std::string& feature_code, const std::string& device_id, int64_t from,
                                                   int64_t to) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListFrames, Params().Text(feature_code).Text(device_id).Int(from).Int(to), "list frames"));
    std::vector<WaterFrameRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      WaterFrameRecord f;
      f.id = r.Int(i, 0);
      f.feature_code = r.Text(i, 1);
      f.device_id = r.Text(i, 2);
      f.kind = r.Text(i, 3);
      f.relayed = r.Int(i, 4) != 0;
      f.start = r.Int(i, 5);
      f.end = r.Int(i, 6);
      f.received_at = r.Int(i, 7);
      f.payload = r.Bytes(i, 8);
      out.push_back(std::move(f));
    }
    return out;
  }

  Status PutWindow(const WaterWindowRecord& w) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(w.feature_code).Int(w.window_start).Int(w.window_s).Text(w.verdict).Text(w.form).Int(w.pairs).Text(w.parameters);
    p.Text(w.reason).Int(w.checked_at);
    return db_->Run(kPutWindow, p, "put window").status();
  }

  Result<std::vector<WaterWindowRecord>> ListWindows(const std::string& feature_code, int64_t limit) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(feature_code).Limit(limit);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListWindows, p, "list windows"));
    std::vector<WaterWindowRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      WaterWindowRecord w;
      w.feature_code = r.Text(i, 0);
      w.window_start = r.Int(i, 1);
      w.window_s = r.Int(i, 2);
      w.verdict = r.Text(i, 3);
      w.form = r.Text(i, 4);
      w.pairs = static_cast<int>(r.Int(i, 5));
      w.parameters = r.Text(i, 6);
      w.reason = r.Text(i, 7);
      w.checked_at = r.Int(i, 8);
      out.push_back(std::move(w));
    }
    return out;
  }

  Status PutCommand(const WaterCommandRecord& c) override {
    std::lock_guard lock(mu_);
    Params p;
    p.Text(c.command_id).Text(c.feature_code).Text(c.terminal_id).Text(c.source).Int(c.issued_at).Int(c.expires_at);
    p.Text(c.correction).Text(c.status).Int(c.acked_at);
    return db_->Run(kPutCommand, p, "put command").status();
  }

  Result<std::optional<WaterCommandRecord>> GetCommand(const std::string& command_id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetCommand, Params().Text(command_id), "get command"));
    if (r.empty()) return std::optional<WaterCommandRecord>();
    return std::optional<WaterCommandRecord>(CommandAt(r, 0));
  }

  Result<std::vector<WaterCommandRecord>> ListCommands(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListCommands, Params().Text(feature_code), "list commands"));
    std::vector<WaterCommandRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(CommandAt(r, i));
    return out;
  }

  Result<int64_t> AppendHistory(const WaterHistoryRecord& h) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kAppendHistory, Params().Text(h.feature_code).Int(h.at).Text(h.event).Text(h.detail), "append history"));
    return r.Int(0, 0);
  }

  Result<std::vector<WaterHistoryRecord>> ListHistory(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListHistory, Params().Text(feature_code), "list history"));
    std::vector<WaterHistoryRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({r.Int(i, 0), r.Text(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4)});
    return out;
  }

  Result<int64_t> AddWorkOrder(const WaterWorkOrderRecord& o) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kAddWorkOrder,
                                    Params().Text(o.feature_code).Text(o.terminal_id).Text(o.reason).Int(o.opened_at).Text(
                                        o.status.empty() ? "open" : o.status),
                                    "add work order"));
    return r.Int(0, 0);
  }

  Status SetWorkOrderStatus(int64_t id, const std::string& status) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kSetWorkOrderStatus, Params().Int(id).Text(status), "set work order status"));
    if (r.affected() == 0) return NotFound("no work order " + std::to_string(id));
    return Status::Ok();
  }

  Result<std::vector<WaterWorkOrderRecord>> ListWorkOrders(const std::string& status) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListWorkOrders, Params().Text(status), "list work orders"));
    std::vector<WaterWorkOrderRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({r.Int(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Text(i, 5)});
    return out;
  }

  Result<int64_t> AddPhoto(const WaterPhotoRecord& p) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kAddPhoto,
                                    Params().Text(p.terminal_id).Int(p.taken_at).Text(p.value).Text(p.unreadable).Text(p.outcome).Int(
                                        p.received_at),
                                    "add photo"));
    return r.Int(0, 0);
  }

  Result<std::vector<WaterPhotoRecord>> ListPhotos(const std::string& terminal_id) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kListPhotos, Params().Text(terminal_id), "list photos"));
    std::vector<WaterPhotoRecord> out;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back({r.Int(i, 0), r.Text(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4), r.Text(i, 5), r.Int(i, 6)});
    }
    return out;
  }

  Status PutCaseState(const WaterCaseStateRecord& c) override {
    std::lock_guard lock(mu_);
    return db_->Run(kPutCaseState, Params().Text(c.feature_code).Text(c.state).Int(c.updated_at), "put case state").status();
  }

  Result<std::optional<WaterCaseStateRecord>> GetCaseState(const std::string& feature_code) override {
    std::lock_guard lock(mu_);
    MH_ASSIGN_OR_RETURN(Rows r, db_->Run(kGetCaseState, Params().Text(feature_code), "get case state"));
    if (r.empty()) return std::optional<WaterCaseStateRecord>();
    return std::optional<WaterCaseStateRecord>(WaterCaseStateRecord{r.Text(0, 0), r.Text(0, 1), r.Int(0, 2)});
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
    batch_depth_ = 1;
    batch_failed_ = false;
    Status s = db_->Transaction([&]() -> Status {
      Status b = body();
      if (b.ok() && batch_failed_) b = Internal("postgres water store: a nested batch failed");
      return b;
    });
    batch_depth_ = 0;
    return s;
  }

 private:
  // Recursive: a Batch holds it for its whole body, whose calls take it again.
  std::recursive_mutex mu_;
  int batch_depth_ = 0;        // guarded by mu_
  bool batch_failed_ = false;  // guarded by mu_: a nested Batch failed
  std::unique_ptr<pg::Connection> db_;
};

}  // namespace

Result<std::unique_ptr<WaterStore>> OpenPostgresWaterStore(const PostgresWaterOptions& options) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> db, pg::Connection::Open(options.url, "water store"));
  MH_ASSIGN_OR_RETURN(int version, db->CreateSchema(kSchema, "water", kPostgresWaterSchemaVersion));
  (void)version;
  MH_RETURN_IF_ERROR(db->Prepare(kStatements));
  return std::unique_ptr<WaterStore>(new PostgresWaterStore(std::move(db)));
}

}  // namespace mh::store
