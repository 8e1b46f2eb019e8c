// The value formats of DL/T 645 data identifiers: decimals, sign bits, units, blocks, times.
#include "codec/dlt645/data_ids.h"

#include <gtest/gtest.h>

namespace mh::codec::dlt645 {
namespace {

std::vector<DecodedRegister> Values(uint32_t di, std::vector<uint8_t> v) {
  auto r = DecodeValues2007(di, v, 14);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<DecodedRegister>{};
}

std::string Error2007(uint32_t di, std::vector<uint8_t> v) {
  auto r = DecodeValues2007(di, v, 14);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

TEST(DataIds, SignBitsOfCombinedEnergyCurrentAndPower) {
  // Combined reactive 1 is signed; forward active is not (its top bit is a digit: 0x80 reads 80).
  auto r = Values(0x00030000, {0x00, 0x00, 0x01, 0x80});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].value, -100.0);
  EXPECT_EQ(r[0].unit, "kvarh");
  r = Values(0x00010000, {0x00, 0x00, 0x01, 0x80});
  EXPECT_DOUBLE_EQ(r[0].value, 800100.0);
  r = Values(0x02030100, {0x00, 0x50, 0x81});
  EXPECT_DOUBLE_EQ(r[0].value, -1.5);
  EXPECT_EQ(r[0].unit, "kW");
  r = Values(0x02060200, {0x00, 0x85});
  EXPECT_DOUBLE_EQ(r[0].value, -0.5);
  EXPECT_EQ(r[0].unit, std::nullopt);
}

TEST(DataIds, EveryEnergyTypeBlockHasItsOwnUnit) {
  std::vector<uint8_t> v;
  for (int i = 0; i < 11; ++i) v.insert(v.end(), {0x00, 0x01, 0x00, 0x00});
  auto r = Values(0x00ff0000, v);
  ASSERT_EQ(r.size(), 11u);
  EXPECT_EQ(r[0].channel, "00000000");
  EXPECT_EQ(r[1].unit, "kWh");
  EXPECT_EQ(r[3].channel, "00030000");
  EXPECT_EQ(r[3].unit, "kvarh");
  EXPECT_EQ(r[10].channel, "000A0000");
  EXPECT_EQ(r[10].unit, "kVAh");
  v.insert(v.end(), {0, 0, 0, 0});
  EXPECT_EQ(Error2007(0x00ff0000, v), "byte 14 (data): block 00FF0000 carries 1 to 11 values of 4 bytes, got 48 bytes");
}

TEST(DataIds, PerPhaseAndLossEnergies) {
  EXPECT_EQ(Values(0x00290000, {0x01, 0, 0, 0})[0].unit, "kWh");          // phase B forward active
  EXPECT_EQ(Values(0x00430000, {0x01, 0, 0, 0})[0].unit, "kvarh");        // phase C quadrant IV
  EXPECT_EQ(Values(0x00850000, {0x01, 0, 0, 0})[0].unit, "kWh");          // copper loss
  // Phases have no tariffs: 00150100 is not a known identifier (read as raw BCD).
  EXPECT_EQ(Values(0x00150100, {0x01, 0, 0, 0})[0].status, std::vector<std::string>{"unknown_di"});
  // Settlement days go to 0C.
  EXPECT_EQ(Values(0x0001000d, {0x01, 0, 0, 0})[0].status, std::vector<std::string>{"unknown_di"});
}

TEST(DataIds, DemandCarriesItsTime) {
  // 12.3456 kW at 2024-01-15 10:30 (read as UTC).
  auto r = Values(0x01010000, {0x56, 0x34, 0x12, 0x30, 0x10, 0x15, 0x01, 0x24});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].value, 12.3456);
  EXPECT_EQ(r[0].ts, 1705314600);
  // No demand recorded yet: zero time, no ts.
  r = Values(0x01030000, {0x00, 0x00, 0x80, 0, 0, 0, 0, 0});
  EXPECT_EQ(r[0].ts, std::nullopt);
  EXPECT_EQ(r[0].unit, "kvar");
  EXPECT_EQ(Error2007(0x01010000, {0x56, 0x34, 0x12, 0x30, 0x10, 0x32, 0x01, 0x24}),
            "byte 17 (01010000 time): 3010320124 is not a valid date/time");
  // A settlement block of demands.
  r = Values(0x010100ff, {0x01, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].channel, "01010001");
  EXPECT_DOUBLE_EQ(r[1].value, 0.0002);
}

