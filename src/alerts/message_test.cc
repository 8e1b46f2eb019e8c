#include "alerts/message.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace mh::alerts {
namespace {

constexpr int64_t kPeriodStart = 1603900800;  // 2020-10-28T16:00:00Z = 2020-10-29 00:00 at UTC+8
constexpr int64_t kReadingTs = 1603983600;    // 2020-10-29T15:00:00Z

store::AlertRecord SampleAlert() {
  store::AlertRecord a;
  a.id = 7;
  a.meter_id = "M1";
  a.terminal_id = "T1";
  a.period_start = kPeriodStart;
  a.ts = kReadingTs;
  a.reading = 203;
  a.period_consumption = 12.5;
  a.threshold = 10;
  a.excess = 2.5;
  return a;
}

TEST(FormatAlertTest, TextNamesMeterReadingConsumptionThresholdAndExcess) {
  Message m = FormatAlert(SampleAlert(), "kWh");
  EXPECT_EQ(m.subject, "MeterHub: abnormal consumption on meter M1");
  EXPECT_EQ(m.text,
            "MeterHub alert: meter M1 has used 12.5 kWh since 2020-10-28T16:00:00Z, 2.5 kWh over its "
            "threshold of 10 kWh. Current reading: 203 kWh at 2020-10-29T15:00:00Z.");
  EXPECT_LE(m.text.size(), 480u);  // one SMS paragraph
  EXPECT_TRUE(m.address.empty());
}

TEST(FormatAlertTest, JsonHasTheDocumentedFieldsInOrder) {
  Message m = FormatAlert(SampleAlert(), "kWh");
  EXPECT_EQ(m.json,
            R"({"type":"abnormal_consumption","alert_id":7,"meter":"M1","unit":"kWh","reading":203.0,)"
            R"("period_start":"2020-10-28T16:00:00Z","period_consumption":12.5,"estimated_consumption":0.0,)"
            R"("threshold":10.0,"excess":2.5,"timestamp":"2020-10-29T15:00:00Z"})");
}

TEST(FormatAlertTest, FloatNoiseIsRoundedAway) {
  store::AlertRecord a = SampleAlert();
  a.period_consumption = 12.3;
  a.excess = 12.3 - 10.0;  // 2.3000000000000007
  Message m = FormatAlert(a, "m³");
  auto j = nlohmann::json::parse(m.json);
  EXPECT_EQ(j["excess"].dump(), "2.3");
  EXPECT_EQ(j["unit"], "m³");
  EXPECT_NE(m.text.find("2.3 m³ over its threshold of 10 m³"), std::string::npos) << m.text;
}

TEST(MessageFromContentTest, RebuildsTheSameMessageFromTheStoredJson) {
  Message original = FormatAlert(SampleAlert(), "m³");
  Message rebuilt = MessageFromContent(original.json);
  EXPECT_EQ(rebuilt.subject, original.subject);
  EXPECT_EQ(rebuilt.text, original.text);
  EXPECT_EQ(rebuilt.json, original.json);
}

TEST(MessageFromContentTest, OtherContentPassesThrough) {
  Message plain = MessageFromContent("meter M9 went quiet");
  EXPECT_EQ(plain.text, "meter M9 went quiet");
  EXPECT_EQ(nlohmann::json::parse(plain.json)["text"], "meter M9 went quiet");

  Message with_text = MessageFromContent(R"({"type":"test","text":"hello"})");
  EXPECT_EQ(with_text.text, "hello");
  EXPECT_EQ(with_text.json, R"({"type":"test","text":"hello"})");
}

TEST(UnitForKindTest, Units) {
  EXPECT_EQ(UnitForKind("electricity"), "kWh");
  EXPECT_EQ(UnitForKind("water"), "m³");
  EXPECT_EQ(UnitForKind("gas"), "");
}

}  // namespace
}  // namespace mh::alerts
