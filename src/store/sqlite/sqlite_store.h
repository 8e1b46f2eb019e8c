// The embedded default store: one SQLite file in WAL mode.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace mh::store {

struct SqliteOptions {
  std::string path = "meterhub.db";
  // "full": every commit fsync'd (survives power loss); "normal": survives a process crash only.
  std::string synchronous = "full";
  int busy_timeout_ms = 5000;
  // The database stops growing at this size (SQLite's max_page_count): writes beyond it fail as on
  // a full disk (kStorageFull). 0 = no limit.
  int64_t max_size_bytes = 0;
};

// Opens (creating and migrating as needed) the database at options.path.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

}  // namespace mh::store
