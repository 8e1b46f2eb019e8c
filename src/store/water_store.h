// Storage of water remote maintenance (seed 001, SPEC 3): the pairing table, received flow frames,
// each window's verdict and fitted parameters, the commands sent, the maintenance history, work
// orders and customer photos. Its own interface (like ledger_store.h) so the water area never
// touches store.h; SQLite backend in sqlite/sqlite_water_store.h, PostgreSQL backend in
// postgres/pg_water_store.h, contract in water_store_conformance.h.
//
// Contract for every backend: methods are thread-safe; every write is durable when it returns OK
// (inside Batch: when the Batch returns OK); lists come oldest first (by time, then id); `limit`
// <= 0 means no limit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::store {

// One row of the preset pairing table (claims 5, 6, 8).
struct WaterPairRecord {
  std::string terminal_id;
  std::string feature_code;   // derived from terminal_id (SPEC 0.1)
  std::string flowmeter_id;
  std::string phone;          // the bound user terminal; empty = none
  int64_t updated_at = 0;
};

// A flow frame as received, stored before its MQTT acknowledgement.
struct WaterFrameRecord {
  int64_t id = 0;              // assigned by the store
  std::string feature_code;
  std::string device_id;
  std::string kind;            // "terminal" | "flowmeter"
  bool relayed = false;
  int64_t start = 0;           // first sample instant
  int64_t end = 0;             // last sample instant + interval
  int64_t received_at = 0;
  std::string payload;         // the encoded frame (docs/formats/water-frame.md)
};

// The pre-check of one window and its fit (SPEC 3.3, 3.4). Keyed by (feature_code, window_start).
struct WaterWindowRecord {
  std::string feature_code;
  int64_t window_start = 0;
  int64_t window_s = 0;
  std::string verdict;         // none | steady | unsteady | too_few_pairs
  std::string form;            // "A" | "B" | ""
  int pairs = 0;
  std::string parameters;      // JSON: the fitted mapping (model, a1, a2, se, r2, power ...)
  std::string reason;
  int64_t checked_at = 0;
};

// A maintenance command sent to a terminal. Keyed by command_id.
struct WaterCommandRecord {
  std::string command_id;
  std::string feature_code;
  std::string terminal_id;
  std::string source;          // "window" (fit) | "photo"
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::string correction;      // JSON {"model","a1","a2"} or {"model","a","b","c"}
  std::string status;          // issued | acknowledged
  int64_t acked_at = 0;
};

struct WaterHistoryRecord {
  int64_t id = 0;
  std::string feature_code;
  int64_t at = 0;
  std::string event;
  std::string detail;
};

struct WaterWorkOrderRecord {
  int64_t id = 0;
  std::string feature_code;
  std::string terminal_id;
  std::string reason;
  int64_t opened_at = 0;
  std::string status = "open";  // open | done
};

// A customer photo (SPEC 3.6): what was read and what came of the comparison.
struct WaterPhotoRecord {
  int64_t id = 0;
  std::string terminal_id;
  int64_t taken_at = 0;
  std::string value;           // the digits read; empty when unreadable
  std::string unreadable;      // the reason, empty when read
  std::string outcome;         // JSON: span, volumes, ratio, decision
  int64_t received_at = 0;
};

// The maintenance state of one meter (a case under way, its pooled samples, the correction in
// force), so that a daemon restart does not lose it. Keyed by feature_code; `state` is the water
// service's own serialisation (JSON), opaque to the store.
struct WaterCaseStateRecord {
  std::string feature_code;
  std::string state;
  int64_t updated_at = 0;
};

class WaterStore {
 public:
  virtual ~WaterStore() = default;

  // Insert or replace by terminal_id. AlreadyExists when the flowmeter or feature code belongs to
  // another terminal.
  virtual Status PutPair(const WaterPairRecord& pair) = 0;
  virtual Result<std::optional<WaterPairRecord>> GetPair(const std::string& terminal_id) = 0;
  virtual Result<std::vector<WaterPairRecord>> ListPairs() = 0;  // ordered by terminal_id

  // Returns the id. Frames whose [start, end) overlaps [from, to) of `device_id` (empty = any), by start.
  virtual Result<int64_t> AddFrame(const WaterFrameRecord& frame) = 0;
  virtual Result<std::vector<WaterFrameRecord>> ListFrames(const std::string& feature_code, const std::string& device_id,
                                                           int64_t from, int64_t to) = 0;

  virtual Status PutWindow(const WaterWindowRecord& window) = 0;
  // Newest `limit` windows of the meter, returned oldest first.
  virtual Result<std::vector<WaterWindowRecord>> ListWindows(const std::string& feature_code, int64_t limit) = 0;

  virtual Status PutCommand(const WaterCommandRecord& command) = 0;
  virtual Result<std::optional<WaterCommandRecord>> GetCommand(const std::string& command_id) = 0;
  virtual Result<std::vector<WaterCommandRecord>> ListCommands(const std::string& feature_code) = 0;

  // Returns the id.
  virtual Result<int64_t> AppendHistory(const WaterHistoryRecord& record) = 0;
  virtual Result<std::vector<WaterHistoryRecord>> ListHistory(const std::string& feature_code) = 0;

  virtual Result<int64_t> AddWorkOrder(const WaterWorkOrderRecord& order) = 0;
  // NotFound when there is no such work order.
  virtual Status SetWorkOrderStatus(int64_t id, const std::string& status) = 0;
  // status empty = all.
  virtual Result<std::vector<WaterWorkOrderRecord>> ListWorkOrders(const std::string& status) = 0;

  virtual Result<int64_t> AddPhoto(const WaterPhotoRecord& photo) = 0;
  virtual Result<std::vector<WaterPhotoRecord>> ListPhotos(const std::string& terminal_id) = 0;

  // Insert or replace by feature_code.
  virtual Status PutCaseState(const WaterCaseStateRecord& state) = 0;
  virtual Result<std::optional<WaterCaseStateRecord>> GetCaseState(const std::string& feature_code) = 0;

  // Runs `body` (which calls this store's methods) as ONE transaction: its writes become durable
  // together when Batch returns OK (one fsync for a durable file, not one per write), and none of
  // them lands when `body` fails (its error is returned) or the commit fails. Other threads'
  // calls wait until the batch ends. A Batch inside a body joins the outer one; if it fails, the
  // outer one fails too, even if its body ignores the error.
  virtual Status Batch(const std::function<Status()>& body) = 0;
};

}  // namespace mh::store
