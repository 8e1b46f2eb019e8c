// The audit server without transports: a simulated meter's signals and segments go in as the MQTT
// payloads, commissioning registers the code and table of registered meters only, a clean meter
// passes, an altered fixed segment (whatever table the meter sends) or an altered ledger row raises
// the alarm and the inspection order is recorded and sent; segments are fetched on request, a
// silent meter is audited on its stored ones and ordered inspected after max_silent misses; the
// next cycle length goes out at a cycle's start; bad payloads are refused; the ledger key file is
// created 0600 and reloaded.
#include "audit/audit_service.h"

#include <sys/stat.h>

#include <thread>

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
  explicit Fixture(bool with_commands = false, AuditServiceOptions o = {}) {
    readings.Register("M1");
    readings.Register("M2");
    AuditServiceIo io;
    io.send_order = [this](const alerts::Message& m) {
      if (next_send.ok()) sent.push_back(m);
      return next_send;
    };
    if (with_commands) {
      io.send_command = [this](const std::string& meter, const std::string& payload) -> Status {
        std::lock_guard lock(commands_mu);
        commands.emplace_back(meter, payload);
        if (on_command) on_command(meter, payload);
        return Status::Ok();
      };
    }
    io.readings = &readings;
    if (o.segments_timeout_ms == AuditServiceOptions{}.segments_timeout_ms) o.segments_timeout_ms = 300;
    service = std::make_unique<AuditService>(ledger.get(), store.get(), &clock, io, o);
  }
  Status Commission(const std::string& meter, const std::string& image, int64_t at, const std::string& table = "") {
    CommissionRequest c;
    c.fixed_image = image;
    c.registered_at = at;
    c.compare_text = table;
    return service->Commission(meter, c).status();
  }

  SimulatedClock clock{(kT0 + 3 * 86400 + 60) * 1000};
  std::unique_ptr<AuditLedger> ledger = AuditLedger::InMemory(clock, std::string(32, 5)).value();
  std::unique_ptr<store::AuditStore> store = store::NewMemoryAuditStore();
  MemoryConsumptionSource readings;
  std::vector<alerts::Message> sent;
  Status next_send = Status::Ok();
  std::mutex commands_mu;
  std::vector<std::pair<std::string, std::string>> commands;
  std::function<void(const std::string&, const std::string&)> on_command;
  std::unique_ptr<AuditService> service;

  // Runs the seed's 3-day example cycle for `meter`, uploading through the service; returns the
  // segments message the meter would send at the end.
  std::string RunMeter(const std::string& meter, const std::string& stored_image,
                       const std::string& table = ma::FormatComparisonTable(ma::DefaultComparisonLines())) {
    ServiceUploader up(service.get());
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
    return FormatSegmentsMessage({(*fw)->stored_image(), dynamic, table, ""});
  }
};

TEST(AuditServiceTest, CleanMeterPassesAndIsRecorded) {
  Fixture f;
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service->HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  auto r = f.service->Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->pass);
  EXPECT_EQ(r->id, 1);
  EXPECT_EQ(r->audited_at, kT0 + 3 * 86400 + 60);
  EXPECT_TRUE(r->alarms.empty());
  EXPECT_TRUE(f.sent.empty());
  EXPECT_EQ(*f.store->Results("M1", 10), std::vector<store::AuditResultRow>{*r});
  EXPECT_EQ(f.service->Run("M2", "request").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*f.service->RunAll("schedule"), 1);
  EXPECT_EQ(f.store->Results("", 10)->front().trigger, "schedule");
}

TEST(AuditServiceTest, AlteredCodeOpensAndSendsAnOrder) {
  Fixture f;
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  ASSERT_TRUE(f.service->HandleSegments("M1", f.RunMeter("M1", altered)).ok());
  auto r = f.service->Run("M1", "request");
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
  auto again = f.service->Run("M1", "request");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->order_id, order_id + "-2");
  EXPECT_EQ(f.sent.size(), 2u);
  order = f.store->GetOrder(order_id);
  ASSERT_TRUE(order.ok() && order->has_value());
  EXPECT_EQ((*order)->attempts, 1);
}

