// The group committer's linger: requests arriving while a commit waits share it, and a full
// batch does not wait.
#include "ingest/group_commit.h"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "ingest/pipeline_fixture_for_test.h"

namespace mh::ingest {
namespace {

using GroupCommitTest = PipelineOnMemoryStoreTest;

TEST_F(GroupCommitTest, RequestsArrivingWhileACommitLingersShareIt) {
  GroupCommitter committer(pipeline_.get(), GroupCommitter::kMaxReadingsPerCommit, std::chrono::seconds(2));
  const std::vector<Reading> first{{"M1", 900, 1.0, ""}}, second{{"M2", 900, 2.0, ""}};
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // well inside the first one's linger
    auto r = committer.Submit(second, "mqtt");
    EXPECT_TRUE(r.ok() && r->accepted == 1);
  });
  auto r = committer.Submit(first, "mqtt");
  later.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);
  EXPECT_EQ(committer.commits(), 1) << "the second request had its own commit";
  EXPECT_EQ(store_->QueryReadings("M2", store::TimeRange{}, 0)->size(), 1u);
}

TEST_F(GroupCommitTest, AFullBatchIsCommittedWithoutLingering) {
  GroupCommitter committer(pipeline_.get(), 2, std::chrono::seconds(60));
  const auto t0 = std::chrono::steady_clock::now();
  auto r = committer.Submit({{"M1", 900, 1.0, ""}, {"M1", 1800, 2.0, ""}}, "mqtt");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30)) << "it waited out the linger";
}

TEST_F(GroupCommitTest, StoppingEndsALingerAndCommitsWhatWaits) {
  auto committer = std::make_unique<GroupCommitter>(pipeline_.get(), GroupCommitter::kMaxReadingsPerCommit,
                                                    std::chrono::seconds(60));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    committer->Stop();
  });
  auto r = committer->Submit({{"M1", 900, 1.0, ""}}, "mqtt");
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 1);
}

}  // namespace
}  // namespace mh::ingest
