// Unit tests of the DLMS layers: CRC-16/X.25, HDLC addressing and segmentation, the wrapper,
// A-XDR lengths, types and limits, COSEM date-times, per-system-title keys and the byte offsets
// errors name. Frames are built here from IEC 62056-46/-47 rules.
#include <gtest/gtest.h>

#include "codec/dlms/axdr.h"
#include "codec/dlms/dlms.h"
#include "codec/dlms/hdlc.h"
#include "codec/meter/frame_json.h"

namespace mh::codec {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Hex(std::string_view h) { return ParseHexFrame(h).value(); }

void PutCrc(Bytes& out, size_t from) {
  const uint16_t crc = dlms::CrcX25(std::span(out).subspan(from));
  out.push_back(static_cast<uint8_t>(crc));
  out.push_back(static_cast<uint8_t>(crc >> 8));
}

// One HDLC frame of format type 3 around `info`.
Bytes Hdlc(const Bytes& info, const Bytes& dst, const Bytes& src, bool segmented = false) {
  const size_t length = 2 + dst.size() + src.size() + 1 + (info.empty() ? 0 : 2 + info.size()) + 2;
  Bytes f = {0x7E, static_cast<uint8_t>(0xA0 | (segmented ? 0x08 : 0) | length >> 8), static_cast<uint8_t>(length)};
  f.insert(f.end(), dst.begin(), dst.end());
  f.insert(f.end(), src.begin(), src.end());
  f.push_back(0x13);
  if (!info.empty()) {
    PutCrc(f, 1);
    f.insert(f.end(), info.begin(), info.end());
  }
  PutCrc(f, 1);
  f.push_back(0x7E);
  return f;
}

// LLC + a data-notification without date-time whose body is {1.0.1.7.0.255, 1234 W}.
const Bytes kInfo = Hex("E6E700 0F00000001 00 0202 0906 0100010700FF 06000004D2");

Result<DecodedFrame> Decode(const Bytes& b, const DecodeKeys& keys = {}) { return DecodeDlms(b, keys); }

TEST(DlmsCrc, X25CheckValue) {
  const std::string check = "123456789";
  EXPECT_EQ(dlms::CrcX25({reinterpret_cast<const uint8_t*>(check.data()), check.size()}), 0x906E);
}

TEST(DlmsHdlc, AddressesOfOneTwoAndFourBytes) {
  const std::vector<std::pair<Bytes, Bytes>> cases = {
      {Hex("41"), Hex("03")}, {Hex("0221"), Hex("0003")}, {Hex("00020001"), Hex("0221")}};
  for (const auto& [dst, src] : cases) {
    auto f = Decode(Hdlc(kInfo, dst, src));
    ASSERT_TRUE(f.ok()) << f.status().message();
    ASSERT_EQ(f->registers.size(), 1u);
    EXPECT_EQ(f->registers[0].channel, "1-0:1.7.0.255");
    EXPECT_DOUBLE_EQ(f->registers[0].value, 1.234);
    EXPECT_EQ(f->registers[0].unit, "kW");
  }
  auto bad = Decode(Hdlc(kInfo, Hex("000201"), Hex("03")));  // the end bit on the third byte
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("byte 3 (HDLC destination address)", 0), 0u) << bad.status().message();
}

TEST(DlmsHdlc, SegmentsJoinAndOwnOrSharedFlagsBothWork) {
  const Bytes first(kInfo.begin(), kInfo.begin() + 10), rest(kInfo.begin() + 10, kInfo.end());
  Bytes own = Hdlc(first, Hex("41"), Hex("03"), true);
  const Bytes second = Hdlc(rest, Hex("41"), Hex("03"));
  own.insert(own.end(), second.begin(), second.end());
  auto f = Decode(own);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->registers.size(), 1u);
  Bytes shared = Hdlc(first, Hex("41"), Hex("03"), true);
  shared.insert(shared.end(), second.begin() + 1, second.end());
  EXPECT_TRUE(Decode(shared).ok());
  // A frame after the last segment, or no frame after a segmented one.
  Bytes extra = Hdlc(kInfo, Hex("41"), Hex("03"));
  extra.insert(extra.end(), second.begin(), second.end());
  EXPECT_NE(Decode(extra).status().message().find("bytes after the last segment"), std::string::npos);
  EXPECT_NE(Decode(Hdlc(first, Hex("41"), Hex("03"), true)).status().message().find("a segment is missing"),
            std::string::npos);
}

TEST(DlmsHdlc, ChecksumsAndFormatErrorsNameTheirBytes) {
  Bytes f = Hdlc(kInfo, Hex("41"), Hex("03"));
  f[4] ^= 0x04;  // the control field
  EXPECT_EQ(Decode(f).status().message().rfind("byte 6 (HCS): expected 0x", 0), 0u) << Decode(f).status().message();
  f[4] ^= 0x04;
  f[20] ^= 0x01;
  EXPECT_EQ(Decode(f).status().message().rfind("byte " + std::to_string(f.size() - 3) + " (FCS)", 0), 0u);
  f[20] ^= 0x01;
  f[1] = 0x90 | (f[1] & 0x0F);
  EXPECT_NE(Decode(f).status().message().find("is not 10 (frame format type 3)"), std::string::npos);
  auto empty = Decode(Hdlc({}, Hex("41"), Hex("03")));  // a frame without information field
  EXPECT_NE(empty.status().message().find("carries no APDU"), std::string::npos) << empty.status().message();
}

TEST(DlmsWrapper, LengthMustMatch) {
  Bytes w = Hex("0001 0001 0001 0015");
  w.insert(w.end(), kInfo.begin() + 3, kInfo.end());  // without LLC
  auto f = Decode(w);
  ASSERT_TRUE(f.ok()) << f.status().message();
  w[7] = 0x16;
  EXPECT_EQ(Decode(w).status().message(), "byte 6 (wrapper length): 22 bytes announced, 21 follow");
}

