// The bulk load's overlapped commit: a batch is written on another thread while the next is
// judged, in order, under the handing thread's fence, and a failed commit is never forgotten.
#include "ingest/overlapped_commit.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "ingest/pipeline_fixture_for_test.h"
#include "store/commit_fence.h"

namespace mh::ingest {
namespace {

store::IngestBatch OneReading(const std::string& meter_id, int64_t ts) {
  store::IngestBatch b;
  store::StoredReading r;
  r.meter_id = meter_id;
  r.ts = ts;
  b.accepted.push_back(r);
  return b;
}

TEST(OverlappedCommitterTest, BatchesAreCommittedInOrderOffTheHandingThreadUnderItsFence) {
  std::mutex mu;
  std::vector<int64_t> committed;
  std::vector<std::vector<int>> fences;
  std::atomic<bool> release{false};
  const std::thread::id handing = std::this_thread::get_id();
  std::thread::id committing;
  OverlappedCommitter c([&](const store::IngestBatch& b) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard lock(mu);
    committing = std::this_thread::get_id();
    committed.push_back(b.accepted.front().ts);
    const std::vector<int>* fence = store::FenceScope::Current();
    fences.push_back(fence ? *fence : std::vector<int>{});
    return Status::Ok();
  });
  const std::vector<int> shards = {3, 7};
  {
    store::FenceScope scope(shards);
    ASSERT_TRUE(c.Hand(OneReading("M1", 900)).ok());  // returns while the commit waits
  }
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(committed.empty());
  }
  release = true;
  ASSERT_TRUE(c.Hand(OneReading("M1", 1800)).ok());
  ASSERT_TRUE(c.Settle().ok());
  std::lock_guard lock(mu);
  EXPECT_EQ(committed, (std::vector<int64_t>{900, 1800}));
  EXPECT_EQ(fences, (std::vector<std::vector<int>>{{3, 7}, {}}));
  EXPECT_NE(committing, handing);
}

TEST(OverlappedCommitterTest, AFailedCommitIsAnsweredByEveryLaterHandAndSettle) {
  std::vector<int64_t> committed;
  OverlappedCommitter c([&](const store::IngestBatch& b) {
    if (b.accepted.front().ts == 900) return Unavailable("the disk went away");
    committed.push_back(b.accepted.front().ts);
    return Status::Ok();
  });
  ASSERT_TRUE(c.Hand(OneReading("M1", 900)).ok());
  Status next = c.Hand(OneReading("M1", 1800));
  EXPECT_EQ(next.code(), StatusCode::kUnavailable) << next.ToString();
  EXPECT_EQ(c.Settle().code(), StatusCode::kUnavailable);
  EXPECT_EQ(c.Hand(OneReading("M1", 2700)).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(committed.empty()) << "a batch handed after the failure was written";
}

// What a bulk load's judging reads from the store includes the batch still being written: a late
// reading finds its neighbours, handed over a moment before.
class OverlappedPipelineTest : public PipelineOnMemoryStoreTest {};

TEST_F(OverlappedPipelineTest, AReadingJudgedAgainstTheStoreSeesTheBatchInFlight) {
  PipelineOptions options;
  options.auto_register = true;
  options.deferred_commits = true;
  Pipeline bulk(store_.get(), &clock_, options);
  ASSERT_TRUE(bulk.Submit({{"M1", 900, 10.0, ""}, {"M1", 2700, 12.0, ""}}, "import").ok());
  auto late = bulk.Submit({{"M1", 1800, 11.0, ""}}, "import");
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(late->accepted, 1);
  EXPECT_EQ(late->duplicates, 0);
  auto again = bulk.Submit({{"M1", 900, 10.0, ""}}, "import");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->duplicates, 1);
  ASSERT_TRUE(bulk.Pack().ok());
  auto rows = store_->QueryReadings("M1", store::TimeRange{}, 0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_DOUBLE_EQ((*rows)[1].consumption, 1.0);
  EXPECT_DOUBLE_EQ((*rows)[2].consumption, 1.0);
}

}  // namespace
}  // namespace mh::ingest