TEST(AuditServiceTest, AlteredLedgerRowAndARetriedOrder) {
  Fixture f;
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service->HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  auto rows = f.ledger->EntriesOf("M1");
  ASSERT_TRUE(rows.ok());
  const LedgerEntry& row = (*rows)[2];
  std::string payload = row.payload;
  payload.replace(payload.find(" t="), 3, " t=1");
  ASSERT_TRUE(f.ledger->Tamper(row.key, payload));
  f.next_send = Unavailable("webhook: 503");
  auto r = f.service->Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->alarms, std::vector<std::string>{"ledger-alarm"});
  auto order = *f.store->GetOrder(r->order_id);
  EXPECT_EQ(order->state, "open");
  EXPECT_EQ(order->attempts, 1);
  EXPECT_EQ(order->last_error, "webhook: 503");
  f.next_send = Status::Ok();
  EXPECT_EQ(f.service->SendPendingOrders(), 1);
  EXPECT_EQ((*f.store->GetOrder(r->order_id))->state, "sent");
  EXPECT_EQ((*f.store->GetOrder(r->order_id))->attempts, 2);
  f.next_send = InvalidArgument("webhook: 404");
  f.clock.AdvanceMillis(1000);
  auto again = f.service->Run("M1", "request");
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
  // Only commissioned meters' signals go into the ledger (it keeps them forever).
  EXPECT_EQ(f.service->HandleSignal("M1", SignalMessage(e)).message(), "audit signal of meter 'M1', which is not commissioned");
  EXPECT_EQ(f.ledger->size(), 0);
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), 5).ok());
  EXPECT_EQ(f.ledger->size(), 2);  // the code and the table
  ASSERT_TRUE(f.service->HandleSignal("M1", SignalMessage(e)).ok());
  ASSERT_TRUE(f.service->HandleSignal("M1", SignalMessage(e)).ok());  // redelivered: a no-op
  EXPECT_EQ(f.ledger->size(), 3);
  ma::SignalEvent moved = e;
  moved.t += 60;
  EXPECT_EQ(f.service->HandleSignal("M1", SignalMessage(moved)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(f.service->HandleSignal("M1", "nope").message(), "audit signal: not a JSON object");
  EXPECT_EQ(f.service->HandleSignal("M1", R"({"seq":1,"day":20777})").message(),
            "audit signal: field 'signal' missing or of the wrong type");
  EXPECT_EQ(f.service->HandleSignal("M1", R"({"seq":1,"day":20778,"signal":"mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=1795140000 edge=start"})")
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(f.service->HandleSegments("M1", R"({"fixed_image_hex":"zz","dynamic":"","compare":""})").message(),
            "audit segments: field 'fixed_image_hex' is not hex");
  EXPECT_FALSE(f.service->HandleSegments("M2", f.RunMeter("M1", ma::DefaultFixedImage())).ok());  // another meter's
  EXPECT_EQ(f.Commission("M1", "", 0).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), 5).ok());
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), 5).ok());
  EXPECT_EQ(f.Commission("M1", "mh-fixed 1\nEND\n", 5).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(f.Commission("M1", ma::DefaultFixedImage(), 5, "mh-compare 1\n1\n").code(), StatusCode::kAlreadyExists);
}

