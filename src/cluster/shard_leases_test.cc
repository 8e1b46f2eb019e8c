// Shard and singleton leases on a real PostgreSQL (tests/support/postgres_server.h): two workers
// divide the 64 shards fairly, a lapsed worker's shards go to the other with a new epoch, the
// store's commit fence refuses the former owner's batch, and a clean stop gives everything back.
#include "cluster/shard_leases.h"

#include <gtest/gtest.h>

#include <set>

#include "base/clock.h"
#include "core/meter_id.h"
#include "ingest/group_commit.h"
#include "store/postgres/pg_db.h"
#include "store/postgres/pg_store.h"
#include "support/postgres_server.h"

namespace mh::cluster {
namespace {

class ShardLeasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = mh::testing::PostgresDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
    if (url_.empty()) return;
    auto s = store::OpenPostgresStore({url_});  // creates (migrates) the schema
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::shared_ptr<ShardLeases> Worker(const std::string& id, std::vector<std::string> jobs = {}) {
    LeaseOptions options;
    options.url = url_;
    options.worker_id = id;
    options.lease_period_ms = 60000;
    options.jobs = std::move(jobs);
    auto l = ShardLeases::Open(options);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : nullptr;
  }
  // Workers w1 and w2, each having ticked twice: the 64 shards divided between them.
  void TwoWorkersSharing(std::shared_ptr<ShardLeases>* a, std::shared_ptr<ShardLeases>* b) {
    *a = Worker("w1");
    *b = Worker("w2");
    for (int round = 0; round < 2; ++round) {
      ASSERT_TRUE((*a)->Tick().ok());
      ASSERT_TRUE((*b)->Tick().ok());
    }
  }
  void Sql(const std::string& sql) {
    auto db = store::pg::Connection::Open(url_, "test");
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(sql, "test").ok()) << sql;
  }
  // A batch storing one reading of a meter of `shard`.
  static store::IngestBatch ReadingIn(int shard, int64_t ts) {
    std::string id;
    for (int i = 0; id.empty(); ++i)
      if (ShardOf("m" + std::to_string(i)) == shard) id = "m" + std::to_string(i);
    store::IngestBatch b;
    store::MeterInfo m;
    m.meter_id = id;
    b.new_meters.push_back(m);
    store::StoredReading r;
    r.meter_id = id;
    r.ts = ts;
    r.value = 1;
    r.source = "mqtt";
    b.accepted.push_back(r);
    return b;
  }
  // A commit of that batch as the MQTT ingest makes it: fenced by the session's shard.
  Status CommitFenced(int shard, int64_t ts) {
    const std::vector<int> shards{shard};
    store::FenceScope fenced(shards);
    return store_->Commit(ReadingIn(shard, ts));
  }
  std::string url_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ShardLeasesTest, TwoWorkersDivideTheShardsFairly) {
  if (url_.empty()) return;
  auto a = Worker("w1"), b = Worker("w2");
  ASSERT_TRUE(a->Tick().ok());
  EXPECT_EQ(a->Owned().size(), 64u);  // alone: everything
  ASSERT_TRUE(b->Tick().ok());        // two live workers: share 32, but nothing free yet
  EXPECT_TRUE(b->Owned().empty());
  ASSERT_TRUE(a->Tick().ok());        // gives back above its share
  EXPECT_EQ(a->Owned().size(), 32u);
  ASSERT_TRUE(b->Tick().ok());
  EXPECT_EQ(b->Owned().size(), 32u);
  std::set<int> all;
  for (int s : a->Owned()) all.insert(s);
  for (int s : b->Owned()) EXPECT_TRUE(all.insert(s).second) << "shard " << s << " owned twice";
  EXPECT_EQ(all.size(), 64u);
  EXPECT_GT(a->lease_expires_ms(), 0);
  EXPECT_EQ(a->renewals(), 2);
}

