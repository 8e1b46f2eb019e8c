// Unit tests of the wM-Bus layers: CRC and frame formats, transport-layer keys and status,
// EN 13757-3 records (DIFE numbering, data codings, VIF tables, dates) and the byte offsets
// errors name. Telegrams are built here from the standard's rules.
#include <gtest/gtest.h>

#include "codec/meter/frame_json.h"
#include "codec/wmbus/link_layer.h"
#include "codec/wmbus/records.h"
#include "codec/wmbus/wmbus.h"

namespace mh::codec {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Hex(std::string_view h) { return ParseHexFrame(h).value(); }

// L C M ("MHU") A (12345678, version 1, device type 7 = water) then `rest` (CI onwards).
Bytes Telegram(const Bytes& rest, uint8_t type = 0x07) {
  Bytes t = {0x00, 0x44, 0x15, 0x35, 0x78, 0x56, 0x34, 0x12, 0x01, type};
  t.insert(t.end(), rest.begin(), rest.end());
  t[0] = static_cast<uint8_t>(t.size() - 1);
  return t;
}

void PutCrc(Bytes& out, std::span<const uint8_t> block) {
  const uint16_t crc = wmbus::Crc16En13757(block);
  out.push_back(static_cast<uint8_t>(crc >> 8));
  out.push_back(static_cast<uint8_t>(crc));
}

Bytes FormatA(const Bytes& t) {
  Bytes out(t.begin(), t.begin() + 10);
  PutCrc(out, std::span(t).first(10));
  for (size_t i = 10; i < t.size(); i += 16) {
    const auto block = std::span(t).subspan(i, std::min<size_t>(16, t.size() - i));
    out.insert(out.end(), block.begin(), block.end());
    PutCrc(out, block);
  }
  return out;
}

Result<DecodedFrame> Decode(const Bytes& b, const DecodeKeys& keys = {}) { return DecodeWmbus(b, keys); }

// The records of a plain telegram (CI 0x78, no transport header).
Result<DecodedFrame> DecodeRecords(std::string_view records_hex) {
  Bytes rest = {0x78};
  const Bytes r = Hex(records_hex);
  rest.insert(rest.end(), r.begin(), r.end());
  return Decode(Telegram(rest));
}

const DecodedRegister* Find(const DecodedFrame& f, const std::string& channel) {
  for (const DecodedRegister& r : f.registers) {
    if (r.channel == channel) return &r;
  }
  return nullptr;
}

TEST(WmbusCrc, En13757CheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(wmbus::Crc16En13757({reinterpret_cast<const uint8_t*>(check.data()), check.size()}), 0xC2B7);
}

TEST(WmbusAddress, ManufacturerLettersAndIdDigits) {
  EXPECT_EQ(wmbus::ManufacturerCode(0x2C2D), "KAM");
  EXPECT_EQ(wmbus::ManufacturerCode(0x0000), "???");
  const uint8_t m[2] = {0x2D, 0x2C}, id[4] = {0x78, 0x56, 0x34, 0x12};
  EXPECT_EQ(wmbus::MeterAddress(m, id), "KAM12345678");
}

TEST(WmbusLinkLayer, FormatAStripsEveryCrcAndKeepsOffsets) {
  const Bytes t = Telegram(Hex("780C1378563412" "0C1378563412" "0C1378563412" "0C13785634"));
  const Bytes a = FormatA(t);
  auto tg = wmbus::ReadLinkLayer(a);
  ASSERT_TRUE(tg.ok()) << tg.status().message();
  EXPECT_EQ(tg->format, wmbus::FrameFormat::kA);
  EXPECT_EQ(tg->bytes, t);
  EXPECT_EQ(tg->Offset(10), 12u);  // the CI sits after the first block's CRC
  EXPECT_EQ(tg->Offset(26), 30u);  // the first byte of block 3
}

TEST(WmbusLinkLayer, CrcErrorsNameTheCrcBytes) {
  Bytes a = FormatA(Telegram(Hex("780C1378563412")));
  a[2] ^= 0x01;  // in block 1
  auto r = wmbus::ReadLinkLayer(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("byte 10 (CRC of block 1): expected 0x", 0), 0u) << r.status().message();
  a[2] ^= 0x01;
  a[14] ^= 0x80;  // in block 2
  r = wmbus::ReadLinkLayer(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("byte 19 (CRC of block 2)", 0), 0u) << r.status().message();
}

TEST(WmbusLinkLayer, FormatBAndCrcRemovedAreTold) {
  const Bytes t = Telegram(Hex("780C1378563412"));
  Bytes b = t;
  b[0] = static_cast<uint8_t>(t.size() + 1);  // L counts the CRC in format B
  PutCrc(b, b);
  auto fb = wmbus::ReadLinkLayer(b);
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(fb->format, wmbus::FrameFormat::kB);
  EXPECT_EQ(fb->bytes.size(), t.size());
  auto plain = wmbus::ReadLinkLayer(t);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->format, wmbus::FrameFormat::kCrcRemoved);
  EXPECT_TRUE(plain->status.empty());
}

