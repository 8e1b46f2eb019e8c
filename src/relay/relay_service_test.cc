// The head-end over a real (in-memory SQLite) store: targets per region from the reports, keys
// delivered sealed and rotated, forwarded batches accepted once with their failure code, forged
// ones rejected, nightly outcomes kept and one uplink work order per streak of failed nights.
#include "relay/relay_service.h"

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "meter/key_delivery.h"
#include "meter/night_schedule.h"
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

  // The meter itself first (POST /api/v1/meters): a relay identity needs a registered meter.
  void Known(const std::string& id) {
    store::MeterInfo m;
    m.meter_id = id;
    ASSERT_TRUE(store_->UpsertMeter(m).ok());
  }
  store::RelayMeter Register(const std::string& id, const std::string& region, const std::string& position,
                             const std::string& key_hex = "") {
    Known(id);
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
  Known("C");
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
  EXPECT_EQ(cmd.target.sub_period, s[0]);
  EXPECT_EQ(FormatWindow(cmd.target.slots), "00:00-06:00");
  EXPECT_EQ(cmd.target.slots.slot_minutes, 5);
  EXPECT_EQ(cmd.target.slots.slots_per_region, 4);
  EXPECT_EQ(cmd.target.fanout, meter::Fanout::kAll);
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
  Known("E1");
  const store::RelayMeter e1 = *failing->RegisterMeter({"E1", "440305001", "000001", "", ""});
  meter::RelayBatch batch{"E1", 3, {R("E1", 900, 10.0)}};
  EXPECT_FALSE(failing->Forward(Signed(batch, e1.device_key_hex, "R1")).ok());
  EXPECT_EQ(failing->Totals()->accepted, 0);
}

// Issue 10, item 15: a relay identity needs a registered meter; nothing is written otherwise (no
// identity, no region key, no command). Issue 10, item 8: an overlong install address is refused
// before any pattern runs on it.
TEST_F(RelayServiceTest, UnknownMetersAndOverlongAddressesAreRefused) {
  auto unknown = service_->RegisterMeter({"U1", "440305001", "000001", "", ""});
  ASSERT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("POST /api/v1/meters"), std::string::npos) << unknown.status().message();
  EXPECT_FALSE(store_->GetRelayMeter("U1")->has_value());
  EXPECT_TRUE(store_->ListRegionKeys("440305001")->empty());
  EXPECT_TRUE(sent_.empty());

  Known("L1");
  const std::string district = "浙江省杭州市西湖区";
  std::string longest = district + std::string(kMaxInstallAddressBytes - district.size() - 3, 'x') + "路";
  ASSERT_EQ(longest.size(), kMaxInstallAddressBytes);
  auto ok = service_->RegisterMeter({"L1", "440305001", "000001", longest, ""});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->region_name, longest);
  auto too_long = service_->RegisterMeter({"L1", "440305001", "000001", std::string(50000, 'x'), ""});
  ASSERT_EQ(too_long.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("install_address is 50000 bytes"), std::string::npos)
      << too_long.status().message();
  EXPECT_EQ(store_->GetRelayMeter("L1")->value().region_name, longest);  // unchanged
}

