// The head-end over a real (in-memory SQLite) store: targets per region from the reports, keys
// delivered sealed and rotated, and forwarded batches accepted once, forged ones rejected.
#include "relay/relay_service.h"

#include <gtest/gtest.h>

#include "meter/key_delivery.h"
#include "meter/slots.h"
#include "relay/messages.h"
#include "store/sqlite/sqlite_store.h"

namespace mh::relay {
namespace {

struct CountingRandom final : meter::RandomSource {
  Status Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next++;
    return Status::Ok();
  }
  uint8_t next = 1;
};

Reading R(const std::string& id, int64_t ts, double v) {
  Reading r;
  r.meter_id = id;
  r.ts = ts;
  r.value = v;
  return r;
}

class RelayServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = ":memory:";
    store_ = std::move(store::OpenSqliteStore(o)).value();
    service_ = std::make_unique<RelayService>(
        store_.get(), &clock_, &random_,
        [this](const std::string& meter, const std::string& json) {
          sent_.emplace_back(meter, json);
          return Status::Ok();
        },
        [this](const std::vector<Reading>& readings, const std::string& source) {
          stored_.push_back({readings, source});
          return Status::Ok();
        },
        RelayServiceOptions{});
  }

  store::RelayMeter Register(const std::string& id, const std::string& region, const std::string& position,
                             const std::string& key_hex = "") {
    auto m = service_->RegisterMeter({id, region, position, "", key_hex});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : store::RelayMeter{};
  }
  std::vector<int> Slots(const std::string& region_name) {
    return meter::AllocateSlots(region_name, 72, 4);
  }
  std::vector<std::string> CommandsTo(const std::string& meter, const std::string& type) {
    std::vector<std::string> out;
    for (const auto& [m, json] : sent_)
      if (m == meter && json.find("\"type\":\"" + type + "\"") != std::string::npos) out.push_back(json);
    return out;
  }
  ForwardedBatch Signed(const meter::RelayBatch& b, const std::string& key_hex, const std::string& relay) {
    const crypto::Bytes key = *crypto::HexDecode(key_hex);
    const crypto::Digest tag = *meter::SignBatch(b, key);
    return {b, std::vector<uint8_t>(tag.begin(), tag.end()), relay};
  }

  SimulatedClock clock_{1'700'000'000'000};
  CountingRandom random_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<RelayService> service_;
  std::vector<std::pair<std::string, std::string>> sent_;
  std::vector<std::pair<std::vector<Reading>, std::string>> stored_;
};

TEST_F(RelayServiceTest, RegistrationValidatesCodesAndGivesTheRegionAKey) {
  EXPECT_FALSE(service_->RegisterMeter({"A", "44030500", "000001", "", ""}).ok());
  EXPECT_FALSE(service_->RegisterMeter({"A", "440305001", "00001x", "", ""}).ok());
  EXPECT_FALSE(service_->RegisterMeter({"A b", "440305001", "000001", "", ""}).ok());
  EXPECT_FALSE(service_->RegisterMeter({"A", "440305001", "000001", "", "abcd"}).ok());
  const store::RelayMeter a = Register("A", "440305001", "000001");
  EXPECT_EQ(a.device_key_hex.size(), 64u);
  EXPECT_EQ(a.region_name, "440305001");
  // A's keys came sealed under A's device key: they open there, and only there.
  const std::vector<std::string> keys = CommandsTo("A", "region_keys");
  ASSERT_EQ(keys.size(), 1u);
  KeysCommand c = *ParseKeysCommand(keys[0]);
  EXPECT_EQ(c.current_key_id, 1);
  auto opened = meter::OpenRegionKeys(*crypto::HexDecode(a.device_key_hex), "A", c.sealed);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->size(), 1u);
  EXPECT_FALSE(meter::OpenRegionKeys(crypto::Bytes(32, 0), "A", c.sealed).ok());
  // The region's second meter gets the same key, not a new one.
  const store::RelayMeter b = Register("B", "440305001", "000002");
  c = *ParseKeysCommand(CommandsTo("B", "region_keys").at(0));
  auto opened_b = meter::OpenRegionKeys(*crypto::HexDecode(b.device_key_hex), "B", c.sealed);
  ASSERT_TRUE(opened_b.ok());
  EXPECT_EQ((*opened_b)[0].key, (*opened)[0].key);
  // The install address names the region (SPEC 2.1).
  auto named = service_->RegisterMeter({"C", "440305002", "000001", "广东省深圳市南山区粤海街道科技园1栋", ""});
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->region_name, "广东省深圳市南山区粤海街道");
}

