#include "codec/meter/channels.h"

#include <gtest/gtest.h>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

namespace mh::codec {
namespace {

DecodedRegister Reg(std::string channel, double value, std::optional<std::string> unit) {
  DecodedRegister r;
  r.channel = std::move(channel);
  r.value = value;
  r.unit = std::move(unit);
  return r;
}

TEST(ChannelsTest, NamesEnergyAndVolumeRegistersInOneUnit) {
  EXPECT_EQ(ToChannel("dlt645", Reg("00010000", 12.5, "kWh")).channel, "import_kwh");
  EXPECT_EQ(ToChannel("dlt645", Reg("00010300", 1, "kWh")).channel, "import_kwh_t3");
  EXPECT_EQ(ToChannel("dlt645", Reg("9020", 1, "kWh")).channel, "export_kwh");
  EXPECT_EQ(ToChannel("dlt645", Reg("00030000", 1, "kvarh")).channel, "reactive_import_kvarh");
  ChannelValue dlms = ToChannel("dlms", Reg("1-0:1.8.0.255", 12345, "Wh"));
  EXPECT_EQ(dlms.channel, "import_kwh");
  EXPECT_DOUBLE_EQ(dlms.value, 12.345);
  EXPECT_EQ(ToChannel("dlms", Reg("1-0:2.8.2.255", 1, "kWh")).channel, "export_kwh_t2");
  ChannelValue litres = ToChannel("cjt188", Reg("current_cumulative_flow", 1500, "L"));
  EXPECT_EQ(litres.channel, "volume_m3");
  EXPECT_DOUBLE_EQ(litres.value, 1.5);
  EXPECT_EQ(ToChannel("wmbus", Reg("volume", 3, "m3")).channel, "volume_m3");
  ChannelValue heat = ToChannel("wmbus", Reg("energy", 2, "MWh"));
  EXPECT_EQ(heat.channel, "import_kwh");
  EXPECT_DOUBLE_EQ(heat.value, 2000);
}

TEST(ChannelsTest, OtherRegistersKeepTheirProtocolName) {
  ChannelValue volts = ToChannel("dlt645", Reg("02010100", 220.1, "V"));
  EXPECT_EQ(volts.channel, "dlt645:02010100");
  EXPECT_DOUBLE_EQ(volts.value, 220.1);
  EXPECT_EQ(ToChannel("dlms", Reg("1-0:1.7.0.255", 1, "W")).channel, "dlms:1-0:1.7.0.255");
  // A billing-period value (F != 255) is not the current register.
  EXPECT_EQ(ToChannel("dlms", Reg("1-0:1.8.0.101", 1, "kWh")).channel, "dlms:1-0:1.8.0.101");
  // An energy register in a unit MeterHub does not convert keeps its own name and value.
  EXPECT_EQ(ToChannel("wmbus", Reg("energy", 7, "GJ")).channel, "wmbus:energy");
}

TEST(ChannelsTest, CumulativeChannels) {
  EXPECT_TRUE(IsCumulativeChannel("import_kwh"));
  EXPECT_TRUE(IsCumulativeChannel("export_kwh_t4"));
  EXPECT_TRUE(IsCumulativeChannel("reactive_import_kvarh"));
  EXPECT_TRUE(IsCumulativeChannel("volume_m3"));
  EXPECT_FALSE(IsCumulativeChannel("dlt645:02010100"));
  EXPECT_FALSE(IsCumulativeChannel(""));
}

// Every DL/T 645 vector carrying total active import energy decodes to an import_kwh channel.
TEST(ChannelsTest, RealFramesMapToChannels) {
  const ProtocolDriver* driver = FindDriver("dlt645");
  ASSERT_NE(driver, nullptr);
  int seen = 0;
  for (const TestVector& v : driver->vectors) {
    if (v.expected_json.find("\"00010000\"") == std::string::npos) continue;
    auto bytes = ParseHexFrame(v.hex);
    ASSERT_TRUE(bytes.ok()) << v.name;
    auto frame = driver->decode(*bytes, DecodeKeys{});
    ASSERT_TRUE(frame.ok()) << v.name << ": " << frame.status().ToString();
    bool found = false;
    for (const DecodedRegister& r : frame->registers) found |= ToChannel("dlt645", r).channel == "import_kwh";
    EXPECT_TRUE(found) << v.name;
    ++seen;
  }
  EXPECT_GT(seen, 0);
}

TEST(ChannelsTest, Dlt645DataIdOfAChannel) {
  EXPECT_EQ(Dlt645DataIdOf("import_kwh"), "00010000");
  EXPECT_EQ(Dlt645DataIdOf("export_kwh_t2"), "00020200");
  EXPECT_EQ(Dlt645DataIdOf("dlt645:02010100"), "02010100");
  EXPECT_EQ(Dlt645DataIdOf("dlt645:0201zz00"), "");
  EXPECT_EQ(Dlt645DataIdOf("volume_m3"), "");
}

TEST(ChannelsTest, RegisterReadingsStampUndatedRegisters) {
  DecodedRegister dated{"00010000", 12.5, "kWh", 1'700'000'000, {}};
  DecodedRegister undated{"00020000", 3, "kWh", std::nullopt, {}};
  std::vector<Reading> r = RegisterReadings("dlt645", "E1", {dated, undated}, ReadingStamp(1'700'000'460, 900));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].channel, "import_kwh");
  EXPECT_EQ(r[0].ts, 1'700'000'000);
  EXPECT_EQ(r[1].channel, "export_kwh");
  EXPECT_EQ(r[1].ts, 1'700'000'100);  // 1,700,000,460 rounded to the nearest quarter hour
  EXPECT_EQ(r[1].meter_id, "E1");
}

}  // namespace
}  // namespace mh::codec
