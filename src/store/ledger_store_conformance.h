// The conformance suite every LedgerStore backend must pass (memory, SQLite, PostgreSQL): one set of
// tests, parameterised by a factory that makes a fresh, empty ledger store for each test.
//
// A backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, LedgerStoreConformanceTest,
//                            ::testing::Values(LedgerStoreBackend{"file", MakeMyStore}),
//                            LedgerStoreBackendName);
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "base/status.h"
#include "store/ledger_store.h"

namespace mh::store::conformance {

// Makes a fresh, empty ledger store; `scratch_dir` exists for the duration of one test.
using LedgerStoreFactory = std::function<Result<std::unique_ptr<LedgerStore>>(const std::string& scratch_dir)>;

struct LedgerStoreBackend {
  std::string name;  // part of the test name: letters, digits and '_' only
  LedgerStoreFactory make;
};

std::string LedgerStoreBackendName(const ::testing::TestParamInfo<LedgerStoreBackend>& info);
void PrintTo(const LedgerStoreBackend& backend, std::ostream* out);

// A directory made for one test and removed, with everything in it, when this goes away.
class LedgerScratchDir {
 public:
  LedgerScratchDir();
  ~LedgerScratchDir();
  LedgerScratchDir(const LedgerScratchDir&) = delete;
  LedgerScratchDir& operator=(const LedgerScratchDir&) = delete;
  const std::string& path() const { return path_; }  // empty if it could not be made

 private:
  std::string path_;
};

class LedgerStoreConformanceTest : public ::testing::TestWithParam<LedgerStoreBackend> {
 protected:
  // Out of line on purpose: referencing this class pulls the suite's TEST_Ps out of the library.
  void SetUp() override;
  void TearDown() override;

  LedgerStore& store() { return *store_; }
  const std::string& scratch_dir() const { return dir_->path(); }

 private:
  std::unique_ptr<LedgerScratchDir> dir_;
  std::unique_ptr<LedgerStore> store_;
};

}  // namespace mh::store::conformance
