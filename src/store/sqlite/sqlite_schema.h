// The main SQLite store's schema versions (docs/storage.md).
#pragma once

#include "base/status.h"
#include "store/sqlite/store_db.h"

namespace mh::store::sqlite_db {

int CurrentSchemaVersion();
// Creates the schema or brings it up to CurrentSchemaVersion(), one transaction per step; refuses
// a database of a newer version (FailedPrecondition).
Status Migrate(Connection& db);

}  // namespace mh::store::sqlite_db
