// The WaterStore contract (water_store.h) as tests, run by every backend.
#include "store/water_store_conformance.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace mh::store::conformance {

std::string WaterStoreBackendName(const ::testing::TestParamInfo<WaterStoreBackend>& info) { return info.param.name; }
void PrintTo(const WaterStoreBackend& backend, std::ostream* out) { *out << backend.name; }

void WaterStoreConformanceTest::SetUp() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mh_water_store_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "cannot make a temporary directory";
  dir_ = pattern;
  Result<std::unique_ptr<WaterStore>> store = GetParam().make(dir_);
  if (IsSkipped()) return;  // the backend cannot run here (e.g. no PostgreSQL server binaries)
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

void WaterStoreConformanceTest::TearDown() {
  store_.reset();
  std::error_code ignored;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

TEST_P(WaterStoreConformanceTest, PairsAreKeyedByTerminalAndExclusive) {
  ASSERT_TRUE(store().PutPair({"T1", "fc1", "F1", "+8613800000001", 10}).ok());
  ASSERT_TRUE(store().PutPair({"T0", "fc0", "F0", "", 11}).ok());
  // Rebinding the phone replaces the row.
  ASSERT_TRUE(store().PutPair({"T1", "fc1", "F1", "+8613800000002", 12}).ok());
  // Another terminal may not take F1.
  Status taken = store().PutPair({"T2", "fc2", "F1", "", 13});
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists) << taken.ToString();
  auto pairs = store().ListPairs();
  ASSERT_TRUE(pairs.ok());
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].terminal_id, "T0");
  EXPECT_EQ((*pairs)[1].phone, "+8613800000002");
  EXPECT_EQ((*pairs)[1].updated_at, 12);
  auto one = store().GetPair("T1");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->flowmeter_id, "F1");
  auto none = store().GetPair("T9");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(WaterStoreConformanceTest, FramesListedByOverlapAndDevice) {
  std::string bytes("MHWF\0\x01\xff", 7);
  auto a = store().AddFrame({0, "fc1", "T1", "terminal", false, 0, 3600, 5, bytes});
  auto b = store().AddFrame({0, "fc1", "F1", "flowmeter", true, 3600, 7200, 6, "x"});
  auto c = store().AddFrame({0, "fc2", "T2", "terminal", false, 0, 3600, 7, "y"});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_LT(*a, *b);
  auto all = store().ListFrames("fc1", "", 0, 7200);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].payload, bytes);  // binary-safe
  EXPECT_TRUE((*all)[1].relayed);
  auto late = store().ListFrames("fc1", "", 3600, 7200);  // [0, 3600) does not overlap [3600, 7200)
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].device_id, "F1");
  auto dev = store().ListFrames("fc1", "T1", 0, 100000);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->size(), 1u);
}