TEST(AuditServiceTest, ScheduleAuditsEveryMeterWithSegments) {
  Fixture f;
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  ASSERT_TRUE(f.service->HandleSegments("M1", f.RunMeter("M1", ma::DefaultFixedImage())).ok());
  f.service->StartSchedule(1);
  EXPECT_TRUE(testing::WaitFor([&] { return f.service->audits() >= 1; }, 10));
  f.service->Stop();
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

// Issue 10 item 15: the ledger keeps whatever goes in, so only registered meters are commissioned.
TEST(AuditServiceTest, UnknownMetersAreNotCommissioned) {
  Fixture f;
  CommissionRequest c;
  c.fixed_image = ma::DefaultFixedImage();
  auto unknown = f.service->Commission("GHOST", c);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(),
            "meter 'GHOST' is not registered: register it first (POST /api/v1/meters), then commission it");
  EXPECT_EQ(f.ledger->size(), 0);
  EXPECT_EQ(f.service->Commission("bad id!", c).status().code(), StatusCode::kInvalidArgument);
  c.user_attribute = "household";
  EXPECT_EQ(f.service->Commission("M1", c).status().code(), StatusCode::kInvalidArgument);
  c.user_attribute = "enterprise";
  c.region = "11010";
  EXPECT_EQ(f.service->Commission("M1", c).status().code(), StatusCode::kInvalidArgument);
  c.region = "110101001";
  c.compare_text = "mh-compare 1\nseven\n";
  EXPECT_EQ(f.service->Commission("M1", c).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.ledger->size(), 0);
  c.compare_text.clear();
  auto ok = f.service->Commission("M1", c);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->appended);
  EXPECT_EQ(ok->compare_text, "mh-compare 1\n3-11\n");  // the reference table when none is given
  EXPECT_EQ((*f.store->GetMeter("M1"))->user_attribute, "enterprise");
  EXPECT_EQ((*f.store->GetMeter("M1"))->region, "110101001");
  auto again = f.service->Commission("M1", c);  // no registered_at: the same registration again
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->appended);
}

// Issue 11 item 1: the meter's own table is ignored (and noted); the ledger's catches the altered
// line. A firmware update is a re-commissioning, and the audit uses the latest.
TEST(AuditServiceTest, TheMetersTableIsIgnoredAndRecommissioningCounts) {
  Fixture f;
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  ASSERT_TRUE(f.service->HandleSegments("M1", f.RunMeter("M1", altered, "mh-compare 1\n1\n")).ok());
  auto r = f.service->Run("M1", "request");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->alarms, std::vector<std::string>{"code-alarm line 7"});
  EXPECT_EQ(r->segments, "stored");
  EXPECT_EQ(r->notes, std::vector<std::string>{
                          "the meter's comparison table (lines 1) differs from the registered one (lines 3-11): ignored"});

  CommissionRequest update;
  update.fixed_image = altered;  // say the new divisor were a legitimate firmware change
  update.compare_text = "mh-compare 1\n3-11\n";
  EXPECT_EQ(f.service->Recommission("M9", update).status().code(), StatusCode::kInvalidArgument);  // no reason
  update.reason = "firmware 2.0: new divisor";
  EXPECT_EQ(f.service->Recommission("M2", update).status().code(), StatusCode::kNotFound);  // never commissioned
  auto re = f.service->Recommission("M1", update);
  ASSERT_TRUE(re.ok()) << re.status().ToString();
  EXPECT_EQ(re->number, 1);
  EXPECT_TRUE(re->appended);
  const int64_t size = f.ledger->size();
  auto retried = f.service->Recommission("M1", update);  // its answer lost: not a third one
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->number, 1);
  EXPECT_FALSE(retried->appended);
  EXPECT_EQ(f.ledger->size(), size);
  auto after = f.service->Run("M1", "request");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->pass) << after->reasons.front();
}

