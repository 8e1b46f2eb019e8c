// The in-memory ledger store passes the shared ledger store conformance suite.
#include "store/memory/memory_ledger_store.h"

#include "store/ledger_store_conformance.h"

namespace mh::store {
namespace {

using conformance::LedgerStoreBackend;
using conformance::LedgerStoreBackendName;
using conformance::LedgerStoreConformanceTest;

INSTANTIATE_TEST_SUITE_P(Memory, LedgerStoreConformanceTest,
                         ::testing::Values(LedgerStoreBackend{
                             "memory",
                             [](const std::string&) -> Result<std::unique_ptr<LedgerStore>> {
                               return NewMemoryLedgerStore();
                             }}),
                         LedgerStoreBackendName);

}  // namespace
}  // namespace mh::store
