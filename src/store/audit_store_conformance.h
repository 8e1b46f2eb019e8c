// The conformance suite every AuditStore backend must pass (memory, SQLite, PostgreSQL), parameterised by
// a factory that makes a fresh, empty store in a scratch directory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/audit_store.h"

namespace mh::store::conformance {

using AuditStoreFactory = std::function<Result<std::unique_ptr<AuditStore>>(const std::string& scratch_dir)>;

struct AuditStoreBackend {
  std::string name;  // letters, digits, '_'
  AuditStoreFactory make;
};

inline std::string AuditStoreBackendName(const ::testing::TestParamInfo<AuditStoreBackend>& info) { return info.param.name; }

class AuditStoreConformanceTest : public ::testing::TestWithParam<AuditStoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::string dir_;
  std::unique_ptr<AuditStore> store_;
};

}  // namespace mh::store::conformance