TEST(DlmsAxdr, LengthsTypesAndLimits) {
  dlms::Apdu a;
  a.bytes = Hex("8180 820100 8500");
  for (size_t i = 0; i < a.bytes.size(); ++i) a.origin.push_back(static_cast<uint16_t>(i));
  size_t pos = 0;
  EXPECT_EQ(*dlms::ReadLength(a, &pos, "len"), 0x80u);
  EXPECT_EQ(*dlms::ReadLength(a, &pos, "len"), 0x100u);
  EXPECT_FALSE(dlms::ReadLength(a, &pos, "len").ok());

  auto read = [](std::string_view hex) {
    dlms::Apdu x;
    x.bytes = Hex(hex);
    for (size_t i = 0; i < x.bytes.size(); ++i) x.origin.push_back(static_cast<uint16_t>(i));
    size_t p = 0;
    return dlms::ReadData(x, &p);
  };
  EXPECT_DOUBLE_EQ(read("10FF38")->number, -200);
  EXPECT_DOUBLE_EQ(read("0D42")->number, 42);  // bcd
  auto bits = read("040A FFC0");
  ASSERT_TRUE(bits.ok());
  EXPECT_EQ(bits->bytes.size(), 2u);
  EXPECT_DOUBLE_EQ(read("18 3FF8000000000000")->number, 1.5);
  EXPECT_NE(read("0281FF 00").status().message().find("255 elements announced"), std::string::npos);
  EXPECT_NE(read("07 00").status().message().find("0x07 is not a supported A-XDR data type"), std::string::npos);
  EXPECT_NE(read("06 0000").status().message().find("truncated"), std::string::npos);
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "0201";
  deep += "00";
  EXPECT_NE(read(deep).status().message().find("deeper than 16"), std::string::npos);
}

TEST(DlmsAxdr, DateTimeDeviationAndUnspecifiedFields) {
  // 2021-07-19 15:46:35, deviation -120 (CEST): 13:46:35 UTC.
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("07E5071301 0F2E23 00 FF88 80")), 1626702395);
  // Deviation not specified: the local time as is.
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("07E5071301 0F2E23 FF 8000 00")), 1626709595);
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("FFFF071301 0F2E23 FF 8000 00")), std::nullopt);
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("07E5FF1301 0F2E23 FF 8000 00")), std::nullopt);
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("07E5021E01 0F2E23 FF 8000 00")), std::nullopt);  // 30 February
  EXPECT_EQ(dlms::DateTimeToEpoch(Hex("07E5071301 0F2E")), std::nullopt);
}

TEST(DlmsKeys, TheSystemTitlesKeysWinOverTheCommonOnes) {
  const TestVector* v = nullptr;
  for (const TestVector& t : DlmsDriver().vectors) {
    if (t.name == "glo_auth_enc_wrapper") v = &t;
  }
  ASSERT_NE(v, nullptr);
  const Bytes frame = Hex(v->hex);
  DecodeKeys keys;
  keys.any = {Bytes(16, 0x11), Bytes(16, 0x22)};
  keys.by_address["4D4D4D0000BC614E"] = {Hex(v->key_hex), Hex(v->auth_key_hex)};
  auto f = Decode(frame, keys);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(FrameJson(*f), v->expected_json);
  keys.by_address.clear();
  auto wrong = Decode(frame, keys);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(wrong.status().message().find("authentication tag mismatch"), std::string::npos);
  keys.any.auth_key.clear();
  EXPECT_EQ(Decode(frame, keys).status().code(), StatusCode::kFailedPrecondition);
}

TEST(DlmsPush, NotificationDateTimeFormsAndTrailingBytes) {
  // A-XDR form (length 12 only), Data form (0x09 0x0C), none; then bytes after the body.
  const std::string body = "0202 0906 0100010700FF 06000004D2";
  for (const std::string dt : {"0C 07E5071301 0F2E23 00 FF88 80", "090C 07E5071301 0F2E23 00 FF88 80"}) {
    auto f = Decode(Hex("0F00000001" + dt + body));
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(f->registers[0].ts, 1626702395);
  }
  EXPECT_NE(Decode(Hex("0F00000001 05 0102030405" + body)).status().message().find("length 5 is not 0 or 12"),
            std::string::npos);
  EXPECT_NE(Decode(Hex("0F00000001 00" + body + "00")).status().message().find("1 bytes after the notification body"),
            std::string::npos);
}

TEST(DlmsPush, ClockEntryDatesTheListWhenThePushHasNoDateTime) {
  auto f = Decode(Hex("0F00000001 00 0204 0906 0000010000FF 090C 07E5071301 0F2E23 00 FF88 01"
                      "0906 0100010800FF 06000004D2"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->registers.size(), 1u);
  EXPECT_EQ(f->registers[0].ts, 1626702395);
  EXPECT_EQ(f->registers[0].unit, "kWh");
  EXPECT_EQ(f->status, std::vector<std::string>{"clock_invalid"});
}

TEST(DlmsPush, UnknownUnitsAreKeptRawAndFlagged) {
  auto f = Decode(Hex("0F00000001 00 0203 0906 0000600A01FF 1205DC 0202 0F00 1663"));
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(f->registers.size(), 1u);
  EXPECT_DOUBLE_EQ(f->registers[0].value, 1500);
  EXPECT_EQ(f->registers[0].unit, std::nullopt);
  EXPECT_EQ(f->registers[0].status, std::vector<std::string>{"unit_99"});
}

}  // namespace
}  // namespace mh::codec