// Issue 11, items 7 and 8: relay_target carries the server's allocation rule (window, sub-period
// length, sub-periods per region) and the fanout, and the meter library applies them.
TEST_F(RelayServiceTest, TheTargetCarriesTheAllocationRuleAndTheFanout) {
  RelayServiceOptions o;
  ASSERT_TRUE(meter::ParseWindow("22:00-02:00", &o.slots).ok());
  o.slots.slot_minutes = 10;
  o.slots.slots_per_region = 3;
  o.fanout = meter::Fanout::kFirst;
  RelayService service(store_.get(), &clock_, &random_,
                       [this](const std::string& meter, const std::string& json) {
                         sent_.emplace_back(meter, json);
                         return Status::Ok();
                       },
                       [](const std::vector<Reading>&, const std::string&) { return Status::Ok(); }, o);
  Known("A");
  ASSERT_TRUE(service.RegisterMeter({"A", "440305001", "000001", "", ""}).ok());
  const std::vector<int> allocated = meter::AllocateSlots("440305001", 24, 3);
  auto target = service.Report("A", {{"A", allocated[1], 0}, {"A", allocated[0], 2}});
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  const std::vector<std::string> commands = CommandsTo("A", "relay_target");
  ASSERT_FALSE(commands.empty());
  EXPECT_NE(commands.back().find(R"("fanout":"first")"), std::string::npos) << commands.back();
  const TargetCommand cmd = *ParseTargetCommand(commands.back());
  EXPECT_EQ(FormatWindow(cmd.target.slots), "22:00-02:00");
  EXPECT_EQ(cmd.target.slots.slot_minutes, 10);
  EXPECT_EQ(cmd.target.slots.slots_per_region, 3);
  EXPECT_EQ(cmd.target.fanout, meter::Fanout::kFirst);
  EXPECT_EQ(cmd.target.sub_period, allocated[1]);
  // The meter, provisioned with the default rule, takes the server's.
  auto schedule = meter::NightSchedule::Create("440305001", meter::SlotOptions{}, 8 * 3600);
  ASSERT_TRUE(schedule.ok());
  ASSERT_TRUE(schedule->Apply(cmd.target).ok());
  EXPECT_EQ(schedule->slot_count(), 24);
  EXPECT_EQ(schedule->sub_periods(), allocated);
  EXPECT_EQ(schedule->target(), allocated[1]);
  // A command of an older head-end (no slots_per_region, no fanout): 4 and "all".
  auto old = ParseTargetCommand(R"({"type":"relay_target","region_code":"440305001","sub_period":3,"window":"00:00-06:00","slot_minutes":5})");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->target.slots.slots_per_region, 4);
  EXPECT_EQ(old->target.fanout, meter::Fanout::kAll);
  EXPECT_FALSE(ParseTargetCommand(R"({"type":"relay_target","region_code":"1","sub_period":3,"window":"00:00-06:00","slot_minutes":5,"fanout":"some"})").ok());
}

TEST_F(RelayServiceTest, ForwardedBatchesKeepTheirFailureCodePerOrigin) {
  const store::RelayMeter e1 = Register("E1", "440305001", "000001");
  Register("R1", "440305001", "000002");
  ASSERT_TRUE(service_->Forward(Signed({"E1", 42, {R("E1", 900, 10.0)}}, e1.device_key_hex, "R1")).ok());
  ASSERT_TRUE(service_->Forward(Signed({"E1", 7, {R("E1", 1800, 10.5)}}, e1.device_key_hex, "R1")).ok());
  auto view = service_->MeterView("E1", 10);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->batches.size(), 2u);
  std::set<int> codes = {*view->batches[0].failure_code, *view->batches[1].failure_code};
  EXPECT_EQ(codes, (std::set<int>{7, 42}));
  EXPECT_TRUE(view->meter.device_key_hex.empty());  // never shown again
  EXPECT_EQ(service_->MeterView("nobody", 10).status().code(), StatusCode::kNotFound);
}

