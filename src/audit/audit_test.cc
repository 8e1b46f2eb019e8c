// The audit's code and time checks on meters run through the firmware model and the plugin, with
// the seed's examples: a clean cycle passes; each attack of SPEC 4.7 raises its alarm.
#include "audit/audit.h"

#include <gtest/gtest.h>

#include "meter/audit/firmware.h"
#include "meter/audit/plugin.h"

namespace mh::audit {
namespace {

namespace ma = meter::audit;
constexpr int64_t kDay = 20777;  // 2026-11-20
constexpr int64_t kT0 = kDay * ma::kDaySeconds;
constexpr int64_t kH = 3600;

// One meter through one 3-day cycle: the seed's day 1 (2–3 h, 5–7 h in window 1), day 2 06:00–10:00
// (pseudo start in window 2), day 3 18:00–19:00.
struct MeterRun {
  InMemoryLedger ledger;
  LedgerUploader uploader{&ledger};
  ma::AuditPlugin plugin{"M1", ma::Cycle{kDay, 3, 0}, &uploader};
  std::unique_ptr<ma::MeterFirmware> fw;
  ma::DynamicSegment finished;

  explicit MeterRun(const std::string& stored = ma::DefaultFixedImage()) {
    // Commissioning: the code and the comparison table (lines 3-11) into the ledger.
    EXPECT_TRUE(ledger
                    .AppendAll({EncodeCodeRegistration("M1", ma::DefaultFixedImage(), kT0 - ma::kDaySeconds),
                                EncodeComparisonTable("M1", ma::FormatComparisonTable(ma::DefaultComparisonLines()),
                                                      kT0 - ma::kDaySeconds, "commissioning")})
                    .ok());
    fw = std::move(ma::MeterFirmware::Create(stored, &plugin).value());
    plugin.SetCycleEndHook([this](const ma::DynamicSegment& s) { finished = s; });
    fw->AdvanceTo(kT0 - kH);
  }
  void Day1() {
    fw->SetPower(kT0 + 2 * kH, 1000);
    fw->SetPower(kT0 + 3 * kH, 0);
    fw->SetPower(kT0 + 5 * kH, 2000);
    fw->SetPower(kT0 + 7 * kH, 0);
  }
  void Rest() {
    const int64_t d2 = kT0 + ma::kDaySeconds, d3 = kT0 + 2 * ma::kDaySeconds;
    fw->SetPower(d2 + 6 * kH, 500);
    fw->SetPower(d2 + 10 * kH, 0);
    fw->SetPower(d3 + 18 * kH, 1500);
    fw->SetPower(d3 + 19 * kH, 0);
    fw->AdvanceTo(kT0 + 3 * ma::kDaySeconds);  // the cycle ends: `finished` holds its segment
  }
  Result<AuditResult> Audit(const std::string& image) {
    return RunAudit(ledger, "M1", image, finished, ma::DefaultComparisonLines(), kT0 + 3 * ma::kDaySeconds);
  }
};

std::vector<std::string> Lines(const AuditResult& r) {
  std::vector<std::string> out;
  for (const auto& a : r.alarms) out.push_back(a.Line());
  return out;
}

TEST(SubPeriodsTest, SeedExample) {
  // Ledger table of window 0–8 h: 2–3 h and 5–7 h → two sub-periods.
  using E = ma::SignalEvent;
  std::vector<E> ev = {{"M1", kDay, 1, 3, 0, 0, kT0, E::kOpen, false},
                       {"M1", kDay, 1, 3, 0, 1, kT0 + 2 * kH, E::kStart, true},
                       {"M1", kDay, 1, 3, 0, 2, kT0 + 3 * kH, E::kStop, false},
                       {"M1", kDay, 1, 3, 0, 3, kT0 + 5 * kH, E::kStart, true},
                       {"M1", kDay, 1, 3, 0, 4, kT0 + 7 * kH, E::kStop, false},
                       {"M1", kDay, 1, 3, 0, 5, kT0 + 8 * kH, E::kClose, false}};
  bool closed = false;
  auto p = SubPeriodsOf(ev, ma::Cycle{kDay, 3, 0}, 1, &closed);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(closed);
  EXPECT_EQ(*p, (std::vector<ma::SlotPair>{{7200, 10800, false, false}, {18000, 25200, false, false}}));
  ev.erase(ev.begin() + 2);
  EXPECT_EQ(SubPeriodsOf(ev, ma::Cycle{kDay, 3, 0}, 1, &closed).status().message(), "event 2 is missing");
}

TEST(AuditTest, CleanCyclePasses) {
  MeterRun r;
  r.Day1();
  r.Rest();
  EXPECT_EQ(ma::FormatWindowLine(r.finished.lines[0]), "W1 2026-11-20 expect=0 [7200,10800] [18000,25200] #4");
  EXPECT_EQ(ma::FormatWindowLine(r.finished.lines[1]), "W2 2026-11-21 expect=0 [S0,7200] #2");
  auto a = r.Audit(r.fw->stored_image());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->pass()) << a->alarms.front().Line() << ": " << a->alarms.front().detail;
  EXPECT_EQ(a->lines_compared, 9);
  EXPECT_EQ(a->windows_checked, 3);
  EXPECT_FALSE(InspectionOrderFor(*a).has_value());
}

TEST(AuditTest, MidCycleAuditChecksClosedWindowsOnly) {
  MeterRun r;
  r.Day1();
  r.fw->AdvanceTo(kT0 + ma::kDaySeconds + 9 * kH);  // window 2 open
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), r.plugin.dynamic_segment(), ma::DefaultComparisonLines(), 0);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->pass());
  EXPECT_EQ(a->windows_checked, 1);
}

