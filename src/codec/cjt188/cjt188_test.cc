// CJ/T 188: corrupt checksums, truncated frames, bad lengths, unknown identifiers, abnormal
// answers, both DI byte orders, the encoder round trip. Whole 901F answers are driver vectors.
#include "codec/cjt188/cjt188.h"

#include <gtest/gtest.h>

#include "codec/meter/frame_json.h"

namespace mh::codec::cjt188 {
namespace {

std::vector<uint8_t> Hex(const std::string& text) { return *ParseHexFrame(text); }

std::string Error(const std::vector<uint8_t>& bytes) {
  auto f = Decode(bytes, {});
  EXPECT_FALSE(f.ok()) << FrameJson(*f);
  return f.ok() ? "" : f.status().message();
}

const std::array<uint8_t, 7> kAddr = *AddressBytes("12345678901234");

std::vector<uint8_t> Answer(std::vector<uint8_t> data, uint8_t type = kColdWater, uint8_t control = 0x81) {
  return EncodeFrame(type, kAddr, control, data, 0);
}

const char kFoxAnswer[] =
    "68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16";

TEST(Cjt188, CorruptChecksumNamesItsByte) {
  auto f = Hex(kFoxAnswer);
  f[33] = 0x14;
  EXPECT_EQ(Error(f), "byte 33 (checksum): expected 0x13, got 0x14");
  f = Hex(kFoxAnswer);
  f[15] ^= 0x01;  // a flipped flow bit
  EXPECT_EQ(Error(f), "byte 33 (checksum): expected 0x12, got 0x13");
}

TEST(Cjt188, EveryTruncationIsAnErrorNamingAByte) {
  auto f = Hex(std::string("FE FE ") + kFoxAnswer);
  for (size_t n = 0; n < f.size(); ++n) {
    const std::string e = Error(std::vector<uint8_t>(f.begin(), f.begin() + static_cast<long>(n)));
    EXPECT_EQ(e.rfind("byte ", 0), 0u) << n << ": " << e;
  }
}

TEST(Cjt188, BadMarkersAndLengths) {
  auto f = Hex(kFoxAnswer);
  f[0] = 0x67;
  EXPECT_EQ(Error(f), "byte 0 (start): expected 0x68, got 0x67");
  f = Hex(kFoxAnswer);
  f[34] = 0x15;
  EXPECT_EQ(Error(f), "byte 34 (end): expected 0x16, got 0x15");
  f = Hex(kFoxAnswer);
  f.push_back(0x00);
  EXPECT_EQ(Error(f), "byte 35 (end): 1 bytes after the frame's end (L=22)");
  // A 901F answer that is neither the water (22 bytes) nor the heat (46) layout.
  EXPECT_EQ(Error(Answer({0x1f, 0x90, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2c})),
            "byte 10 (length): a 901F answer carries 22 bytes (water, gas) or 46 (heat), L=8");
  EXPECT_EQ(Error(Answer({0x1f, 0x90})), "byte 10 (length): a frame carries DI0 DI1 SER before its values, L=2");
  EXPECT_EQ(Error(Answer({0x21, 0xd1, 0x00, 0x01})), "byte 10 (length): a D121 answer carries 8 bytes, L=4");
  EXPECT_EQ(Error(Answer({0x01, 0x04}, kColdWater, 0xc1)),
            "byte 10 (length): an abnormal answer carries SER and the 2 status bytes, L=2");
}

TEST(Cjt188, AddressMustBeBcd) {
  auto f = EncodeFrame(kColdWater, {0x12, 0x34, 0x56, 0x7b, 0x90, 0x12, 0x34}, 0x01, std::vector<uint8_t>{0x1f, 0x90, 0}, 0);
  EXPECT_EQ(Error(f), "byte 5 (address): 0x7b is not BCD");
}

TEST(Cjt188, BothDiByteOrdersDecodeAlike) {
  std::vector<uint8_t> values = {0x00, 0x01, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> standard = {0x1f, 0x90, 0x05}, swapped = {0x90, 0x1f, 0x05};
  standard.insert(standard.end(), values.begin(), values.end());
  swapped.insert(swapped.end(), values.begin(), values.end());
  auto a = Decode(Answer(standard), {});
  auto b = Decode(Answer(swapped), {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(FrameJson(*a), FrameJson(*b));
  EXPECT_EQ(FrameJson(*a),
            R"({"protocol":"cjt188","address":"12345678901234","registers":[{"channel":"current_cumulative_flow","value":1.0,"unit":"m3","ts":null,"status":[]},{"channel":"settlement_cumulative_flow","value":1.0,"unit":"m3","ts":null,"status":[]}]})");
}

TEST(Cjt188, UnknownIdentifierIsARawRegisterOrAClearError) {
  auto f = Decode(Answer({0x05, 0x81, 0x00, 0x00, 0x50, 0x01, 0x00}), {});  // 8105: purchase amount
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(FrameJson(*f),
            R"({"protocol":"cjt188","address":"12345678901234","registers":[{"channel":"di_8105","value":15000.0,"unit":null,"ts":null,"status":["unknown_di"]}]})");
  EXPECT_EQ(Error(Answer({0x09, 0x82, 0x00, 0x3f, 0x01})),
            "byte 14 (di_8209): 0x3f is not BCD (data identifier 8209 is not known to MeterHub)");
  EXPECT_EQ(Error(Answer({0x09, 0x82, 0x00})),
            "byte 14 (data): data identifier 8209 is not known to MeterHub and its 0 bytes are not a BCD number");
}

TEST(Cjt188, AbnormalAnswersAndOtherFunctions) {
  auto f = Decode(Answer({0x01, 0xff, 0x03}, kGas, 0xc4), {});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->status, (std::vector<std::string>{"abnormal_response", "valve_abnormal", "battery_low", "st1_bit3",
                                                 "st1_bit4", "st1_bit5", "st1_bit6", "st1_bit7", "st2_bit0",
                                                 "st2_bit1"}));
  f = Decode(Answer({0x17, 0xa0, 0x02, 0x00, 0x00}, kColdWater, 0x84), {});  // valve control acknowledged
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->status, (std::vector<std::string>{"write_response", "di:A017"}));
  f = Decode(Answer({0x17, 0xa0, 0x02, 0x99}, kColdWater, 0x04), {});
  EXPECT_EQ(f->status, (std::vector<std::string>{"write_request", "di:A017", "ser:2"}));
  EXPECT_EQ(Error(Answer({0x1f, 0x90, 0x00}, kColdWater, 0x41)), "byte 9 (control): 0x41: a request with the abnormal bit set");
}

TEST(Cjt188, SettlementDayAndMeterTypes) {
  auto f = Decode(Answer({0x03, 0x81, 0x00, 0x25}), {});
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->registers.size(), 1u);
  EXPECT_EQ(f->registers[0].channel, "settlement_day");
  EXPECT_DOUBLE_EQ(f->registers[0].value, 25);
  EXPECT_EQ(MeterTypeName(kCooling), "cooling");
  EXPECT_EQ(MeterTypeName(0x55), "type_0x55");
}

TEST(Cjt188, EncoderRoundTrip) {
  // The Fox-Edge and python_cjt188 requests are what the encoder builds.
  ReadRequest fox{kColdWater, "00000805000001", kReadData, 0, false, 0};
  EXPECT_EQ(*EncodeReadRequest(fox), Hex("68 10 01 00 00 05 08 00 00 01 03 1F 90 00 39 16"));
  ReadRequest bsd{kColdWater, "00000000000012", kReadData, 0, true, 0};
  EXPECT_EQ(*EncodeReadRequest(bsd), Hex("68 10 12 00 00 00 00 00 00 01 03 90 1f 00 3d 16"));
  ReadRequest addr{kAnyType, "AAAAAAAAAAAAAA", kReadAddress, 7};
  auto bytes = EncodeReadRequest(addr);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*bytes)[0], 0xfe);
  auto d = Decode(*bytes, {});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->address, "AAAAAAAAAAAAAA");
  EXPECT_EQ(d->status, (std::vector<std::string>{"read_address_request", "di:810A", "ser:7"}));
  for (uint8_t type : {kHeat, kGas, kElectricity}) {
    auto r = EncodeReadRequest({type, "12345678901234", kReadData, 9});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(Decode(*r, {})->status, (std::vector<std::string>{"read_request", "di:901F", "ser:9"}));
  }
  EXPECT_EQ(EncodeReadRequest({kColdWater, "1234"}).status().message(), "address '1234': 14 digits expected");
  EXPECT_EQ(EncodeReadRequest({kColdWater, "1234567890123x"}).status().message(),
            "address '1234567890123x': digits 0-9 (or A) expected");
}

}  // namespace
}  // namespace mh::codec::cjt188
