// What the audit server keeps besides the ledger (SPEC 4.5): each meter's latest segments as the
// meter sent them (fixed image, dynamic segment, comparison table), what commissioning set for a
// meter besides the ledger's code and table (user attribute, region) with the server's state of
// it (missed segment requests, the last cycle length sent), every audit result, and the
// inspection orders opened on alarms with their delivery state. Backends: memory (tests), SQLite
// (sqlite/sqlite_audit_store, its own connection to the main database file) and PostgreSQL
// (postgres/pg_audit_store); all pass audit_store_conformance.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::store {

struct AuditSegments {
  std::string meter_id;
  std::string fixed_image;   // bytes, docs/formats/audit.md "Fixed segment image"
  std::string dynamic_text;  // the dynamic segment (mh-dynamic 1)
  std::string compare_text;  // the comparison table (mh-compare 1)
  int64_t received_at = 0;   // UTC epoch seconds
  bool operator==(const AuditSegments&) const = default;
};

struct AuditMeterRow {
  std::string meter_id;
  std::string user_attribute = "residential";  // "enterprise" (Q = 1) | "residential" (Q = 3), SPEC 4.1
  std::string region;          // the 9-digit region code given at commissioning; empty: none given
  int64_t commissioned_at = 0; // UTC epoch seconds (of the latest commissioning)
  int silent_misses = 0;       // segment requests in a row the meter did not answer
  int cycle_d = 0;             // the last cycle length D sent to the meter (0: none yet)
  int64_t cycle_from = 0;      // the local day it applies from
  int64_t cycle_sent_at = 0;   // UTC epoch seconds
  bool operator==(const AuditMeterRow&) const = default;
};

struct AuditResultRow {
  int64_t id = 0;            // assigned by AddResult, from 1
  std::string meter_id;
  int64_t audited_at = 0;    // UTC epoch seconds
  std::string trigger;       // "request" | "schedule" | "export"
  bool pass = false;
  std::vector<std::string> alarms;  // contract lines: "code-alarm line 7", "time-alarm window 1", "ledger-alarm"
  std::vector<std::string> reasons; // one per alarm: "<line>: <detail>"
  std::string order_id;             // the inspection order opened, if any
  std::string segments;             // "fresh" (fetched for this audit) | "stored" | "" (none: silence only)
  bool silent = false;              // the meter did not answer the request for its segments
  std::vector<std::string> notes;   // what was ignored or noticed, e.g. the meter's own comparison table
  bool operator==(const AuditResultRow&) const = default;
};

struct InspectionOrderRow {
  std::string id;            // "INS-<meter>-<t>"
  std::string meter_id;
  int64_t created_at = 0;
  std::string priority;      // "high" | "normal"
  std::string summary;
  std::string content;       // the order as JSON (what the channels send)
  std::string state;         // "open" (not sent yet) | "sent" | "failed"
  int attempts = 0;
  std::string last_error;
  bool operator==(const InspectionOrderRow&) const = default;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Keeps the meter's latest segments (replacing the previous ones).
  virtual Status PutSegments(const AuditSegments& segments) = 0;
  virtual Result<std::optional<AuditSegments>> GetSegments(const std::string& meter_id) = 0;
  // Meters that sent segments, by id.
  virtual Result<std::vector<std::string>> MetersWithSegments() = 0;
  // Inserts or replaces the meter's row.
  virtual Status PutMeter(const AuditMeterRow& meter) = 0;
  virtual Result<std::optional<AuditMeterRow>> GetMeter(const std::string& meter_id) = 0;
  // The meters commissioned with `region`, by id.
  virtual Result<std::vector<std::string>> MetersInRegion(const std::string& region) = 0;
  // Returns the new row's id (1, 2, …).
  virtual Result<int64_t> AddResult(const AuditResultRow& row) = 0;
  // Newest first; all meters when meter_id is empty; at most `limit`.
  virtual Result<std::vector<AuditResultRow>> Results(const std::string& meter_id, int limit) = 0;
  // Inserts or replaces the order with that id.
  virtual Status PutOrder(const InspectionOrderRow& order) = 0;
  virtual Result<std::optional<InspectionOrderRow>> GetOrder(const std::string& id) = 0;
  // Newest first, at most `limit`; only those in `state` unless it is empty.
  virtual Result<std::vector<InspectionOrderRow>> Orders(const std::string& state, int limit) = 0;
};

std::unique_ptr<AuditStore> NewMemoryAuditStore();

}  // namespace mh::store
