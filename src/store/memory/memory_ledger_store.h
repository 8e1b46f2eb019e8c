// A LedgerStore in memory: for tests and the benchmark; forgets everything when destroyed.
#pragma once

#include <memory>

#include "store/ledger_store.h"

namespace mh::store {

std::unique_ptr<LedgerStore> NewMemoryLedgerStore();

}  // namespace mh::store