TEST(AuditTest, AlteredFixedSegmentIsACodeAlarm) {
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  MeterRun r(altered);
  r.Day1();
  r.Rest();
  EXPECT_DOUBLE_EQ(r.fw->true_energy_kwh() * 0.9, r.fw->energy_kwh());
  auto a = r.Audit(r.fw->stored_image());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"code-alarm line 7"}));
  auto order = InspectionOrderFor(*a);
  ASSERT_TRUE(order.has_value());
  EXPECT_EQ(order->priority, "high");
  EXPECT_EQ(order->order_id, "INS-M1-" + std::to_string(kT0 + 3 * ma::kDaySeconds));
  EXPECT_EQ(order->reasons, (std::vector<std::string>{"code-alarm line 7: differs from the registered code"}));
  // A line outside the comparison table (the comment on line 2) is not compared.
  std::string comment = ma::DefaultFixedImage();
  comment.replace(comment.find("; MeterHub"), 10, "; Patched ");
  auto b = r.Audit(comment);
  EXPECT_TRUE(b->has(Alarm::kTime) == false && b->has(Alarm::kCode) == false);
}

TEST(AuditTest, ReplayedOriginalCodeIsATimeAlarm) {
  MeterRun r;
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("RATE 8 22 0.62"), 14, "RATE 8 22 0.10");
  r.fw->SetHiddenProgram(ma::FixedProgram::Compile(altered).value());
  r.fw->SetMode(kT0 - kH, ma::ProcessorMode::kHiddenCopy);
  r.Day1();
  r.Rest();
  auto a = r.Audit(r.fw->stored_image());  // the stored (original) image: code check passes
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 1", "time-alarm window 2", "time-alarm window 3"}));
  EXPECT_EQ(a->alarms[0].detail, "2 metering sub-periods in the ledger, 0 slot pairs in the dynamic segment");
  EXPECT_EQ(InspectionOrderFor(*a)->priority, "normal");
}

TEST(AuditTest, BypassForPartOfAWindowIsATimeAlarm) {
  MeterRun r;
  r.fw->SetPower(kT0 + 5 * kH, 2000);
  r.fw->SetMode(kT0 + 6 * kH, ma::ProcessorMode::kBypassed);  // the last hour of 5–7 h not metered
  r.fw->SetPower(kT0 + 7 * kH, 0);
  r.fw->SetMode(kT0 + 7 * kH, ma::ProcessorMode::kNormal);
  r.Rest();
  auto a = r.Audit(r.fw->stored_image());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 1"}));
  EXPECT_EQ(a->alarms[0].detail, "sub-period 1: ledger [18000,25200], slots [18000,21600]");
}

TEST(AuditTest, ToleranceIsOneSecond) {
  MeterRun r;
  r.Day1();
  r.Rest();
  auto seg = r.finished;
  seg.lines[0].pairs[1].end += 1;
  EXPECT_TRUE(RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, ma::DefaultComparisonLines(), 0)->pass());
  seg.lines[0].pairs[1].end += 1;
  EXPECT_EQ(Lines(*RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, ma::DefaultComparisonLines(), 0)),
            (std::vector<std::string>{"time-alarm window 1"}));
  seg = r.finished;
  seg.lines[1].suffix = 4;
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, ma::DefaultComparisonLines(), 0);
  EXPECT_EQ(a->alarms.at(0).detail, "suffix #4 but 1 slot pairs");
  seg = r.finished;
  seg.lines.pop_back();
  a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, ma::DefaultComparisonLines(), 0);
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 3"}));
}