TEST_F(RelayServiceTest, TargetFromReportsGoesToTheWholeRegionWhenItChanges) {
  Register("A", "440305001", "000001");
  Register("B", "440305001", "000002");
  Register("Z", "110101001", "000001");
  const std::vector<int> s = Slots("440305001");
  ASSERT_EQ(s.size(), 4u);
  auto t = service_->Report("A", {{"A", s[0], 2}, {"A", s[1], 0}});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, s[1]);
  EXPECT_EQ(CommandsTo("B", "relay_target").size(), 1u);  // changed: everyone in the region
  EXPECT_TRUE(CommandsTo("Z", "relay_target").empty());   // another region
  t = service_->Report("B", {{"B", s[0], 0}, {"B", s[1], 3}});  // s0: 1.0, s1: 1.5
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, s[0]);
  const TargetCommand cmd = *ParseTargetCommand(CommandsTo("A", "relay_target").back());
  EXPECT_EQ(cmd.sub_period, s[0]);
  EXPECT_EQ(FormatWindow(cmd.slots), "00:00-06:00");
  EXPECT_EQ(cmd.slots.slot_minutes, 5);
  const size_t to_a = CommandsTo("A", "relay_target").size();
  t = service_->Report("B", {{"B", s[0], 0}, {"B", s[1], 3}});  // unchanged: only the reporter hears
  EXPECT_EQ(CommandsTo("A", "relay_target").size(), to_a);
  auto view = service_->Region("440305001");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->meters, 2);
  EXPECT_EQ(view->sub_periods, s);
  EXPECT_DOUBLE_EQ(view->levels.at(s[1]), 1.5);
  EXPECT_EQ(view->reporters.at(s[0]), 2);
  EXPECT_EQ(view->target, s[0]);
  // Bad reports name what is wrong.
  int outside = 0;
  while (std::find(s.begin(), s.end(), outside) != s.end()) ++outside;
  EXPECT_EQ(service_->Report("A", {{"A", outside, 1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Report("A", {{"A", s[0], -1}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Report("A", {{"A", s[0], 1}, {"A", s[0], 2}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Report("nobody", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Regions()->size(), 2u);
}

TEST_F(RelayServiceTest, KeyRotationKeepsThePreviousAndWrapsIds) {
  Register("A", "440305001", "000001");
  for (int i = 2; i <= 256; ++i) {
    auto id = service_->RotateKey("440305001");
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(*id, (i - 1) % 255 + 1);
  }
  auto view = service_->Region("440305001");
  EXPECT_EQ(view->key_ids, (std::vector<int>{1, 255}));  // after 255 comes 1 again; 255 stays as previous
  // Due rotation: none yet, then one after the period.
  EXPECT_EQ(*service_->RotateDueKeys(), 0);
  clock_.AdvanceMillis(31LL * 86400 * 1000);
  EXPECT_EQ(*service_->RotateDueKeys(), 1);
  EXPECT_EQ(service_->Region("440305001")->key_ids, (std::vector<int>{2, 1}));
}

TEST_F(RelayServiceTest, ForwardedBatchesAreAcceptedOnceAndForgeriesRejected) {
  const store::RelayMeter e1 = Register("E1", "440305001", "000001");
  Register("R1", "440305001", "000002");
  meter::RelayBatch batch{"E1", 3, {R("E1", 900, 10.0), R("E1", 1800, 10.5)}};
  auto first = service_->Forward(Signed(batch, e1.device_key_hex, "R1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, ForwardOutcome::kAccepted);
  ASSERT_EQ(stored_.size(), 1u);
  EXPECT_EQ(stored_[0].second, "relay:R1");
  EXPECT_EQ(stored_[0].first.size(), 2u);
  // The same batch through a second relay: a duplicate.
  auto second = service_->Forward(Signed(batch, e1.device_key_hex, "R2"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, ForwardOutcome::kDuplicate);
  // A relay that alters a value, or invents a reading, fails the origin's tag.
  ForwardedBatch altered = Signed(batch, e1.device_key_hex, "R1");
  altered.batch.readings[1].value = 99.0;
  EXPECT_EQ(service_->Forward(altered).status().code(), StatusCode::kUnauthenticated);
  ForwardedBatch invented = Signed(batch, e1.device_key_hex, "R1");
  invented.batch.readings.push_back(R("E1", 2700, 11.0));
  EXPECT_EQ(service_->Forward(invented).status().code(), StatusCode::kUnauthenticated);
  // Signed with the relay's own key instead of the origin's: rejected too.
  EXPECT_EQ(service_->Forward(Signed(batch, std::string(64, '0'), "R1")).status().code(),
            StatusCode::kUnauthenticated);
  meter::RelayBatch stranger{"X9", 1, {R("X9", 900, 1.0)}};
  EXPECT_EQ(service_->Forward(Signed(stranger, e1.device_key_hex, "R1")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(stored_.size(), 2u);  // the accepted batch and its duplicate went to the pipeline, nothing else
  const store::RelayBatchTotals totals = *service_->Totals();
  EXPECT_EQ(totals.accepted, 1);
  EXPECT_EQ(totals.duplicates, 1);
  EXPECT_EQ(totals.rejected, 3);
  EXPECT_EQ(totals.unknown_origin, 1);
  EXPECT_EQ(totals.readings, 2);
}

TEST_F(RelayServiceTest, APipelineFailureIsNotRecordedAsAccepted) {
  auto failing = std::make_unique<RelayService>(
      store_.get(), &clock_, &random_, [](const std::string&, const std::string&) { return Status::Ok(); },
      [](const std::vector<Reading>&, const std::string&) { return Unavailable("store down"); },
      RelayServiceOptions{});
  const store::RelayMeter e1 = *failing->RegisterMeter({"E1", "440305001", "000001", "", ""});
  meter::RelayBatch batch{"E1", 3, {R("E1", 900, 10.0)}};
  EXPECT_FALSE(failing->Forward(Signed(batch, e1.device_key_hex, "R1")).ok());
  EXPECT_EQ(failing->Totals()->accepted, 0);
}

TEST(RelayMessagesTest, ForwardRoundTripAndErrorsNameTheField) {
  ForwardMessage m;
  m.relay_meter_id = "R1";
  m.batch = {"E1", 7, {R("E1", 900, 10.125)}};
  Reading null_reading;
  null_reading.meter_id = "E1";
  null_reading.ts = 1800;
  null_reading.raw_value = "E";
  m.batch.readings.push_back(null_reading);
  m.tag.assign(32, 0xAB);
  auto back = ParseForwardMessage(EncodeForwardMessage(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*meter::CanonicalBatchBytes(back->batch), *meter::CanonicalBatchBytes(m.batch));
  EXPECT_EQ(back->tag, m.tag);
  EXPECT_EQ(back->relay_meter_id, "R1");
  auto bad = ParseForwardMessage(R"({"relay":"R1","origin":"E1","failure_code":1,"readings":[{"ts":"x","value":1}],"tag":")" +
                                 std::string(64, 'a') + "\"}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("readings[0]: field \"ts\""), std::string::npos) << bad.status().message();
  EXPECT_NE(ParseForwardMessage("{").status().message().find("not valid JSON"), std::string::npos);
  EXPECT_NE(ParseReportMessage(R"({"meter":"A","reports":[{"sub_period":3}]})").status().message().find("\"level\""),
            std::string::npos);
}

}  // namespace
}  // namespace mh::relay