// Issue 11 item 4: a requested audit asks the meter for its segments and waits for that answer.
TEST(AuditServiceTest, SegmentsFetchedOnRequestAndSilence) {
  AuditServiceOptions o;
  o.segments_timeout_ms = 200;
  o.max_silent = 2;
  o.max_waiting_runs = 1;
  Fixture f(/*with_commands=*/true, o);
  ASSERT_TRUE(f.Commission("M1", ma::DefaultFixedImage(), kT0 - 86400).ok());
  const std::string unasked = f.RunMeter("M1", ma::DefaultFixedImage());
  // No segments at all and silent: nothing to audit (one miss counted).
  EXPECT_EQ(f.service->Run("M1", "request").status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*f.store->GetMeter("M1"))->silent_misses, 1);
  // The meter answers from its own thread, echoing the request id.
  std::vector<std::thread> meters;
  f.on_command = [&](const std::string& meter, const std::string& payload) {
    auto command = ParseAuditCommand(payload);
    ASSERT_TRUE(command.ok());
    const auto* send = std::get_if<SendSegmentsCommand>(&*command);
    if (!send) return;
    auto m = *ParseSegmentsMessage(unasked);
    m.request_id = send->request_id;
    meters.emplace_back([&f, meter, answer = FormatSegmentsMessage(m)] { EXPECT_TRUE(f.service->HandleSegments(meter, answer).ok()); });
  };
  auto fresh = f.service->Run("M1", "request");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->pass);
  EXPECT_EQ(fresh->segments, "fresh");
  EXPECT_FALSE(fresh->silent);
  EXPECT_EQ((*f.store->GetMeter("M1"))->silent_misses, 0);
  for (auto& t : meters) t.join();
  meters.clear();
  // Silent: the stored segments (the answer above), flagged; the second miss in a row orders an inspection.
  f.on_command = nullptr;
  auto silent = f.service->Run("M1", "request");
  ASSERT_TRUE(silent.ok()) << silent.status().ToString();
  EXPECT_TRUE(silent->pass);
  EXPECT_EQ(silent->segments, "stored");
  EXPECT_TRUE(silent->silent);
  EXPECT_NE(silent->notes.at(0).find("did not answer the request for its segments"), std::string::npos) << silent->notes[0];
  auto second = f.service->Run("M1", "request");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->pass);
  EXPECT_EQ(second->alarms, std::vector<std::string>{"silence-alarm misses 2"});
  EXPECT_FALSE(second->order_id.empty());
  EXPECT_EQ(f.service->silent_requests(), 3u);
  // The scheduled pass audits the stored segments without asking.
  const size_t asked = f.commands.size();
  EXPECT_EQ(*f.service->RunAll("schedule"), 1);
  EXPECT_EQ(f.commands.size(), asked);
  // One run may wait at a time here: a second one meanwhile is turned away (503, Retry-After).
  std::thread waiting([&] { (void)f.service->Run("M1", "request"); });
  ASSERT_TRUE(testing::WaitFor([&] {
    std::lock_guard lock(f.commands_mu);
    return f.commands.size() > asked;
  }, 5));
  EXPECT_EQ(f.service->Run("M1", "request").status().code(), StatusCode::kUnavailable);
  waiting.join();
}

// Issue 11 item 3: at the open of a cycle's first window the meter is sent its next cycle length,
// from its readings against its region's.
TEST(AuditServiceTest, NextCycleLengthSentAtACyclesStart) {
  Fixture f(/*with_commands=*/true);
  for (const char* m : {"M1", "M2", "M3"}) {
    f.readings.AddReading(m, kT0 - 30 * 86400, 0);
    f.readings.AddReading(m, kT0 - 60, 300);
    CommissionRequest c;
    c.fixed_image = ma::DefaultFixedImage();
    c.region = "110101001";
    c.user_attribute = std::string(m) == "M3" ? "enterprise" : "residential";
    ASSERT_TRUE(f.service->Commission(m, c).ok());
  }
  ma::SignalEvent open{"M1", kDay, 1, 3, 0, 0, kT0, ma::SignalEvent::kOpen, false};
  ASSERT_TRUE(f.service->HandleSignal("M1", SignalMessage(open)).ok());
  open.meter_id = "M3";
  ASSERT_TRUE(f.service->HandleSignal("M3", SignalMessage(open)).ok());
  ma::SignalEvent later = open;
  later.meter_id = "M1";
  later.seq = 1;
  later.kind = ma::SignalEvent::kStart;
  later.t += 60;
  ASSERT_TRUE(f.service->HandleSignal("M1", SignalMessage(later)).ok());  // not a cycle start: nothing sent
  ASSERT_EQ(f.commands.size(), 2u);
  EXPECT_EQ(f.commands[0], (std::pair<std::string, std::string>{"M1", R"({"d":3,"from":"2026-11-23","type":"audit_cycle"})"}));
  EXPECT_EQ(f.commands[1], (std::pair<std::string, std::string>{"M3", R"({"d":1,"from":"2026-11-23","type":"audit_cycle"})"}));
  auto m1 = *f.store->GetMeter("M1");
  EXPECT_EQ(m1->cycle_d, 3);
  EXPECT_EQ(m1->cycle_from, kDay + 3);
  EXPECT_EQ(f.service->cycles_sent(), 2u);
}

}  // namespace
}  // namespace mh::audit