TEST_F(ShardLeasesTest, ALapsedWorkersShardsMoveAndItsCommitsAreFenced) {
  if (url_.empty()) return;
  std::shared_ptr<ShardLeases> a, b;
  ASSERT_NO_FATAL_FAILURE(TwoWorkersSharing(&a, &b));
  const int mine = a->Owned().front(), theirs = b->Owned().front();
  const int64_t epoch = *a->EpochOf(mine);
  ASSERT_TRUE(store::SetCommitFence(*store_, a).ok());
  ASSERT_TRUE(CommitFenced(mine, 1000).ok());
  Status other = CommitFenced(theirs, 1000);
  EXPECT_EQ(other.code(), StatusCode::kUnavailable) << other.ToString();

  // w1 pauses: its heartbeat and leases lapse in the database while it still believes it owns.
  Sql("UPDATE workers SET expires_at = now() - interval '1 second' WHERE worker_id = 'w1';"
      "UPDATE shard_leases SET expires_at = now() - interval '1 second' WHERE worker_id = 'w1'");
  ASSERT_TRUE(b->Tick().ok());
  EXPECT_EQ(b->Owned().size(), 64u);
  EXPECT_EQ(*b->EpochOf(mine), epoch + 1);
  ASSERT_TRUE(a->Owns(mine));  // its local view has not caught up yet...
  Status fenced = CommitFenced(mine, 2000);  // ...but the commit checks in the database
  EXPECT_EQ(fenced.code(), StatusCode::kUnavailable) << fenced.ToString();
  EXPECT_EQ(store_->CountReadings().value(), 1);
  ASSERT_TRUE(a->Tick().ok());  // w1 resumes: it learns it lost everything
  EXPECT_TRUE(a->Owned().empty());
}

// A group commit shared by several shards' sessions, one of whose leases is gone: the sessions
// of the shards still held are stored (each on its own), only the lost shard's request fails.
TEST_F(ShardLeasesTest, AGroupCommitWithALostShardStoresTheOthers) {
  if (url_.empty()) return;
  std::shared_ptr<ShardLeases> a, b;
  ASSERT_NO_FATAL_FAILURE(TwoWorkersSharing(&a, &b));
  const int mine = a->Owned().front(), also_mine = a->Owned().back(), theirs = b->Owned().front();
  ASSERT_TRUE(store::SetCommitFence(*store_, a).ok());
  ingest::PipelineOptions options;
  options.auto_register = true;
  ingest::Pipeline pipeline(store_.get(), &SystemClock::Instance(), options);
  auto reading_of = [](int shard, int64_t ts) {
    Reading r;
    r.meter_id = ReadingIn(shard, ts).accepted.front().meter_id;
    r.ts = ts;
    r.value = 1.0;
    return std::vector<Reading>{r};
  };
  const std::vector<Reading> r1 = reading_of(mine, 1000), r2 = reading_of(theirs, 1000), r3 = reading_of(also_mine, 1000);
  const std::vector<int> s1{mine}, s2{theirs}, s3{also_mine};
  auto results = ingest::SubmitFencedGroup(pipeline, {{&r1, "mqtt", nullptr}, {&r2, "mqtt", nullptr}, {&r3, "mqtt", nullptr}},
                                           {&s1, &s2, &s3});
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok()) << results[0].status().ToString();
  EXPECT_EQ(results[1].status().code(), StatusCode::kUnavailable) << results[1].status().ToString();
  EXPECT_TRUE(results[2].ok()) << results[2].status().ToString();
  EXPECT_EQ(store_->CountReadings().value(), 2);
  // All held: one commit, everything stored.
  const std::vector<Reading> r4 = reading_of(mine, 2000), r5 = reading_of(also_mine, 2000);
  results = ingest::SubmitFencedGroup(pipeline, {{&r4, "mqtt", nullptr}, {&r5, "mqtt", nullptr}}, {&s1, &s3});
  EXPECT_TRUE(results[0].ok() && results[1].ok());
  EXPECT_EQ(store_->CountReadings().value(), 4);
}

TEST_F(ShardLeasesTest, SingletonJobsRunOnOneWorkerAndAStopGivesEverythingBack) {
  if (url_.empty()) return;
  auto a = Worker("w1", {"alerts", "relay"}), b = Worker("w2", {"alerts", "relay"});
  ASSERT_TRUE(a->Tick().ok());
  ASSERT_TRUE(b->Tick().ok());
  EXPECT_TRUE(a->HoldsJob("alerts"));
  EXPECT_TRUE(a->HoldsJob("relay"));
  EXPECT_FALSE(b->HoldsJob("alerts"));
  ASSERT_TRUE(a->Tick().ok());
  EXPECT_TRUE(a->HoldsJob("alerts"));  // renewed, not lost
  a->Stop();
  EXPECT_TRUE(a->Owned().empty());
  ASSERT_TRUE(b->Tick().ok());
  EXPECT_TRUE(b->HoldsJob("alerts"));
  EXPECT_EQ(b->Owned().size(), 64u);  // w1 left the workers table: b's share is everything
}

}  // namespace
}  // namespace mh::cluster
