// The audit server without transports: a simulated meter's signals and segments go in as the MQTT
// payloads, commissioning registers the code, a clean meter passes, an altered fixed segment or an
// altered ledger row raises the alarm and the inspection order is recorded and sent; bad payloads
// are refused; the ledger key file is created 0600 and reloaded.
#include "audit/audit_service.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "meter/audit/dynamic_segment.h"
#include "meter/audit/firmware.h"
#include "meter/audit/fixed_segment.h"
#include "support/test_env.h"

namespace mh::audit {
namespace {

namespace ma = meter::audit;
constexpr int64_t kDay = 20777;
constexpr int64_t kT0 = kDay * 86400;
constexpr int64_t kH = 3600;

class ServiceUploader final : public ma::Uploader {
 public:
  explicit ServiceUploader(AuditService* s) : s_(s) {}
  void Upload(const ma::SignalEvent& e) override {
    if (!s_->HandleSignal(e.meter_id, SignalMessage(e)).ok()) ++failures;
  }
  int failures = 0;

 private:
  AuditService* s_;
};

struct Fixture {
  SimulatedClock clock{(kT0 + 3 * 86400 + 60) * 1000};
  std::unique_ptr<AuditLedger> ledger = AuditLedger::InMemory(clock, std::string(32, 5)).value();
  std::unique_ptr<store::AuditStore> store = store::NewMemoryAuditStore();
  std::vector<alerts::Message> sent;
  Status next_send = Status::Ok();
  AuditService service{ledger.get(), store.get(), &clock, [this](const alerts::Message& m) {
                         if (next_send.ok()) sent.push_back(m);
                         return next_send;
                       }};

  // Runs the seed's 3-day example cycle for `meter`, uploading through the service; returns the
  // segments message the meter would send at the end.
  std::string RunMeter(const std::string& meter, const std::string& stored_image) {
    ServiceUploader up(&service);
    ma::AuditPlugin plugin(meter, ma::Cycle{kDay, 3, 0}, &up);
    std::string dynamic;
    plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) { dynamic = ma::FormatDynamicSegment(s); });
    auto fw = ma::MeterFirmware::Create(stored_image, &plugin);
    EXPECT_TRUE(fw.ok());
    (*fw)->AdvanceTo(kT0 - kH);
    (*fw)->SetPower(kT0 + 2 * kH, 1000);
    (*fw)->SetPower(kT0 + 3 * kH, 0);
    (*fw)->SetPower(kT0 + 5 * kH, 2000);
    (*fw)->SetPower(kT0 + 7 * kH, 0);
    (*fw)->AdvanceTo(kT0 + 3 * 86400);
    EXPECT_EQ(up.failures, 0);
    return SegmentsMessage((*fw)->stored_image(), dynamic, ma::FormatComparisonTable(ma::DefaultComparisonLines()));
  }
};

TEST(AuditServiceTest, CleanMeterPassesAndIsRecorded) {
  Fixture f;
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service.HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  auto r = f.service.Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->pass);
  EXPECT_EQ(r->id, 1);
  EXPECT_EQ(r->audited_at, kT0 + 3 * 86400 + 60);
  EXPECT_TRUE(r->alarms.empty());
  EXPECT_TRUE(f.sent.empty());
  EXPECT_EQ(*f.store->Results("M1", 10), std::vector<store::AuditResultRow>{*r});
  EXPECT_EQ(f.service.Run("M2", "request").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*f.service.RunAll("schedule"), 1);
  EXPECT_EQ(f.store->Results("", 10)->front().trigger, "schedule");
}

TEST(AuditServiceTest, AlteredCodeOpensAndSendsAnOrder) {
  Fixture f;
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  ASSERT_TRUE(f.service.HandleSegments("M1", f.RunMeter("M1", altered)).ok());
  auto r = f.service.Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->pass);
  EXPECT_EQ(r->alarms, std::vector<std::string>{"code-alarm line 7"});
  const std::string order_id = "INS-M1-" + std::to_string(kT0 + 3 * 86400 + 60);
  EXPECT_EQ(r->order_id, order_id);
  ASSERT_EQ(f.sent.size(), 1u);
  auto j = nlohmann::json::parse(f.sent[0].json);
  EXPECT_EQ(j["type"], "inspection_order");
  EXPECT_EQ(j["order_id"], order_id);
  EXPECT_EQ(j["meter"], "M1");
  EXPECT_EQ(j["priority"], "high");
  EXPECT_EQ(j["alarms"], nlohmann::json::array({"code-alarm line 7"}));
  auto order = f.store->GetOrder(order_id);
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->state, "sent");
  EXPECT_EQ((*order)->attempts, 1);
  // Audited again in the same second: a second order of its own, the first one kept as sent.
  auto again = f.service.Run("M1", "request");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->order_id, order_id + "-2");
  EXPECT_EQ(f.sent.size(), 2u);
  order = f.store->GetOrder(order_id);
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->attempts, 1);
}

