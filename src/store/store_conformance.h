// The conformance suite every Store backend must pass (SQLite now, PostgreSQL next): one set of
// tests, parameterised by a factory that makes a fresh, empty store for each test.
//
// A backend's test file instantiates it:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(StoreBackend{"file", MakeMySqliteStore}),
//                            StoreBackendName);
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "base/status.h"
#include "store/store.h"

namespace mh::store::conformance {

// Makes a fresh, empty store. `scratch_dir` exists for the duration of one test and is removed
// after it; file-based backends keep their files there, server backends may ignore it (and must
// then hand out an empty database or schema of their own).
using StoreFactory = std::function<Result<std::unique_ptr<Store>>(const std::string& scratch_dir)>;

struct StoreBackend {
  std::string name;  // part of the test name: letters, digits and '_' only
  StoreFactory make;
  bool durable = true;  // false: a reopened store starts empty (":memory:"); reopen tests skip
};

// An alert with one pending webhook delivery, as the pipeline writes them (the suite's and the
// backends' migration tests').
NewAlert SampleAlert(const std::string& meter, const std::string& terminal, int64_t period_start, int64_t ts,
                     int64_t next_attempt_at = 0);

// Names instantiated tests after the backend, e.g. Sqlite/StoreConformanceTest.Tokens/file.
std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info);
void PrintTo(const StoreBackend& backend, std::ostream* out);

// A directory made for one test and removed, with everything in it, when this goes away.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }  // empty if it could not be made

 private:
  std::string path_;
};

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  // Out of line on purpose: referencing this class from a backend's test then pulls the suite's
  // object file (and with it every TEST_P) out of the static library.
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  const std::string& scratch_dir() const { return dir_->path(); }
  // Closes the store and opens it again on the same scratch directory (a restart).
  void Reopen();

 private:
  std::unique_ptr<ScopedTempDir> dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace mh::store::conformance