TEST(AuditTest, AlteredLedgerRow) {
  MeterRun r;
  r.Day1();
  r.Rest();
  auto entries = r.ledger.EntriesOf("M1");
  LedgerEntry start = entries.at(3);  // after the code and the table: window 1, seq 1, the 02:00 start
  ASSERT_EQ(start.key, (EntryKey{"M1", kDay, 1}));
  std::string moved = start.payload;
  moved.replace(moved.find(std::to_string(kT0 + 2 * kH)), 10, std::to_string(kT0 + 2 * kH + 600));
  ASSERT_TRUE(r.ledger.Tamper(start.key, moved));
  // The ledger's own check (the proof, here the leaf hash) catches it first.
  auto a = r.Audit(r.fw->stored_image());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"ledger-alarm"}));
  EXPECT_EQ(InspectionOrderFor(*a)->priority, "high");
  // Served without verification, the time check catches it too.
  r.ledger.set_verify(false);
  a = r.Audit(r.fw->stored_image());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 1"}));
}

TEST(AuditTest, StaleDynamicSegmentAndErrors) {
  MeterRun r;
  r.Day1();
  r.Rest();
  r.fw->AdvanceTo(kT0 + 4 * ma::kDaySeconds);  // the next cycle has begun: the ledger moved on
  auto a = r.Audit(r.fw->stored_image());
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 1"}));
  auto seg = r.finished;
  seg.meter_id = "M2";
  const std::vector<int> one{1};
  EXPECT_EQ(RunAudit(r.ledger, "M1", "", seg, one, 0).status().message(), "the dynamic segment is meter 'M2', not 'M1'");
  EXPECT_EQ(RunAudit(r.ledger, "M2", "", seg, one, 0).status().code(), StatusCode::kNotFound);
}

TEST(AuditTest, SegmentWithAnotherCycleShape) {
  MeterRun r;
  r.Day1();
  r.Rest();
  auto seg = r.finished;
  seg.cycle.d = 2;  // claims 12 h windows: the ledger's window 1/3 does not fit
  seg.lines.pop_back();
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, ma::DefaultComparisonLines(), 0);
  ASSERT_TRUE(a.ok());
  // Window 3 of the ledger (day 3) also lies after the claimed 2-day cycle: stale.
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 1", "time-alarm window 2", "time-alarm window 3"}));
  EXPECT_EQ(a->alarms[0].detail,
            "the ledger's times are for window 1/3, the dynamic segment's cycle puts window 1/2 here");
  // A ledger event missing from the middle of a window (deleted row, no proofs) is caught too.
  r.ledger.set_verify(false);
  InMemoryLedger copy(false);
  for (const auto& e : r.ledger.EntriesOf("M1")) {
    if (!(e.key == EntryKey{"M1", kDay + 1, 1})) {
      ASSERT_TRUE(copy.Append(e).ok());
    }
  }
  auto b = RunAudit(copy, "M1", r.fw->stored_image(), r.finished, ma::DefaultComparisonLines(), 0);
  EXPECT_EQ(Lines(*b), (std::vector<std::string>{"time-alarm window 2"}));
  EXPECT_EQ(b->alarms[0].detail, "the ledger's first monitoring times: event 1 is missing");
}

// Issue 11's hole: a meter with altered code that sends a table listing only line 1 passed. The
// lines compared are the ledger's, set at commissioning; what the meter says is ignored.
TEST(AuditTest, TheComparisonTableIsTheLedgers) {
  std::string altered = ma::DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  MeterRun r(altered);
  r.Day1();
  r.Rest();
  const std::vector<int> meters_table{1};
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), r.finished, meters_table, kT0 + 3 * ma::kDaySeconds);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"code-alarm line 7"}));
  EXPECT_EQ(a->table, ma::DefaultComparisonLines());
  EXPECT_EQ(a->ledger_table, ma::DefaultComparisonLines());
  EXPECT_EQ(a->lines_compared, 9);
  EXPECT_EQ(FormatLineList(a->table), "3-11");
  EXPECT_EQ(FormatLineList({1, 3, 4, 5, 9}), "1, 3-5, 9");
}

