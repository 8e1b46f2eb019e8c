// Where a deployment's stores live — a SQLite file path or a postgresql:// URL — turned into the
// stores, in this one place: commands and offline tools pass the location along and never pick
// a backend themselves (app/store_config.h makes the location from [store]).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/audit_store.h"
#include "store/ledger_store.h"
#include "store/store.h"
#include "store/water_store.h"

namespace mh::store {

// True for "postgresql://…" and "postgres://…" (libpq's URI forms).
bool IsPostgresUrl(std::string_view location);

struct StoreLocation {
  std::string location;               // SQLite file path, or a PostgreSQL URL
  std::string synchronous = "full";   // SQLite only ("full" | "normal"); PostgreSQL commits are always synchronous
  int64_t max_size_bytes = 0;         // SQLite only; 0 = no limit
};

Result<std::unique_ptr<Store>> OpenMainStore(const StoreLocation& at);
// read_only: the offline verifier's view (an existing ledger; writes fail).
Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(const StoreLocation& at, bool read_only);
Result<std::unique_ptr<AuditStore>> OpenAuditStore(const StoreLocation& at, bool read_only);
Result<std::unique_ptr<WaterStore>> OpenWaterStore(const StoreLocation& at);

// The location for messages: a URL without its password.
std::string Describe(const StoreLocation& at);

}  // namespace mh::store