TEST(WmbusLinkLayer, LengthMismatchAndTruncation) {
  Bytes t = Telegram(Hex("780C1378563412"));
  t.push_back(0x00);
  t.push_back(0x00);
  t.push_back(0x00);
  auto r = wmbus::ReadLinkLayer(t);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("byte 0 (L field)"), std::string::npos);
  EXPECT_FALSE(wmbus::ReadLinkLayer(Hex("0A44153578563412")).ok());
  EXPECT_FALSE(wmbus::ReadLinkLayer(Hex("0544153578563412010778")).ok());  // L below the header
}

TEST(WmbusLinkLayer, ALastBlockCrcLeftByTheReceiverIsRemovedAndFlagged) {
  Bytes t = Telegram(Hex("780C1378563412" "0C1378563412" "0C1378563412" "0C1378563412"));  // 10 + 25 bytes
  PutCrc(t, std::span(t).subspan(26));  // the last format-A block starts at 10 + 16
  t[0] = static_cast<uint8_t>(t.size() - 1);
  auto f = Decode(t);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->status, std::vector<std::string>{"trailing_crc"});
  EXPECT_EQ(f->registers.size(), 4u);
}

TEST(WmbusTransport, StatusByteFlagsAndLongHeaderAddress) {
  // CI 0x72: ID 87654321, M "ELS", version 0x33, type 3, ACC 0x2A, STS 0x1C, CW 0.
  auto f = Decode(Telegram(Hex("72214365879315330 32A1C0000 0C1378563412")));
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*f->address, "ELS87654321");
  EXPECT_EQ(f->status, (std::vector<std::string>{"power_low", "permanent_error", "temporary_error"}));
  f = Decode(Telegram(Hex("7A2AE30000 0C1378563412")));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->address, "MHU12345678");
  EXPECT_EQ(f->status, (std::vector<std::string>{"alarm", "manufacturer_status_0xe0"}));
}

TEST(WmbusTransport, UnsupportedLayersNameTheCiByte) {
  auto r = Decode(Telegram(Hex("A2112233")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "byte 10 (CI field): CI 0xa2 is a manufacturer-specific application layer (not decoded)");
  r = Decode(Telegram(Hex("7A2A000002")));  // security mode 2 (DES)
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("security mode 2 is not supported"), std::string::npos);
  r = Decode(Telegram(Hex("7A2A00")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos);
}

TEST(WmbusTransport, KeysForTheAddressWinOverTheCommonKey) {
  const ProtocolDriver& d = WmbusDriver();
  const TestVector* mode5 = nullptr;
  for (const TestVector& v : d.vectors) {
    if (v.name == "std_heat_mode5") mode5 = &v;
  }
  ASSERT_NE(mode5, nullptr);
  const Bytes frame = Hex(mode5->hex);
  DecodeKeys keys;
  keys.any.key = Bytes(16, 0x55);  // wrong for this meter
  keys.by_address["MHU12345678"].key = Hex(mode5->key_hex);
  auto f = Decode(frame, keys);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(FrameJson(*f), mode5->expected_json);
  keys.by_address.clear();
  auto wrong = Decode(frame, keys);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  keys.any.key.clear();
  EXPECT_EQ(Decode(frame, keys).status().code(), StatusCode::kFailedPrecondition);
  keys.any.key = Bytes(15, 1);
  EXPECT_EQ(Decode(frame, keys).status().code(), StatusCode::kInvalidArgument);
}

TEST(WmbusTransport, EncryptedOnTheAirButDeliveredInClearIsFlagged) {
  auto f = Decode(Telegram(Hex("7A2A001005" "2F2F0C1378563412 2F2F2F2F2F2F2F2F")));  // mode 5, 1 block
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->status, std::vector<std::string>{"already_decrypted"});
  EXPECT_DOUBLE_EQ(Find(*f, "volume")->value, 12345.678);
}

