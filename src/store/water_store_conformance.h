// The conformance suite every WaterStore backend must pass: one set of tests, parameterised by a
// factory that makes a fresh, empty water store in a scratch directory.
//   INSTANTIATE_TEST_SUITE_P(Sqlite, WaterStoreConformanceTest,
//                            ::testing::Values(WaterStoreBackend{"file", MakeMyStore}), WaterStoreBackendName);
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "base/status.h"
#include "store/water_store.h"

namespace mh::store::conformance {

using WaterStoreFactory = std::function<Result<std::unique_ptr<WaterStore>>(const std::string& scratch_dir)>;

struct WaterStoreBackend {
  std::string name;  // letters, digits and '_' only
  WaterStoreFactory make;
};

std::string WaterStoreBackendName(const ::testing::TestParamInfo<WaterStoreBackend>& info);
void PrintTo(const WaterStoreBackend& backend, std::ostream* out);

class WaterStoreConformanceTest : public ::testing::TestWithParam<WaterStoreBackend> {
 protected:
  // Out of line on purpose: referencing this class pulls the suite's TEST_Ps out of the library.
  void SetUp() override;
  void TearDown() override;
  WaterStore& store() { return *store_; }
  const std::string& scratch_dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<WaterStore> store_;
};

}  // namespace mh::store::conformance
