// The witness round on ledgers in memory: heads kept across rounds, a grown ledger consistent, a
// rewritten or shrunk one inconsistent with every kept head, a foreign signature, a source that
// cannot be reached (an error, not a verdict).
#include "audit/ledger/witness.h"

#include <gtest/gtest.h>

#include "audit/ledger/ledger.h"
#include "crypto/crypto.h"
#include "store/memory/memory_ledger_store.h"
#include "support/test_env.h"

namespace mh::audit::ledger {
namespace {

// A Ledger over a memory store as a source (what the database source does, without the file).
class LedgerSource final : public HeadSource {
 public:
  explicit LedgerSource(const std::string& key) : store_(store::NewMemoryLedgerStore()) {
    ledger_ = Ledger::Open(*store_, clock_, key).value();
  }
  void Grow(int n, const std::string& tag) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(ledger_->Append({{"M1", 1, next_++}, "audit.other.v1", tag + std::to_string(i)}).ok());
    }
    clock_.AdvanceMillis(1000);
    ASSERT_TRUE(ledger_->Head().ok());
  }
  Result<std::optional<store::LedgerTreeHead>> Latest() override {
    if (!reachable) return Unavailable("down");
    return store_->LatestHead();
  }
  Result<std::vector<store::LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    return store_->HeadsSince(since, limit);
  }
  Result<ConsistencyProof> Consistency(int64_t old_size, int64_t new_size) override {
    if (!reachable) return Unavailable("down");
    return ledger_->ProveConsistency(old_size, new_size);
  }
  Result<std::string> PublicKey() override { return ledger_->public_key(); }
  bool reachable = true;

 private:
  SimulatedClock clock_{1795400000000};
  std::unique_ptr<store::LedgerStore> store_;
  std::unique_ptr<Ledger> ledger_;
  int64_t next_ = 0;
};

std::string Key(char c) { return std::string(32, c); }

TEST(WitnessTest, KeepsHeadsAndChecksEachAgainstTheNewest) {
  testing::TempDir dir("witness");
  LedgerSource honest(Key(1));
  honest.Grow(3, "a");
  auto r = RunWitnessRound(honest, dir.path(), std::nullopt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->failures.empty());
  EXPECT_EQ(r->newest_size, 3);
  EXPECT_EQ(r->kept, 1);
  honest.Grow(2, "b");
  honest.Grow(4, "c");
  r = RunWitnessRound(honest, dir.path(), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->failures.empty());
  EXPECT_EQ(r->newest_size, 9);
  EXPECT_EQ(r->kept, 3);
  EXPECT_EQ(r->added, 2);

  // The same key, another history (shorter, then longer): every kept head is caught.
  LedgerSource rewritten(Key(1));
  rewritten.Grow(4, "x");
  r = RunWitnessRound(rewritten, dir.path(), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failures, (std::vector<std::string>{"inconsistent kept=3 newest=4", "inconsistent kept=5 newest=4",
                                                   "inconsistent kept=9 newest=4"}));
  rewritten.Grow(10, "y");
  r = RunWitnessRound(rewritten, dir.path(), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failures.size(), 3u);  // kept 3, 5, 9 (the rewritten heads 4 and 14 are kept too, and consistent)
  EXPECT_EQ(r->failures[0], "inconsistent kept=3 newest=14");

  // Another key: the newest head's signature does not verify under the pinned one.
  LedgerSource foreign(Key(2));
  foreign.Grow(20, "z");
  r = RunWitnessRound(foreign, dir.path(), std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failures, (std::vector<std::string>{"bad-signature size=20"}));

  // A source that cannot be reached is an error (exit 2), not evidence.
  honest.reachable = false;
  EXPECT_EQ(RunWitnessRound(honest, dir.path(), std::nullopt).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(RunWitnessRound(honest, dir.path(), std::string("xyz")).status().code(), StatusCode::kInvalidArgument);
}

TEST(WitnessTest, HeadLinesRoundTrip) {
  store::LedgerTreeHead h{12, std::string(32, '\x01'), 1700000002000, std::string(64, '\x02')};
  const std::string line = HeadLine(h);
  EXPECT_EQ(line.substr(0, 14), "{\"root_hash\":\"");
  auto back = ParseHeadLine(line);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->size, 12);
  EXPECT_EQ(back->root_hash, h.root_hash);
  EXPECT_EQ(back->signature, h.signature);
  EXPECT_EQ(ParseHeadLine("{\"size\":1}").status().message(), "field 'timestamp_ms' missing or not an integer");
  EXPECT_FALSE(ParseHeadLine("[]").ok());
}

}  // namespace
}  // namespace mh::audit::ledger