// Issue 11, item 6: nightly outcomes are kept once per night; the third consecutive night whose
// every own-uplink upload failed opens one work order for the streak, sent once; a later night of
// the same streak, a report sent again, or a restart (a new service over the same store) opens or
// sends nothing more; a good night ends the streak and the next streak gets its own order.
TEST_F(RelayServiceTest, OneWorkOrderPerStreakOfFailedUplinkNights) {
  Register("M1", "440305001", "000001");
  Register("M2", "440305001", "000002");
  std::vector<std::string> orders;
  Status answer = Status::Ok();
  int hooks = 0;
  service_->SetWorkOrderSink([&](const std::string& order) {
    if (answer.ok()) orders.push_back(order);
    return answer;
  });
  service_->SetWorkOrderOpenedHook([&] { ++hooks; });
  constexpr int64_t kNight = 1'700'000'000;
  auto night = [&](int n, bool failed) {
    meter::RelayOutcome o;
    o.night_s = kNight + n * 86400 + (n % 2) * 1800;  // the target moved a little between nights
    o.uplink_attempts = 96;
    o.uplink_failures = failed ? 96 : 4;
    o.uplink_failure_codes = {7, 42};
    o.relays = {{"elecmeter_AP440305001000002", 7, 96, true}, {"elecmeter_AP440305001000003", 7, 96, false}};
    return o;
  };
  for (int n = 1; n <= 2; ++n) ASSERT_TRUE(*service_->Outcome("M1", night(n, true)));
  EXPECT_EQ(service_->SendPendingWorkOrders(), 0);
  EXPECT_EQ(hooks, 0);
  ASSERT_TRUE(*service_->Outcome("M1", night(3, true)));
  EXPECT_EQ(hooks, 1);
  answer = Unavailable("receiver down");  // not delivered: stays open
  EXPECT_EQ(service_->SendPendingWorkOrders(), 0);
  EXPECT_EQ(store_->ListRelayWorkOrders("M1", "open", 0)->size(), 1u);
  answer = Status::Ok();
  EXPECT_EQ(service_->SendPendingWorkOrders(), 1);
  ASSERT_EQ(orders.size(), 1u);
  const nlohmann::json order = nlohmann::json::parse(orders[0]);
  EXPECT_EQ(order["type"], "relay_uplink_work_order");
  EXPECT_EQ(order["meter"], "M1");
  EXPECT_EQ(order["nights"], 3);
  EXPECT_EQ(order["first_night"], FormatIsoUtc(kNight + 86400 + 1800));
  EXPECT_EQ(order["uplink_failure_codes"], nlohmann::json::array({7, 42}));
  EXPECT_EQ(order["order_id"], "RWO-M1-" + std::to_string(kNight + 86400 + 1800));
  const std::vector<store::RelayWorkOrder> sent = *store_->ListRelayWorkOrders("M1", "", 0);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].state, "sent");
  EXPECT_EQ(sent[0].attempts, 2);

  // Night 4 continues the streak; night 3 sent again; a restart: nothing new.
  EXPECT_TRUE(*service_->Outcome("M1", night(4, true)));
  EXPECT_FALSE(*service_->Outcome("M1", night(3, true)));
  RelayService restarted(store_.get(), &clock_, &random_, [](const std::string&, const std::string&) { return Status::Ok(); },
                         [](const std::vector<Reading>&, const std::string&) { return Status::Ok(); }, RelayServiceOptions{});
  restarted.SetWorkOrderSink([&](const std::string& o) {
    orders.push_back(o);
    return Status::Ok();
  });
  EXPECT_FALSE(*restarted.Outcome("M1", night(4, true)));
  EXPECT_EQ(restarted.SendPendingWorkOrders(), 0);
  EXPECT_EQ(hooks, 1);
  EXPECT_EQ(orders.size(), 1u);
  EXPECT_EQ(service_->MeterView("M1", 10)->uplink_failed_nights, 4);

  // A good night ends the streak; a gap of two nights breaks one too.
  ASSERT_TRUE(*service_->Outcome("M1", night(5, false)));
  EXPECT_EQ(service_->MeterView("M1", 10)->uplink_failed_nights, 0);
  ASSERT_TRUE(*service_->Outcome("M1", night(6, true)));
  ASSERT_TRUE(*service_->Outcome("M1", night(7, true)));
  ASSERT_TRUE(*service_->Outcome("M1", night(9, true)));  // night 8 missing: not consecutive
  EXPECT_EQ(hooks, 1);
  ASSERT_TRUE(*service_->Outcome("M1", night(10, true)));
  ASSERT_TRUE(*service_->Outcome("M1", night(11, true)));  // 9, 10, 11: the next streak's order
  EXPECT_EQ(hooks, 2);
  answer = InvalidArgument("HTTP 404");  // refused for good
  EXPECT_EQ(service_->SendPendingWorkOrders(), 0);
  EXPECT_EQ(store_->ListRelayWorkOrders("M1", "failed", 0)->size(), 1u);
  EXPECT_EQ(service_->outcome_counters().work_orders_opened, 2);
  EXPECT_EQ(service_->outcome_counters().work_orders_sent, 1);
  EXPECT_EQ(service_->outcome_counters().work_orders_failed, 1);

  // A night without any own-uplink attempt is not a failed one.
  meter::RelayOutcome idle;
  idle.night_s = kNight;
  ASSERT_TRUE(*service_->Outcome("M2", idle));
  EXPECT_EQ(service_->MeterView("M2", 10)->uplink_failed_nights, 0);
  EXPECT_EQ(service_->Outcome("nobody", idle).status().code(), StatusCode::kNotFound);

  // Per night: the fanout-"all" batch counts once; per region: totals and the failing meters.
  auto m1 = service_->MeterView("M1", 100);
  ASSERT_EQ(m1->outcomes.size(), 10u);
  EXPECT_EQ(m1->outcomes[0].relay_attempts, 2);
  EXPECT_EQ(m1->outcomes[0].relay_failures, 1);
  EXPECT_EQ(m1->outcomes[0].delivered_via_relay, 96);
  EXPECT_EQ(m1->outcomes[0].uplink_failure_codes, "7,42");
  auto region = service_->RegionOutcomeView("440305001");
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->totals.reports, 11);
  EXPECT_EQ(region->totals.meters, 2);
  EXPECT_EQ(region->totals.uplink_failed_nights, 9);
  EXPECT_EQ(region->failing, (std::map<std::string, int64_t>{{"M1", 3}}));
  EXPECT_EQ(service_->outcome_counters().reports, 11);
  EXPECT_EQ(service_->outcome_counters().relay_successes, 10);
}

