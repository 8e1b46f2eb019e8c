// The audited meters shared by `meterhub sim audit` and the demo: cycles end where planned, the
// plugin uploads each window's open … close, attacks are applied and repaired, a seed means the
// same meter, and the ledger-row edit moves only the time.
#include "sim/audit_devices.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "audit/messages.h"
#include "meter/audit/fixed_segment.h"

namespace mh::sim {
namespace {

namespace ma = meter::audit;

class Recorder final : public ma::Uploader {
 public:
  void Upload(const ma::SignalEvent& e) override { events.push_back(e); }
  std::vector<ma::SignalEvent> events;
};

TEST(AuditDevicesTest, CleanCycleEndsWithItsSegment) {
  Recorder rec;
  AuditMeterSetup setup{ma::kResidentialQ, true, 2};
  auto dev = AuditDevice::Create("AUD-001", setup, ma::Cycle{20777, 2, 8 * 3600}, 11, 12, &rec);
  ASSERT_TRUE(dev.ok()) << dev.status().message();
  auto plan = (*dev)->BeginCycle(0.0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->attack, AuditAttack::kNone);
  EXPECT_EQ((*dev)->cycle_start(), 20777 * 86400 - 8 * 3600);
  EXPECT_EQ((*dev)->cycle_end(), 20779 * 86400 - 8 * 3600);
  (*dev)->RunTo((*dev)->cycle_start() + 3600);
  EXPECT_TRUE((*dev)->plugin().window_open());
  auto seg = (*dev)->FinishCycle();
  ASSERT_TRUE(seg.ok()) << seg.status().message();
  EXPECT_EQ(seg->cycle, (ma::Cycle{20777, 2, 8 * 3600}));
  EXPECT_EQ(seg->meter_id, "AUD-001");
  int opens = 0, closes = 0;
  for (const auto& e : rec.events) {
    opens += e.kind == ma::SignalEvent::kOpen;
    closes += e.kind == ma::SignalEvent::kClose;
  }
  EXPECT_EQ(closes, 2);
  EXPECT_EQ(opens, 3);  // window 1 of the next cycle opened at the cycle end
  EXPECT_EQ((*dev)->firmware().stored_image(), ma::DefaultFixedImage());
}

TEST(AuditDevicesTest, AttacksAreAppliedAndRepairedAndASeedMeansTheSameMeter) {
  auto run = [](uint64_t attack_seed, std::vector<std::string>* segments, int* altered_seen) -> Status {
    Recorder rec;
    MH_ASSIGN_OR_RETURN(auto dev, AuditDevice::Create("M1", AuditMeterSetup{ma::kEnterpriseQ, false, 1},
                                                      ma::Cycle{20777, 1, 0}, 5, attack_seed, &rec));
    for (int c = 0; c < 12; ++c) {
      MH_ASSIGN_OR_RETURN(AuditCyclePlan plan, dev->BeginCycle(1.0));
      if (plan.attack == AuditAttack::kAlteredCode) {
        ++*altered_seen;
        if (dev->firmware().stored_image() == ma::DefaultFixedImage()) return Internal("code attack not applied");
      }
      if (plan.attack == AuditAttack::kCompareTable) {
        // The altered line left out of the table the meter sends.
        if (dev->firmware().stored_image() == ma::DefaultFixedImage()) return Internal("table attack: code not altered");
        auto lines = ma::ParseComparisonTable(dev->compare_text());
        if (!lines.ok() || lines->size() != 8) return Internal("table attack: table not shrunk: " + dev->compare_text());
      }
      MH_ASSIGN_OR_RETURN(ma::DynamicSegment seg, dev->FinishCycle());
      segments->push_back(ma::FormatDynamicSegment(seg));
      MH_RETURN_IF_ERROR(dev->Repair());
      if (dev->firmware().stored_image() != ma::DefaultFixedImage()) return Internal("not repaired");
      if (dev->compare_text() != "mh-compare 1\n3-11\n") return Internal("table not repaired");
    }
    return Status::Ok();
  };
  std::vector<std::string> a, b, c;
  int altered = 0, ignored = 0;
  ASSERT_TRUE(run(3, &a, &altered).ok());
  ASSERT_TRUE(run(3, &b, &ignored).ok());
  ASSERT_TRUE(run(4, &c, &ignored).ok());
  EXPECT_GT(altered, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(AuditDevicesTest, MeterSetupsFollowTheSpec) {
  auto s = DrawAuditMeterSetups(100, 1, 0.2, 0.6, 50);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->size(), 100u);
  for (const auto& m : *s) {
    EXPECT_GE(m.d0, 1);
    EXPECT_LE(m.d0, m.q == ma::kEnterpriseQ ? 1 : 3);  // D <= round(w·Q)
  }
  EXPECT_FALSE(DrawAuditMeterSetups(0, 1, 0.2, 0.6, 50).ok());
}

TEST(AuditDevicesTest, ShiftedSignalPayloadMovesOnlyTheTime) {
  const std::string row = "mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=1795132800 edge=start";
  SimRng rng(9), again(9);
  auto moved = ShiftedSignalPayload(row, rng);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, *ShiftedSignalPayload(row, again));
  const std::string prefix = "mh-signal 1 day=2026-11-20 window=1/3 tz=0 t=";
  ASSERT_EQ(moved->rfind(prefix, 0), 0u) << *moved;
  ASSERT_NE(moved->find(" edge=start"), std::string::npos);
  const int64_t t = std::stoll(moved->substr(prefix.size()));
  EXPECT_GE(std::llabs(t - 1795132800), 60);
  EXPECT_LE(std::llabs(t - 1795132800), 1800);
  EXPECT_EQ(ShiftedSignalPayload("mh-signal 1 edge=start", rng).status().code(), StatusCode::kInvalidArgument);
}

// The audit server's commands: the next cycle length goes to the plugin, a request for the segments
// is answered with the request id and the segment holding the latest closed window.
TEST(AuditDevicesTest, AnswersTheAuditServersCommands) {
  Recorder rec;
  auto dev = AuditDevice::Create("AUD-001", AuditMeterSetup{ma::kResidentialQ, true, 3}, ma::Cycle{20777, 3, 0}, 11, 12, &rec);
  ASSERT_TRUE(dev.ok());
  ASSERT_TRUE((*dev)->BeginCycle(0.0).ok());
  auto none = (*dev)->HandleCommand(R"({"type":"audit_cycle","d":1,"from":"2026-11-23"})");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ((*dev)->plugin().dynamic_segment().next_d, 1);
  auto finished = (*dev)->FinishCycle();
  ASSERT_TRUE(finished.ok());
  EXPECT_EQ((*dev)->plugin().cycle().d, 1);
  auto answer = (*dev)->HandleCommand(R"({"type":"send_segments","request_id":"r-7"})");
  ASSERT_TRUE(answer.ok());
  ASSERT_TRUE(answer->has_value());
  auto m = audit::ParseSegmentsMessage(**answer);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->request_id, "r-7");
  EXPECT_EQ(m->dynamic_text, ma::FormatDynamicSegment(*finished));  // right after the cycle end
  EXPECT_EQ(m->compare_text, "mh-compare 1\n3-11\n");
  EXPECT_FALSE((*dev)->HandleCommand(R"({"type":"relay_target"})")->has_value());
  EXPECT_FALSE((*dev)->HandleCommand("{").ok());
}

}  // namespace
}  // namespace mh::sim

