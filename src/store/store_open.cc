#include "store/store_open.h"

#include "store/postgres/pg_audit_store.h"
#include "store/postgres/pg_ledger_store.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/pg_water_store.h"
#include "store/sqlite/sqlite_audit_store.h"
#include "store/sqlite/sqlite_ledger_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_water_store.h"

namespace mh::store {

bool IsPostgresUrl(std::string_view location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string Describe(const StoreLocation& at) {
  if (!IsPostgresUrl(at.location)) return at.location;
  // postgresql://user:secret@host/db → postgresql://user@host/db
  const std::string& u = at.location;
  const size_t scheme = u.find("://") + 3;
  const size_t at_sign = u.find('@', scheme);
  const size_t colon = u.find(':', scheme);
  if (at_sign == std::string::npos || colon == std::string::npos || colon > at_sign) return u;
  return u.substr(0, colon) + u.substr(at_sign);
}

Result<std::unique_ptr<Store>> OpenMainStore(const StoreLocation& at) {
  if (IsPostgresUrl(at.location)) return OpenPostgresStore(PostgresStoreOptions{at.location});
  SqliteOptions o;
  o.path = at.location;
  o.synchronous = at.synchronous;
  o.max_size_bytes = at.max_size_bytes;
  return OpenSqliteStore(o);
}

Result<std::unique_ptr<LedgerStore>> OpenLedgerStore(const StoreLocation& at, bool read_only) {
  if (IsPostgresUrl(at.location)) return OpenPostgresLedgerStore(PostgresLedgerOptions{at.location, read_only});
  SqliteLedgerOptions o;
  o.path = at.location;
  o.synchronous = at.synchronous;
  o.read_only = read_only;
  return OpenSqliteLedgerStore(o);
}

Result<std::unique_ptr<AuditStore>> OpenAuditStore(const StoreLocation& at, bool read_only) {
  if (IsPostgresUrl(at.location)) return OpenPostgresAuditStore(PostgresAuditOptions{at.location, read_only});
  SqliteAuditOptions o;
  o.path = at.location;
  o.read_only = read_only;
  return OpenSqliteAuditStore(o);
}

Result<std::unique_ptr<WaterStore>> OpenWaterStore(const StoreLocation& at) {
  if (IsPostgresUrl(at.location)) return OpenPostgresWaterStore(PostgresWaterOptions{at.location});
  SqliteWaterOptions o;
  o.path = at.location;
  o.synchronous = at.synchronous;
  return OpenSqliteWaterStore(o);
}

}  // namespace mh::store