TEST(RelayMessagesTest, FailureCodeLists) {
  EXPECT_EQ(JoinFailureCodes({3, 7, 65535}), "3,7,65535");
  EXPECT_EQ(JoinFailureCodes({}), "");
  EXPECT_EQ(SplitFailureCodes("3,7,65535"), (std::vector<uint16_t>{3, 7, 65535}));
  EXPECT_EQ(SplitFailureCodes(""), (std::vector<uint16_t>{}));
  EXPECT_EQ(SplitFailureCodes("x,,70000,-1,5,"), (std::vector<uint16_t>{5}));  // a hand-edited row
}

TEST(RelayMessagesTest, OutcomeRoundTripAndErrorsNameTheField) {
  OutcomeMessage m;
  m.meter_id = "M1";
  m.outcome.night_s = 1700000000;
  m.outcome.uplink_attempts = 96;
  m.outcome.uplink_failures = 95;
  m.outcome.uplink_failure_codes = {3, 7};
  m.outcome.relays = {{"elecmeter_AP330106001000120", 7, 12, true}};
  m.outcome.aged_out = 2;
  m.outcome.queued = 1;
  auto back = ParseOutcomeMessage(EncodeOutcomeMessage(m));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->meter_id, "M1");
  EXPECT_EQ(back->outcome, m.outcome);
  auto more = ParseOutcomeMessage(R"({"meter":"M1","night":1,"uplink":{"attempts":1,"failures":2,"failure_codes":[]},"relays":[],"aged_out":0,"queued":0})");
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("\"failures\""), std::string::npos) << more.status().message();
  auto ssid = ParseOutcomeMessage(R"({"meter":"M1","night":1,"uplink":{"attempts":0,"failures":0,"failure_codes":[]},"relays":[{"ssid":"","failure_code":1,"readings":1,"ok":true}],"aged_out":0,"queued":0})");
  ASSERT_FALSE(ssid.ok());
  EXPECT_NE(ssid.status().message().find("relays[0]"), std::string::npos) << ssid.status().message();
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