TEST(DataIds, InstantaneousQuantities) {
  EXPECT_EQ(Values(0x02800007, {0x55, 0x82})[0].value, -25.5);  // meter temperature
  EXPECT_EQ(Values(0x02800007, {0x55, 0x82})[0].unit, "C");
  EXPECT_EQ(Values(0x0280000a, {0x00, 0x10, 0, 0})[0].unit, "min");
  EXPECT_EQ(Values(0x02070100, {0x05, 0x01})[0].unit, "deg");
  auto power = Values(0x0203ff00, {0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4});
  ASSERT_EQ(power.size(), 4u);
  EXPECT_EQ(power[0].channel, "02030000");
  EXPECT_EQ(power[3].channel, "02030300");
  // Voltage has no total: 02010000 is unknown.
  EXPECT_EQ(Values(0x02010000, {0x01, 0x22})[0].status, std::vector<std::string>{"unknown_di"});
}

TEST(DataIds, DatesAndTimes) {
  auto r = Values(0x0400010c, {0x45, 0x30, 0x10, 0x01, 0x15, 0x01, 0x24});
  EXPECT_EQ(r[0].ts, 1705314645);
  EXPECT_DOUBLE_EQ(r[0].value, 1705314645.0);
  EXPECT_EQ(r[0].unit, "s");
  EXPECT_EQ(Error2007(0x04000101, {0x01, 0x30, 0x02, 0x24}), "byte 14 (04000101): 01300224 is not a valid date/time");
  EXPECT_EQ(Error2007(0x04000102, {0x60, 0x00, 0x00}), "byte 14 (04000102): 600000 is not a valid date/time");
  EXPECT_EQ(Error2007(0x04000101, {0x07, 0x15, 0x01, 0x24}), "byte 14 (04000101): 07150124 is not a valid date/time");
}

TEST(DataIds, Edition1997) {
  auto r = DecodeValues1997(0xb63f, std::vector<uint8_t>{0, 0x50, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].channel, "B630");
  EXPECT_DOUBLE_EQ((*r)[0].value, 1.5);
  r = DecodeValues1997(0xb62f, std::vector<uint8_t>{0x12, 0x05, 0x00, 0x05, 0x88, 0x04}, 12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].channel, "B621");
  EXPECT_DOUBLE_EQ((*r)[0].value, 5.12);
  EXPECT_EQ((*r)[2].channel, "B623");
  r = DecodeValues1997(0x9410, std::vector<uint8_t>{0, 0, 1, 0}, 12);  // last month
  EXPECT_EQ((*r)[0].unit, "kWh");
  r = DecodeValues1997(0x9150, std::vector<uint8_t>{0, 0, 1, 0}, 12);  // quadrant II reactive
  EXPECT_EQ((*r)[0].unit, "kvarh");
  r = DecodeValues1997(0xa010, std::vector<uint8_t>{0x00, 0x50, 0x01}, 12);
  EXPECT_DOUBLE_EQ((*r)[0].value, 1.5);
  EXPECT_EQ((*r)[0].unit, "kW");
  r = DecodeValues1997(0xc011, std::vector<uint8_t>{0x05, 0x04, 0x03}, 12);
  EXPECT_DOUBLE_EQ((*r)[0].value, 3 * 3600 + 4 * 60 + 5);
  r = DecodeValues1997(0xb010, std::vector<uint8_t>{0x30, 0x10, 0x15, 0x01}, 12);  // demand time: no year
  EXPECT_EQ((*r)[0].status, std::vector<std::string>{"unknown_di"});
}

TEST(DataIds, Texts) {
  EXPECT_EQ(DiText2007(0x0001ff00), "0001FF00");
  EXPECT_EQ(DiText1997(0x901f), "901F");
}

}  // namespace
}  // namespace mh::codec::dlt645