TEST(AuditServiceTest, AlteredLedgerRowAndARetriedOrder) {
  Fixture f;
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service.HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  auto rows = f.ledger->EntriesOf("M1");
  ASSERT_TRUE(rows.ok());
  const LedgerEntry& row = (*rows)[2];
  std::string payload = row.payload;
  payload.replace(payload.find(" t="), 3, " t=1");
  ASSERT_TRUE(f.ledger->Tamper(row.key, payload));
  f.next_send = Unavailable("webhook: 503");
  auto r = f.service.Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->alarms, std::vector<std::string>{"ledger-alarm"});
  auto order = *f.store->GetOrder(r->order_id);
  EXPECT_EQ(order->state, "open");
  EXPECT_EQ(order->attempts, 1);
  EXPECT_EQ(order->last_error, "webhook: 503");
  f.next_send = Status::Ok();
  EXPECT_EQ(f.service.SendPendingOrders(), 1);
  EXPECT_EQ((*f.store->GetOrder(r->order_id))->state, "sent");
  EXPECT_EQ((*f.store->GetOrder(r->order_id))->attempts, 2);
  f.next_send = InvalidArgument("webhook: 404");
  f.clock.AdvanceMillis(1000);
  auto again = f.service.Run("M1", "request");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*f.store->GetOrder(again->order_id))->state, "failed");  // never retried
}

TEST(AuditServiceTest, SignalsAreIdempotentAndBadPayloadsRefused) {
  Fixture f;
  ma::SignalEvent e;
  e.meter_id = "M1";
  e.day = kDay;
  e.window = 1;
  e.d = 3;
  e.seq = 1;
  e.t = kT0 + 7200;
  e.kind = ma::SignalEvent::kStart;
  e.on = true;
  ASSERT_TRUE(f.service.HandleSignal("M1", SignalMessage(e)).ok());
  ASSERT_TRUE(f.service.HandleSignal("M1", SignalMessage(e)).ok());  // redelivered: a no-op
  EXPECT_EQ(f.ledger->size(), 1);
  ma::SignalEvent moved = e;
  moved.t += 60;
  EXPECT_EQ(f.service.HandleSignal("M1", SignalMessage(moved)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(f.service.HandleSignal("M1", "nope").message(), "audit signal: not a JSON object");
  EXPECT_EQ(f.service.HandleSignal("M1", R"({"seq":1,"day":20777})").message(),
            "audit signal: field 'signal' missing or of the wrong type");
  EXPECT_EQ(f.service.HandleSignal("M1", R"({"seq":1,"day":20778,"signal":"mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=1795140000 edge=start"})")
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(f.service.HandleSegments("M1", R"({"fixed_image_hex":"zz","dynamic":"","compare":""})").message(),
            "audit segments: field 'fixed_image_hex' is not hex");
  EXPECT_FALSE(f.service.HandleSegments("M2", f.RunMeter("M1", ma::DefaultFixedImage())).ok());  // another meter's
  EXPECT_EQ(f.service.Commission("M1", "", 0).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), 5).ok());
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), 5).ok());
  EXPECT_EQ(f.service.Commission("M1", "mh-fixed 1\nEND\n", 5).code(), StatusCode::kAlreadyExists);
}

TEST(AuditServiceTest, ScheduleAuditsEveryMeterWithSegments) {
  Fixture f;
  ASSERT_TRUE(f.service.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service.HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  f.service.StartSchedule(1);
  EXPECT_TRUE(testing::WaitFor([&] { return f.service.audits() >= 1; }, 10));
  f.service.Stop();
  auto rows = f.store->Results("M1", 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_FALSE(rows->empty());
  EXPECT_EQ(rows->front().trigger, "schedule");
  EXPECT_TRUE(rows->front().pass);
}

TEST(AuditServiceTest, LedgerKeyFile) {
  testing::TempDir dir("audit-key");
  const std::string path = dir / "keys/ledger.key";
  auto k1 = LoadOrCreateLedgerKey(path);
  ASSERT_TRUE(k1.ok()) << k1.status().message();
  EXPECT_EQ(k1->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto k2 = LoadOrCreateLedgerKey(path);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k1, *k2);
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(LoadOrCreateLedgerKey(path).status().code(), StatusCode::kFailedPrecondition);
  ::chmod(path.c_str(), 0600);
  testing::WriteFile(path, "short\n");
  EXPECT_EQ(LoadOrCreateLedgerKey(path).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mh::audit
