// The firmware model: ticks split at local hours (exact tariff), the signal threshold, the
// interface seen by an observer, re-flashing, and time that never runs backwards.
#include "meter/audit/firmware.h"

#include <gtest/gtest.h>

namespace mh::meter::audit {
namespace {

constexpr int64_t kT0 = 20777 * 86400;  // 2026-11-20 00:00 UTC

class Log : public FirmwareObserver {
 public:
  void AdvanceTo(int64_t) override {}
  void OnSignal(int64_t t, bool on) override { lines.push_back((on ? "signal-on " : "signal-off ") + std::to_string(t - kT0)); }
  void OnInvocationStart(int64_t t) override { lines.push_back("enter " + std::to_string(t - kT0)); }
  void OnInvocationEnd(int64_t t) override { lines.push_back("leave " + std::to_string(t - kT0)); }
  std::vector<std::string> lines;
};

TEST(MeterFirmwareTest, TariffFollowsTheHourAcrossATick) {
  Log log;
  auto fw = MeterFirmware::Create(DefaultFixedImage(), &log).value();
  fw->AdvanceTo(kT0);
  fw->SetPower(kT0 + 7 * 3600 + 1800, 1000);  // 07:30–08:30: half off-peak, half peak
  fw->SetPower(kT0 + 8 * 3600 + 1800, 0);
  EXPECT_DOUBLE_EQ(fw->energy_kwh(), 1.0);
  EXPECT_DOUBLE_EQ(fw->charge(), 0.5 * 0.35 + 0.5 * 0.62);
  EXPECT_EQ(log.lines, (std::vector<std::string>{"signal-on 27000", "enter 27000", "signal-off 30600", "leave 30600"}));
}

TEST(MeterFirmwareTest, ThresholdAndPowerChanges) {
  Log log;
  auto fw = MeterFirmware::Create(DefaultFixedImage(), &log).value();
  fw->AdvanceTo(kT0);
  fw->SetPower(kT0 + 10, 0.5);   // below 1 W: no metering signal
  fw->SetPower(kT0 + 20, 100);
  fw->SetPower(kT0 + 30, 200);   // still on: no new edge
  fw->SetPower(kT0 + 40, 0);
  EXPECT_EQ(log.lines, (std::vector<std::string>{"signal-on 20", "enter 20", "signal-off 40", "leave 40"}));
  EXPECT_DOUBLE_EQ(fw->true_energy_kwh(), (100 * 10 + 200 * 10) / 3.6e6);
  EXPECT_DOUBLE_EQ(fw->energy_kwh(), fw->true_energy_kwh());
}

TEST(MeterFirmwareTest, ReflashAndLateEvents) {
  Log log;
  auto fw = MeterFirmware::Create(DefaultFixedImage(), &log).value();
  fw->AdvanceTo(kT0);
  fw->SetPower(kT0, 1000);
  std::string altered = DefaultFixedImage();
  altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 7200000");
  ASSERT_TRUE(fw->ReplaceFixedSegment(kT0 + 3600, altered).ok());
  EXPECT_EQ(fw->stored_image(), altered);
  fw->SetPower(kT0 + 7200, 0);
  EXPECT_DOUBLE_EQ(fw->energy_kwh(), 1.5);  // 1 kWh, then half of the next
  EXPECT_FALSE(fw->ReplaceFixedSegment(kT0 + 7200, "mh-fixed 1\nBOGUS\n").ok());
  EXPECT_EQ(fw->stored_image(), altered);
  fw->SetPower(kT0 + 100, 500);  // late: happens at the last time seen
  EXPECT_EQ(log.lines.back(), "enter 7200");
  EXPECT_FALSE(MeterFirmware::Create("not an image", &log).ok());
}

}  // namespace
}  // namespace mh::meter::audit