TEST(WmbusRecords, DifeChainsNumberStorageTariffAndSubunit) {
  // DIF C4: storage bit 1, int32; DIFE 86: storage 6; DIFE 51: subunit 1, tariff 1, storage 1.
  auto f = DecodeRecords("C4865113E8030000");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->registers.size(), 1u);
  EXPECT_EQ(f->registers[0].channel, "volume_storage45_tariff4_subunit2");
  EXPECT_DOUBLE_EQ(f->registers[0].value, 1.0);
}

TEST(WmbusRecords, DataCodings) {
  auto f = DecodeRecords(
      "0113FF"            // int8 -1 -> -0.001 m3
      "0613010000000080"  // int48 with the top bit: negative
      "0516 0000C03F"     // real32 1.5 (VIF 0x16: 10^0 m3)
      "0A5A 4501"         // BCD4 0145 -> 14.5 C
      "0B5A 4500F0"       // BCD6, leading F: -4.5 C
      "1A5A 9901"         // maximum: flow_temperature_max
      "2A5A 9901"         // minimum
      "3A5A 9901"         // value during error state
      "0D13 E4 10270000"  // variable length: 4-byte binary 10000 -> 10 m3
      "0D13 C2 3412"      // variable length: BCD 1234 -> 1.234 m3
      "0D78 03 414243");  // variable length text: no register
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->registers.size(), 10u);
  EXPECT_DOUBLE_EQ(f->registers[0].value, -0.001);
  EXPECT_DOUBLE_EQ(f->registers[1].value, -140737488355.327);
  EXPECT_DOUBLE_EQ(f->registers[2].value, 1.5);
  EXPECT_EQ(f->registers[2].unit, "m3");
  EXPECT_DOUBLE_EQ(f->registers[3].value, 14.5);
  EXPECT_EQ(f->registers[3].unit, "C");
  EXPECT_DOUBLE_EQ(f->registers[4].value, -4.5);
  EXPECT_EQ(f->registers[5].channel, "flow_temperature_max");
  EXPECT_EQ(f->registers[6].channel, "flow_temperature_min");
  EXPECT_EQ(f->registers[7].channel, "flow_temperature_at_error");
  EXPECT_DOUBLE_EQ(f->registers[8].value, 10);
  EXPECT_DOUBLE_EQ(f->registers[9].value, 1.234);
}

TEST(WmbusRecords, InvalidBcdIsFlaggedNotInvented) {
  auto f = DecodeRecords("0C13AB00FFFF 0C1301000000");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->registers.size(), 1u);
  EXPECT_EQ(f->status, std::vector<std::string>{"invalid_value:volume"});
}

