// The plugin driven by the firmware model on the seed's examples (SPEC 4.2, 4.4): a 0–8 h window
// with metering 2–3 h and 5–7 h gives two slot pairs and suffix 4, the first monitoring times go
// out in real time; a signal running across a window edge gives a pseudo start/end with a label.
#include "meter/audit/plugin.h"

#include <gtest/gtest.h>

namespace mh::meter::audit {
namespace {

constexpr int64_t kDay = 20777;                   // 2026-11-20
constexpr int64_t kMidnight = kDay * kDaySeconds;  // UTC
constexpr int64_t kH = 3600;

class Recorder : public Uploader {
 public:
  void Upload(const SignalEvent& e) override { events.push_back(e); }
  std::vector<SignalEvent> events;
};

struct Rig {
  Recorder up;
  AuditPlugin plugin;
  std::unique_ptr<MeterFirmware> fw;
  explicit Rig(int64_t start = kMidnight, Cycle c = {kDay, 3, 0}) : plugin("M1", c, &up) {
    FirmwareOptions fo;
    fo.tz_offset_s = c.tz_offset_s;
    fw = std::move(MeterFirmware::Create(DefaultFixedImage(), &plugin, fo).value());
    fw->AdvanceTo(start);
  }
};

SignalEvent Ev(int64_t seq, int64_t t, SignalEvent::Kind k, bool on, int window = 1, int64_t day = kDay) {
  return {"M1", day, window, 3, 0, seq, t, k, on};
}

TEST(AuditPluginTest, SeedWindowTwoIntervals) {
  Rig r;
  r.fw->SetPower(kMidnight + 2 * kH, 1000);
  r.fw->SetPower(kMidnight + 3 * kH, 0);
  r.fw->SetPower(kMidnight + 5 * kH, 2000);
  r.fw->SetPower(kMidnight + 7 * kH, 0);
  // Real time: the edges are uploaded as they happen, before the window closes.
  EXPECT_EQ(r.up.events.size(), 5u);
  r.fw->AdvanceTo(kMidnight + 8 * kH);
  EXPECT_EQ(r.up.events, (std::vector<SignalEvent>{
                             Ev(0, kMidnight, SignalEvent::kOpen, false),
                             Ev(1, kMidnight + 2 * kH, SignalEvent::kStart, true),
                             Ev(2, kMidnight + 3 * kH, SignalEvent::kStop, false),
                             Ev(3, kMidnight + 5 * kH, SignalEvent::kStart, true),
                             Ev(4, kMidnight + 7 * kH, SignalEvent::kStop, false),
                             Ev(5, kMidnight + 8 * kH, SignalEvent::kClose, false),
                         }));
  const DynamicSegment& s = r.plugin.dynamic_segment();
  ASSERT_EQ(s.lines.size(), 1u);
  EXPECT_EQ(FormatWindowLine(s.lines[0]), "W1 2026-11-20 expect=0 [7200,10800] [18000,25200] #4");
  EXPECT_EQ(s.next_d, 3);
  // 1 kWh off-peak + 4 kWh off-peak, computed by the fixed segment through the interface.
  EXPECT_DOUBLE_EQ(r.fw->energy_kwh(), 5.0);
  EXPECT_DOUBLE_EQ(r.fw->charge(), 5 * 0.35);
  EXPECT_DOUBLE_EQ(r.fw->true_energy_kwh(), 5.0);
}

TEST(AuditPluginTest, OutsideTheWindowNothingIsRecorded) {
  Rig r;
  r.fw->SetPower(kMidnight + 9 * kH, 1000);  // day 1 monitors 0–8 h only
  r.fw->SetPower(kMidnight + 10 * kH, 0);
  r.fw->AdvanceTo(kMidnight + 12 * kH);
  EXPECT_EQ(r.up.events.size(), 2u);  // open and close of window 1
  EXPECT_EQ(FormatWindowLine(r.plugin.dynamic_segment().lines[0]), "W1 2026-11-20 expect=0 #0");
}

TEST(AuditPluginTest, PseudoStartAndEndWithLabels) {
  Rig r;
  // Day 2 monitors 8–16 h. Energy flows from 06:00 to 10:00 (across 08:00), and from 15:00 on
  // (still flowing at 16:00): pseudo start at slot 0 and pseudo end at slot 28800, labelled.
  const int64_t d2 = kMidnight + kDaySeconds;
  r.fw->SetPower(d2 + 6 * kH, 500);
  r.fw->SetPower(d2 + 10 * kH, 0);
  r.fw->SetPower(d2 + 15 * kH, 500);
  r.fw->AdvanceTo(d2 + 17 * kH);
  const DynamicSegment& s = r.plugin.dynamic_segment();
  ASSERT_EQ(s.lines.size(), 2u);
  EXPECT_EQ(FormatWindowLine(s.lines[1]), "W2 2026-11-21 expect=0 [S0,7200] [25200,E28800] #4");
  EXPECT_EQ(s.start_labels, 1);
  EXPECT_EQ(s.end_labels, 1);
  EXPECT_EQ(s.next_d, 3);  // 3 / 1.2 = 2.5 → 3
  const auto& ev = r.up.events;
  ASSERT_EQ(ev.size(), 2u + 4u);
  EXPECT_EQ(ev[2], Ev(0, d2 + 8 * kH, SignalEvent::kOpen, true, 2, kDay + 1));
  EXPECT_EQ(ev[3], Ev(1, d2 + 10 * kH, SignalEvent::kStop, false, 2, kDay + 1));
  EXPECT_EQ(ev[4], Ev(2, d2 + 15 * kH, SignalEvent::kStart, true, 2, kDay + 1));
  EXPECT_EQ(ev[5], Ev(3, d2 + 16 * kH, SignalEvent::kClose, true, 2, kDay + 1));
}

TEST(AuditPluginTest, SignalAcrossAWholeWindowAndTheNextCycle) {
  Rig r(kMidnight - 2 * kH);
  // The seed: metering all through 8–16 h → [S0,E28800], two labels. Flowing all day every day of
  // the cycle: every window gets both labels.
  r.fw->SetPower(kMidnight - kH, 300);
  r.fw->AdvanceTo(kMidnight + 3 * kDaySeconds - 1);
  const DynamicSegment& s = r.plugin.dynamic_segment();
  ASSERT_EQ(s.lines.size(), 2u);  // window 3 still open
  EXPECT_EQ(FormatWindowLine(s.lines[1]), "W2 2026-11-21 expect=0 [S0,E28800] #2");
  EXPECT_EQ(s.start_labels, 3);
  EXPECT_EQ(s.end_labels, 2);
  EXPECT_EQ(s.next_d, 2);  // 3 / 1.5
  DynamicSegment finished;
  r.plugin.SetCycleEndHook([&](const DynamicSegment& seg) { finished = seg; });
  r.fw->AdvanceTo(kMidnight + 3 * kDaySeconds);
  ASSERT_EQ(finished.lines.size(), 3u);
  EXPECT_EQ(finished.end_labels, 3);
  EXPECT_EQ(finished.next_d, 2);  // s1 + s2 = 6: round(3 / 1.6) = 2
  // The next cycle: D' = 2 days, windows of 12 h, starting 2026-11-23; no suffix carries over
  // because the windows changed.
  EXPECT_EQ(r.plugin.cycle(), (Cycle{kDay + 3, 2, 0}));
  // After it (2 days, 4 labels → D' = round(3 / 1.4) = 2), the third cycle's first 12 h window
  // expects the 2 slots its predecessor counted.
  r.fw->AdvanceTo(kMidnight + 5 * kDaySeconds + 12 * kH);
  EXPECT_EQ(FormatDynamicSegment(r.plugin.dynamic_segment()),
            "mh-dynamic 1\nmeter M1\ncycle 2026-11-25 D=2 tz=0 next=3 labels=1,1\n"
            "W1 2026-11-25 expect=2 [S0,E43200] #2\n");
}

TEST(AuditPluginTest, SuffixIsNextCyclesExpectedCount) {
  Rig r;
  for (int cycle = 0; cycle < 2; ++cycle) {
    const int64_t base = kMidnight + cycle * 3 * kDaySeconds;
    r.fw->SetPower(base + 2 * kH, 1000);
    r.fw->SetPower(base + 3 * kH, 0);
    r.fw->SetPower(base + 5 * kH, 1000);
    r.fw->SetPower(base + 7 * kH, 0);
  }
  r.fw->AdvanceTo(kMidnight + 3 * kDaySeconds + 9 * kH);
  EXPECT_EQ(FormatWindowLine(r.plugin.dynamic_segment().lines[0]),
            "W1 2026-11-23 expect=4 [7200,10800] [18000,25200] #4");
}

TEST(AuditPluginTest, BypassAndHiddenCopyLeaveTheInterfaceIdle) {
  Rig r;
  r.fw->SetPower(kMidnight + 2 * kH, 1000);
  r.fw->SetMode(kMidnight + 2 * kH + 1800, ProcessorMode::kBypassed);
  r.fw->SetMode(kMidnight + 2 * kH + 2700, ProcessorMode::kNormal);
  r.fw->SetPower(kMidnight + 3 * kH, 0);
  r.fw->AdvanceTo(kMidnight + 8 * kH);
  // The ledger sees one interval 2–3 h; the interface saw two, 15 minutes short.
  EXPECT_EQ(FormatWindowLine(r.plugin.dynamic_segment().lines[0]), "W1 2026-11-20 expect=0 [7200,9000] [9900,10800] #4");
  EXPECT_DOUBLE_EQ(r.fw->energy_kwh(), 0.75);
  EXPECT_DOUBLE_EQ(r.fw->true_energy_kwh(), 1.0);

  Rig h;
  auto altered = FixedProgram::Compile("mh-fixed 1\nMUL R0 P DT\nDIV R0 R0 7200000\nADD E E R0\n");
  ASSERT_TRUE(altered.ok());
  h.fw->SetHiddenProgram(std::move(*altered));
  h.fw->SetMode(kMidnight, ProcessorMode::kHiddenCopy);
  h.fw->SetPower(kMidnight + 2 * kH, 1000);
  h.fw->SetPower(kMidnight + 3 * kH, 0);
  h.fw->AdvanceTo(kMidnight + 8 * kH);
  EXPECT_EQ(h.fw->stored_image(), DefaultFixedImage());
  EXPECT_DOUBLE_EQ(h.fw->energy_kwh(), 0.5);
  EXPECT_EQ(FormatWindowLine(h.plugin.dynamic_segment().lines[0]), "W1 2026-11-20 expect=0 #0");
  EXPECT_EQ(h.up.events.size(), 4u);  // the signal is still seen: open, start, stop, close
}

TEST(AuditPluginTest, EnterpriseDailyCycleInUtcPlus8) {
  // D = 1: the whole local day is the window; local midnight is 16:00 UTC the day before.
  const int32_t tz = 8 * 3600;
  const int64_t local_midnight = kMidnight - tz;
  Rig r(local_midnight - kH, Cycle{kDay, 1, tz});
  r.fw->SetPower(local_midnight + 9 * kH, 2000);  // 09:00–10:00 local: peak tariff
  r.fw->SetPower(local_midnight + 10 * kH, 0);
  r.fw->AdvanceTo(local_midnight + kDaySeconds - 1);
  EXPECT_FALSE(r.plugin.dynamic_segment().lines.size());
  EXPECT_TRUE(r.plugin.window_open());
  DynamicSegment finished;
  r.plugin.SetCycleEndHook([&](const DynamicSegment& seg) { finished = seg; });
  r.fw->AdvanceTo(local_midnight + kDaySeconds);
  ASSERT_EQ(finished.lines.size(), 1u);
  EXPECT_EQ(FormatWindowLine(finished.lines[0]), "W1 2026-11-20 expect=0 [32400,36000] #2");
  EXPECT_EQ(r.plugin.cycle(), (Cycle{kDay + 1, 3, tz}));  // D' = 3 without labels
  EXPECT_DOUBLE_EQ(r.fw->charge(), 2 * 0.62);  // the tariff follows local hours
  EXPECT_EQ(r.up.events[0].t, local_midnight);
  EXPECT_EQ(r.up.events[0].tz_offset_s, tz);
}

// SPEC 4.1 at the head-end: the server's D takes the place of C in D' = max(1, round(D / (1 + λ·(s1 +
// s2)))), from the cycle starting on `from` on, and stays until another comes. An enterprise meter
// (D = 1) is watched daily cycle after cycle, whatever its labels.
TEST(AuditPluginTest, TheHeadEndsCycleLengthReplacesC) {
  Rig r(kMidnight - kH);
  r.plugin.SetServerCycleLength(1, kDay + 3);  // for the cycle after this one
  EXPECT_EQ(r.plugin.dynamic_segment().next_d, 1);
  r.fw->SetPower(kMidnight - 1800, 300);  // flowing all the time: labels in every window
  std::vector<Cycle> cycles;
  r.plugin.SetCycleEndHook([&](const DynamicSegment& s) { cycles.push_back(s.cycle); });
  r.fw->AdvanceTo(kMidnight + 6 * kDaySeconds);
  ASSERT_EQ(cycles.size(), 4u);
  EXPECT_EQ(cycles[0], (Cycle{kDay, 3, 0}));
  for (int i = 1; i < 4; ++i) EXPECT_EQ(cycles[i], (Cycle{kDay + 2 + i, 1, 0})) << i;
  EXPECT_EQ(r.plugin.cycle().d, 1);

  // A residential meter: the server's D = 5 with s1 + s2 = 2 labels → round(5 / 1.2) = 4.
  Rig q(kMidnight - kH);
  q.plugin.SetServerCycleLength(5, kDay + 3);
  q.fw->SetPower(kMidnight + kDaySeconds + 6 * kH, 500);  // 06:00-10:00 on day 2: a pseudo start
  q.fw->SetPower(kMidnight + kDaySeconds + 10 * kH, 0);
  q.fw->SetPower(kMidnight + 2 * kDaySeconds + 15 * kH, 500);  // 15:00-17:00 on day 3: a pseudo start
  q.fw->SetPower(kMidnight + 2 * kDaySeconds + 17 * kH, 0);
  q.fw->AdvanceTo(kMidnight + 3 * kDaySeconds);
  EXPECT_EQ(q.plugin.cycle(), (Cycle{kDay + 3, 4, 0}));
  // A command for a later cycle waits for it; meanwhile the D in force stays (5, no labels yet).
  q.plugin.SetServerCycleLength(2, kDay + 20);
  EXPECT_EQ(q.plugin.dynamic_segment().next_d, 5);
  q.fw->AdvanceTo(kMidnight + 7 * kDaySeconds);
  EXPECT_EQ(q.plugin.cycle(), (Cycle{kDay + 7, 5, 0}));
  q.plugin.SetServerCycleLength(0, kDay + 7);  // nonsense is ignored
  EXPECT_EQ(q.plugin.dynamic_segment().next_d, 5);
}

// Asked for its segments, the meter sends the one holding its latest closed window: right after a
// cycle end that is the finished cycle (the new one has none yet).
TEST(AuditPluginTest, ReportedSegmentIsTheLatestClosedWindows) {
  Rig r;
  r.fw->SetPower(kMidnight + 2 * kH, 1000);
  r.fw->SetPower(kMidnight + 3 * kH, 0);
  EXPECT_TRUE(r.plugin.ReportedSegment().lines.empty());  // nothing closed yet: the live one
  r.fw->AdvanceTo(kMidnight + 3 * kDaySeconds + kH);
  const DynamicSegment& after = r.plugin.ReportedSegment();
  EXPECT_EQ(after.cycle, (Cycle{kDay, 3, 0}));
  EXPECT_EQ(after.lines.size(), 3u);
  r.fw->AdvanceTo(kMidnight + 3 * kDaySeconds + 8 * kH);  // window 1 of the next cycle closed
  EXPECT_EQ(r.plugin.ReportedSegment().cycle.first_day, kDay + 3);
  EXPECT_EQ(r.plugin.ReportedSegment().lines.size(), 1u);
}

}  // namespace
}  // namespace mh::meter::audit