TEST_P(WaterStoreConformanceTest, WindowsUpsertAndNewestLimit) {
  for (int64_t w : {0, 21600, 43200}) {
    ASSERT_TRUE(store().PutWindow({"fc1", w, 21600, "none", "", 360, "{}", "", w + 21600}).ok());
  }
  ASSERT_TRUE(store().PutWindow({"fc1", 21600, 21600, "steady", "A", 360, "{\"a1\":1.05}", "form A", 50000}).ok());
  auto ws = store().ListWindows("fc1", 2);
  ASSERT_TRUE(ws.ok());
  ASSERT_EQ(ws->size(), 2u);
  EXPECT_EQ((*ws)[0].window_start, 21600);
  EXPECT_EQ((*ws)[0].verdict, "steady");
  EXPECT_EQ((*ws)[0].form, "A");
  EXPECT_EQ((*ws)[0].parameters, "{\"a1\":1.05}");
  EXPECT_EQ((*ws)[1].window_start, 43200);
  auto all = store().ListWindows("fc1", 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_P(WaterStoreConformanceTest, CommandsAndTheirAck) {
  WaterCommandRecord c{"fc1-1-1", "fc1", "T1", "window", 100, 21700, "{\"model\":\"linear\"}", "issued", 0};
  ASSERT_TRUE(store().PutCommand(c).ok());
  c.status = "acknowledged";
  c.acked_at = 160;
  ASSERT_TRUE(store().PutCommand(c).ok());
  auto got = store().GetCommand("fc1-1-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status, "acknowledged");
  EXPECT_EQ((*got)->acked_at, 160);
  auto list = store().ListCommands("fc1");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  auto missing = store().GetCommand("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_P(WaterStoreConformanceTest, HistoryIsAppendOnlyInOrder) {
  ASSERT_TRUE(store().AppendHistory({0, "fc1", 100, "detected", "steady form A"}).ok());
  ASSERT_TRUE(store().AppendHistory({0, "fc2", 100, "detected", "other meter"}).ok());
  ASSERT_TRUE(store().AppendHistory({0, "fc1", 90, "command_issued", "same second, later id"}).ok());
  auto h = store().ListHistory("fc1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].event, "detected");
  EXPECT_EQ((*h)[1].event, "command_issued");  // by id: the order things happened
  EXPECT_LT((*h)[0].id, (*h)[1].id);
}

TEST_P(WaterStoreConformanceTest, WorkOrdersAndPhotos) {
  auto id = store().AddWorkOrder({0, "fc1", "T1", "unsteady deviation", 100, "open"});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store().AddWorkOrder({0, "fc2", "T2", "no ack", 200, "open"}).ok());
  ASSERT_TRUE(store().SetWorkOrderStatus(*id, "done").ok());
  EXPECT_EQ(store().SetWorkOrderStatus(*id + 100, "done").code(), StatusCode::kNotFound);
  auto open = store().ListWorkOrders("open");
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].reason, "no ack");
  auto all = store().ListWorkOrders("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);

  ASSERT_TRUE(store().AddPhoto({0, "T1", 300, "", "too dark", "{}", 301}).ok());
  ASSERT_TRUE(store().AddPhoto({0, "T1", 200, "001234", "", "{\"decision\":\"baseline\"}", 302}).ok());
  auto photos = store().ListPhotos("T1");
  ASSERT_TRUE(photos.ok());
  ASSERT_EQ(photos->size(), 2u);
  EXPECT_EQ((*photos)[0].value, "001234");  // by taken_at
  EXPECT_EQ((*photos)[1].unreadable, "too dark");
}

TEST_P(WaterStoreConformanceTest, CaseStateUpsertByFeatureCode) {
  auto none = store().GetCaseState("fc1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store().PutCaseState({"fc1", "{\"case\":null}", 10}).ok());
  ASSERT_TRUE(store().PutCaseState({"fc2", "{}", 11}).ok());
  ASSERT_TRUE(store().PutCaseState({"fc1", "{\"case\":{\"state\":\"command_issued\"}}", 12}).ok());
  auto got = store().GetCaseState("fc1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state, "{\"case\":{\"state\":\"command_issued\"}}");
  EXPECT_EQ((*got)->updated_at, 12);
}

TEST_P(WaterStoreConformanceTest, BatchCommitsEveryWriteTogether) {
  Status s = store().Batch([&]() -> Status {
    MH_RETURN_IF_ERROR(store().AddFrame({0, "fc1", "T1", "terminal", false, 0, 3600, 5, "x"}).status());
    MH_RETURN_IF_ERROR(store().PutWindow({"fc1", 0, 21600, "steady", "A", 360, "{}", "", 21600}));
    MH_RETURN_IF_ERROR(store().AppendHistory({0, "fc1", 21600, "window_checked", ""}).status());
    MH_RETURN_IF_ERROR(store().PutCommand({"fc1-1-1", "fc1", "T1", "window", 21600, 43200, "{}", "issued", 0}));
    MH_RETURN_IF_ERROR(store().PutPair({"T1", "fc1", "F1", "", 1}));
    // Reads inside the batch see its writes.
    auto h = store().ListHistory("fc1");
    if (!h.ok() || h->size() != 1) return Internal("history not visible inside the batch");
    return store().PutCaseState({"fc1", "{}", 21600});
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(store().ListFrames("fc1", "", 0, 3600)->size(), 1u);
  EXPECT_EQ(store().ListWindows("fc1", 0)->size(), 1u);
  EXPECT_EQ(store().ListHistory("fc1")->size(), 1u);
  EXPECT_TRUE(store().GetCommand("fc1-1-1")->has_value());
  EXPECT_TRUE(store().GetCaseState("fc1")->has_value());
  EXPECT_EQ(store().ListPairs()->size(), 1u);
}

TEST_P(WaterStoreConformanceTest, FailedBatchLeavesNothing) {
  ASSERT_TRUE(store().AppendHistory({0, "fc1", 1, "before", ""}).ok());
  Status s = store().Batch([&]() -> Status {
    MH_RETURN_IF_ERROR(store().AddFrame({0, "fc1", "T1", "terminal", false, 0, 3600, 5, "x"}).status());
    MH_RETURN_IF_ERROR(store().AppendHistory({0, "fc1", 2, "inside", ""}).status());
    return InvalidArgument("the body gave up");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store().ListFrames("fc1", "", 0, 3600)->empty());
  auto h = store().ListHistory("fc1");
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].event, "before");
  // A failing nested batch fails the outer one even when its error is ignored.
  Status outer = store().Batch([&]() -> Status {
    MH_RETURN_IF_ERROR(store().AppendHistory({0, "fc1", 3, "outer", ""}).status());
    (void)store().Batch([&]() -> Status {
      (void)store().AppendHistory({0, "fc1", 4, "inner", ""});
      return InvalidArgument("inner gave up");
    });
    return Status::Ok();
  });
  EXPECT_FALSE(outer.ok());
  EXPECT_EQ(store().ListHistory("fc1")->size(), 1u);
  // A conflicting pair inside a batch fails alone; the batch's other writes stand.
  ASSERT_TRUE(store().PutPair({"T1", "fc1", "F1", "", 1}).ok());
  Status mixed = store().Batch([&]() -> Status {
    MH_RETURN_IF_ERROR(store().AppendHistory({0, "fc1", 5, "kept", ""}).status());
    EXPECT_EQ(store().PutPair({"T2", "fc2", "F1", "", 2}).code(), StatusCode::kAlreadyExists);
    return Status::Ok();
  });
  EXPECT_TRUE(mixed.ok()) << mixed.ToString();
  EXPECT_EQ(store().ListHistory("fc1")->size(), 2u);
  EXPECT_EQ(store().ListPairs()->size(), 1u);
}

TEST_P(WaterStoreConformanceTest, NestedBatchJoinsAndOtherThreadsWait) {
  std::thread other;
  Status s = store().Batch([&]() -> Status {
    MH_RETURN_IF_ERROR(store().AppendHistory({0, "fc1", 1, "first", ""}).status());
    // Another thread's write waits for the batch to end, so it lands after "second".
    other = std::thread([&] { EXPECT_TRUE(store().AppendHistory({0, "fc1", 3, "third", ""}).ok()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return store().Batch([&]() { return store().AppendHistory({0, "fc1", 2, "second", ""}).status(); });
  });
  other.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto h = store().ListHistory("fc1");
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[0].event, "first");
  EXPECT_EQ((*h)[1].event, "second");
  EXPECT_EQ((*h)[2].event, "third");
}

}  // namespace mh::store::conformance