TEST(WmbusRecords, ValueTablesAndUnits) {
  auto f = DecodeRecords(
      "0403 39300000"      // energy 10^0 Wh: 12345 Wh -> 12.345 kWh
      "040E 01000000"      // energy 10^6 J: 1 MJ -> 0.001 GJ
      "04FB01 0A000000"    // energy 10^0 MWh (FB table)
      "04FB09 0A000000"    // energy 10^0 GJ (FB table)
      "022B E803"          // power 10^0 W: 1000 W -> 1 kW
      "023B 6400"          // volume flow 10^-3 m3/h
      "0243 6400"          // volume flow 10^-4 m3/min -> m3/h x60
      "0223 0500"          // on time, days
      "0261 1E00"          // temperature difference 10^-2 K
      "0269 E803"          // pressure 10^-2 bar
      "02FD48 0909"        // voltage 10^-1 V
      "02FD59 E803"        // current 10^-3 A
      "8440FDC9FC01 E6000000"  // subunit 1, voltage at phase 1
      "0493 3C 05000000"   // volume, backward flow
      "02FD74 1027"        // remaining battery life, days
      "036F 010203"        // reserved VIF: kept raw, flagged
      "047F 01000000"      // manufacturer-specific VIF
      "0493 7F 01000000"   // manufacturer-specific VIFE
  );
  ASSERT_TRUE(f.ok()) << f.status().message();
  auto check = [&](size_t i, const char* channel, double value, std::optional<std::string> unit) {
    ASSERT_LT(i, f->registers.size());
    EXPECT_EQ(f->registers[i].channel, channel) << i;
    EXPECT_DOUBLE_EQ(f->registers[i].value, value) << channel;
    EXPECT_EQ(f->registers[i].unit, unit) << channel;
  };
  check(0, "energy", 12.345, "kWh");
  check(1, "energy", 0.001, "GJ");
  check(2, "energy", 10, "MWh");
  check(3, "energy", 10, "GJ");
  check(4, "power", 1, "kW");
  check(5, "volume_flow", 0.1, "m3/h");
  check(6, "volume_flow", 0.6, "m3/h");
  check(7, "on_time", 5, "d");
  check(8, "temperature_difference", 0.3, "K");
  check(9, "pressure", 10, "bar");
  check(10, "voltage", 231.3, "V");
  check(11, "current", 1, "A");
  check(12, "voltage_phase1_subunit1", 230, "V");
  check(13, "volume_backward", 0.005, "m3");
  check(14, "remaining_battery_life", 10000, "d");
  check(15, "vif_6f", 0x030201, std::nullopt);
  EXPECT_EQ(f->registers[15].status, std::vector<std::string>{"unknown_vif"});
  check(16, "manufacturer_specific", 1, std::nullopt);
  EXPECT_EQ(f->registers[16].status, std::vector<std::string>{"manufacturer_specific"});
  EXPECT_EQ(f->registers[17].channel, "volume");
  EXPECT_EQ(f->registers[17].status, std::vector<std::string>{"manufacturer_specific"});
}

TEST(WmbusRecords, DatesAreTimestampsOfTheirStorage) {
  // Clock 2024-03-15 10:30 (type F), volume now, volume at storage 1 dated 2023-12-31 (type G).
  auto f = DecodeRecords("046D1E0A0F33 0C1301000000 426CFF2C 4C1302000000");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(Find(*f, "datetime")->ts, 1710498600);
  EXPECT_EQ(Find(*f, "volume")->ts, 1710498600);
  EXPECT_EQ(Find(*f, "date_storage1")->ts, 1703980800);
  EXPECT_EQ(Find(*f, "volume_storage1")->ts, 1703980800);
  const uint8_t g[2] = {0xFF, 0x2C}, f4[4] = {0x1E, 0x0A, 0x0F, 0x33}, i6[6] = {0x05, 0x1E, 0x0A, 0x0F, 0x33, 0x00};
  EXPECT_EQ(wmbus::DateTypeG(g), 1703980800);
  EXPECT_EQ(wmbus::DateTypeF(f4), 1710498600);
  EXPECT_EQ(wmbus::DateTypeI(i6), 1710498605);
  const uint8_t invalid_f[4] = {0x9E, 0x0A, 0x0F, 0x33}, unset_g[2] = {0xFF, 0xFF}, feb30[2] = {0x1E, 0x22};
  EXPECT_EQ(wmbus::DateTypeF(invalid_f), std::nullopt);
  EXPECT_EQ(wmbus::DateTypeG(unset_g), std::nullopt);
  EXPECT_EQ(wmbus::DateTypeG(feb30), std::nullopt);
}

TEST(WmbusRecords, ManufacturerDataAndTruncationsAreNamed) {
  auto f = DecodeRecords("0C1301000000 0F 0102030405");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->registers.size(), 1u);
  EXPECT_EQ(f->status, std::vector<std::string>{"manufacturer_data"});
  auto r = DecodeRecords("0C13010000");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "byte 13 (record 1 data): truncated: needs 4 bytes, 3 remain");
  r = DecodeRecords("0C1301000000 8C");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "byte 18 (record 2 DIFE): truncated: the record ends in its DIFEs");
  r = DecodeRecords("0C93");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("VIFE"), std::string::npos);
  r = DecodeRecords("3F");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reserved"), std::string::npos);
  r = DecodeRecords("8C8080808080808080808013");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 10 DIFEs"), std::string::npos);
}

}  // namespace
}  // namespace mh::codec