// A firmware update is a re-commissioning: new entries; the audit uses the latest.
TEST(AuditTest, ReCommissioningAppendsAndTheLatestCounts) {
  std::string updated = ma::DefaultFixedImage();
  updated.replace(updated.find("RATE 8 22 0.62"), 14, "RATE 8 22 0.66");  // a new tariff
  MeterRun r(updated);
  r.Day1();
  r.Rest();
  EXPECT_EQ(Lines(*r.Audit(r.fw->stored_image())), (std::vector<std::string>{"code-alarm line 4"}));
  ASSERT_TRUE(r.ledger
                  .AppendAll({EncodeCodeRegistration("M1", updated, kT0 + kH, 1),
                              EncodeComparisonTable("M1", "mh-compare 1\n3-12\n", kT0 + kH, "tariff update 2026-11", 1)})
                  .ok());
  auto a = r.Audit(r.fw->stored_image());
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->pass());
  EXPECT_EQ(a->lines_compared, 10);
  EXPECT_EQ(Lines(*r.Audit(ma::DefaultFixedImage())), (std::vector<std::string>{"code-alarm line 4"}));
}

// A meter commissioned before tables went into the ledger: the fallback, or no audit at all.
TEST(AuditTest, LedgerWithoutATable) {
  InMemoryLedger ledger;
  ASSERT_TRUE(ledger.Append(EncodeCodeRegistration("M1", ma::DefaultFixedImage(), 1)).ok());
  ma::DynamicSegment seg;
  seg.meter_id = "M1";
  seg.cycle = ma::Cycle{kDay, 3, 0};
  auto a = RunAudit(ledger, "M1", ma::DefaultFixedImage(), seg, ma::DefaultComparisonLines(), 0);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->pass());
  EXPECT_FALSE(a->ledger_table.has_value());
  EXPECT_EQ(a->lines_compared, 9);
  EXPECT_EQ(RunAudit(ledger, "M1", ma::DefaultFixedImage(), seg, std::nullopt, 0).status().code(),
            StatusCode::kFailedPrecondition);
}

// Labels lengthen or shorten the next cycle (D'): a pseudo start/end must be a signal running at
// the window edge in the ledger, and such an interval must carry its label.
TEST(AuditTest, LabelsAreChecked) {
  MeterRun r;
  r.Day1();
  r.Rest();
  ASSERT_TRUE(r.Audit(r.fw->stored_image())->pass());
  auto seg = r.finished;
  ASSERT_TRUE(seg.lines[1].pairs[0].start_label);  // W2 [S0,7200]: running since 06:00
  seg.lines[1].pairs[0].start_label = false;
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, std::nullopt, 0);
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 2"}));
  EXPECT_EQ(a->alarms[0].detail,
            "sub-period 1: the ledger shows the signal running at the window start, the slot pair has no S label");
  // The labels dropped from the cycle line's count only (D' = 3 / (1 + 0.1 * 0) instead of 3 / 1.1).
  seg = r.finished;
  seg.start_labels = 0;
  a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, std::nullopt, 0);
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 3"}));
  EXPECT_EQ(a->alarms[0].detail, "the cycle line counts labels=0,0 but the window lines carry 1 S and 0 E labels");
}

TEST(AuditTest, ALabelWithoutASignalRunningIsATimeAlarm) {
  MeterRun r;
  const int64_t w2 = kT0 + ma::kDaySeconds + 8 * kH;  // window 2 opens at 08:00 on day 2
  r.fw->SetPower(w2, 700);                            // the load starts exactly then: no pseudo start
  r.fw->SetPower(w2 + kH, 0);
  r.fw->AdvanceTo(kT0 + 3 * ma::kDaySeconds);
  ASSERT_EQ(ma::FormatWindowLine(r.finished.lines[1]), "W2 2026-11-21 expect=0 [0,3600] #2");
  ASSERT_TRUE(r.Audit(r.fw->stored_image())->pass());
  auto seg = r.finished;
  seg.lines[1].pairs[0].start_label = true;  // [S0,3600]
  seg.start_labels = 1;
  auto a = RunAudit(r.ledger, "M1", r.fw->stored_image(), seg, std::nullopt, 0);
  EXPECT_EQ(Lines(*a), (std::vector<std::string>{"time-alarm window 2"}));
  EXPECT_EQ(a->alarms[0].detail,
            "sub-period 1: an S label (pseudo start) where the ledger shows no signal running at the window start");
}

}  // namespace
}  // namespace mh::audit
