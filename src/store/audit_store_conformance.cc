#include "store/audit_store_conformance.h"

#include <filesystem>
#include <random>

#include <unistd.h>

namespace mh::store::conformance {

void AuditStoreConformanceTest::SetUp() {
  dir_ = (std::filesystem::temp_directory_path() /
          ("mh-audit-store-" + std::to_string(std::random_device{}()) + "-" + std::to_string(::getpid())))
             .string();
  std::filesystem::create_directories(dir_);
  auto made = GetParam().make(dir_);
  if (IsSkipped()) return;  // the backend cannot run here (e.g. no PostgreSQL server binaries)
  ASSERT_TRUE(made.ok()) << made.status().message();
  store_ = std::move(*made);
}

void AuditStoreConformanceTest::TearDown() {
  store_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

TEST_P(AuditStoreConformanceTest, SegmentsAreReplacedPerMeter) {
  EXPECT_FALSE(store_->GetSegments("M1")->has_value());
  AuditSegments a{"M1", std::string("mh-fixed 1\n\0END\n", 16), "mh-dynamic 1\n", "mh-compare 1\n3-11\n", 100};
  ASSERT_TRUE(store_->PutSegments(a).ok());
  ASSERT_TRUE(store_->PutSegments(AuditSegments{"M0", "x", "y", "z", 5}).ok());
  EXPECT_EQ(**store_->GetSegments("M1"), a);
  a.dynamic_text = "mh-dynamic 1\nmeter M1\n";
  a.received_at = 200;
  ASSERT_TRUE(store_->PutSegments(a).ok());
  EXPECT_EQ(**store_->GetSegments("M1"), a);
  EXPECT_EQ(*store_->MetersWithSegments(), (std::vector<std::string>{"M0", "M1"}));
}

TEST_P(AuditStoreConformanceTest, ResultsNewestFirstPerMeter) {
  AuditResultRow r1{0, "M1", 100, "request", true, {}, {}, ""};
  AuditResultRow r2{0, "M2", 110, "schedule", false, {"code-alarm line 7"}, {"code-alarm line 7: differs"}, "INS-M2-110"};
  AuditResultRow r3{0, "M1", 120, "schedule", false, {"time-alarm window 1", "time-alarm window 2"}, {"a", "b"}, "INS-M1-120"};
  r2.segments = "fresh";
  r3.segments = "stored";
  r3.silent = true;
  r3.notes = {"the meter did not answer", "its table differs"};
  EXPECT_EQ(*store_->AddResult(r1), 1);
  EXPECT_EQ(*store_->AddResult(r2), 2);
  EXPECT_EQ(*store_->AddResult(r3), 3);
  r1.id = 1;
  r2.id = 2;
  r3.id = 3;
  EXPECT_EQ(*store_->Results("M1", 10), (std::vector<AuditResultRow>{r3, r1}));
  EXPECT_EQ(*store_->Results("", 2), (std::vector<AuditResultRow>{r3, r2}));
  EXPECT_TRUE(store_->Results("M9", 10)->empty());
}

TEST_P(AuditStoreConformanceTest, MetersReplacedAndListedByRegion) {
  EXPECT_FALSE(store_->GetMeter("M1")->has_value());
  AuditMeterRow a{"M1", "enterprise", "110101001", 100, 0, 0, 0, 0};
  AuditMeterRow b{"M2", "residential", "110101001", 101, 2, 3, 20780, 1795000000};
  AuditMeterRow c{"M3", "residential", "", 102, 0, 0, 0, 0};
  ASSERT_TRUE(store_->PutMeter(b).ok());
  ASSERT_TRUE(store_->PutMeter(a).ok());
  ASSERT_TRUE(store_->PutMeter(c).ok());
  EXPECT_EQ(**store_->GetMeter("M2"), b);
  a.silent_misses = 3;
  a.cycle_d = 1;
  a.cycle_from = 20781;
  ASSERT_TRUE(store_->PutMeter(a).ok());
  EXPECT_EQ(**store_->GetMeter("M1"), a);
  EXPECT_EQ(*store_->MetersInRegion("110101001"), (std::vector<std::string>{"M1", "M2"}));
  EXPECT_EQ(*store_->MetersInRegion(""), (std::vector<std::string>{"M3"}));
  EXPECT_TRUE(store_->MetersInRegion("999999999")->empty());
}

TEST_P(AuditStoreConformanceTest, OrdersInsertReplaceAndFilter) {
  InspectionOrderRow a{"INS-M1-1", "M1", 1, "high", "s1", "{\"a\":1}", "open", 0, ""};
  InspectionOrderRow b{"INS-M2-2", "M2", 2, "normal", "s2", "{}", "open", 0, ""};
  ASSERT_TRUE(store_->PutOrder(a).ok());
  ASSERT_TRUE(store_->PutOrder(b).ok());
  a.state = "sent";
  a.attempts = 2;
  a.last_error = "503";
  ASSERT_TRUE(store_->PutOrder(a).ok());
  EXPECT_EQ(**store_->GetOrder("INS-M1-1"), a);
  EXPECT_FALSE(store_->GetOrder("INS-X")->has_value());
  EXPECT_EQ(*store_->Orders("", 10), (std::vector<InspectionOrderRow>{b, a}));  // replacing keeps the order's place
  EXPECT_EQ(*store_->Orders("open", 10), (std::vector<InspectionOrderRow>{b}));
  EXPECT_EQ(store_->Orders("", 1)->size(), 1u);
}

}  // namespace mh::store::conformance
