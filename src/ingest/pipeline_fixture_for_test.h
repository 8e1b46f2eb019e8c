// The ingest tests' fixture: a pipeline on an in-memory SQLite store, on a simulated clock.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include "base/clock.h"
#include "ingest/pipeline.h"
#include "store/sqlite/sqlite_store.h"

namespace mh::ingest {

class PipelineOnMemoryStoreTest : public ::testing::Test {
 protected:
  // By default: the store, then an auto-registering pipeline on it.
  void SetUp() override {
    OpenStore();
    PipelineOptions options;
    options.auto_register = true;
    StartPipeline(options);
  }
  void OpenStore() {
    store::SqliteOptions o;
    o.path = ":memory:";
    auto s = store::OpenSqliteStore(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void StartPipeline(const PipelineOptions& options) {
    pipeline_ = std::make_unique<Pipeline>(store_.get(), &clock_, options);
  }

  SimulatedClock clock_{1'600'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace mh::ingest
