// DL/T 645 link layer, control codes and encoder: corrupt checksums, truncated frames, bad
// lengths, abnormal answers, the encoder round trip. The value formats are data_ids_test's.
#include "codec/dlt645/dlt645.h"

#include <gtest/gtest.h>

#include "codec/meter/frame_json.h"

namespace mh::codec::dlt645 {
namespace {

std::vector<uint8_t> Hex(const std::string& text) { return *ParseHexFrame(text); }

std::string Json(const std::vector<uint8_t>& bytes) {
  auto f = Decode(bytes, {});
  return f.ok() ? FrameJson(*f) : FrameErrorJson("dlt645", f.status().message());
}

std::string Error(const std::vector<uint8_t>& bytes) {
  auto f = Decode(bytes, {});
  EXPECT_FALSE(f.ok()) << FrameJson(*f);
  return f.ok() ? "" : f.status().message();
}

const std::array<uint8_t, 6> kAddr = *AddressBytes("123456789012");

// A 2007 read answer for `di` with `values` (not scrambled).
std::vector<uint8_t> Answer(uint32_t di, std::vector<uint8_t> values, uint8_t control = 0x91) {
  std::vector<uint8_t> data = {static_cast<uint8_t>(di), static_cast<uint8_t>(di >> 8), static_cast<uint8_t>(di >> 16),
                               static_cast<uint8_t>(di >> 24)};
  data.insert(data.end(), values.begin(), values.end());
  return EncodeFrame(kAddr, control, data, 0);
}

TEST(Dlt645, CorruptChecksumNamesItsByte) {
  auto f = Hex("68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C8 16");
  EXPECT_EQ(Error(f), "byte 18 (checksum): expected 0xc9, got 0xc8");
  // Wake-up bytes count in the offset: the offset is into the bytes as given.
  f.insert(f.begin(), {0xfe, 0xfe});
  EXPECT_EQ(Error(f), "byte 20 (checksum): expected 0xc9, got 0xc8");
  // A flipped data bit is caught by the checksum, not decoded as another value.
  auto g = Hex("68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 32 C9 16");
  EXPECT_EQ(Error(g), "byte 18 (checksum): expected 0xc8, got 0xc9");
}

TEST(Dlt645, EveryTruncationIsAnErrorNamingAByte) {
  const auto f = Hex("FE FE 68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16");
  for (size_t n = 0; n < f.size(); ++n) {
    std::vector<uint8_t> cut(f.begin(), f.begin() + static_cast<long>(n));
    const std::string e = Error(cut);
    EXPECT_EQ(e.rfind("byte ", 0), 0u) << n << ": " << e;
  }
  EXPECT_EQ(Error(Hex("68 76 02 02 47")), "byte 5 (length): frame truncated: 5 bytes from the first 0x68, a frame has at least 12");
  EXPECT_EQ(Error(Hex("FE FE FE")), "byte 3 (start): frame truncated: no 0x68 after 3 wake-up bytes");
}

TEST(Dlt645, BadMarkersAndLengths) {
  EXPECT_EQ(Error(Hex("69 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16")),
            "byte 0 (start): expected 0x68, got 0x69");
  EXPECT_EQ(Error(Hex("68 76 02 02 47 02 02 67 91 08 33 33 34 33 35 33 33 33 C9 16")),
            "byte 7 (second start): expected 0x68, got 0x67");
  EXPECT_EQ(Error(Hex("68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 17")),
            "byte 19 (end): expected 0x16, got 0x17");
  // L larger than the frame, and bytes after the end marker.
  EXPECT_EQ(Error(Hex("68 76 02 02 47 02 02 68 91 09 33 33 34 33 35 33 33 33 C9 16")),
            "byte 9 (length): frame truncated: L=9 needs 21 bytes from the first 0x68, got 20");
  EXPECT_EQ(Error(Hex("68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16 00")),
            "byte 20 (end): 1 bytes after the frame's end (L=8)");
  // A value of the wrong size for its identifier, and a block that does not split evenly.
  EXPECT_EQ(Error(Answer(0x00010000, {0x02, 0, 0})), "byte 14 (data): data identifier 00010000 carries 4 bytes, got 3");
  EXPECT_EQ(Error(Answer(0x0001ff00, {1, 0, 0, 0, 2, 0})),
            "byte 14 (data): block 0001FF00 carries 1 to 64 values of 4 bytes, got 6 bytes");
  EXPECT_EQ(Error(Answer(0x0201ff00, std::vector<uint8_t>(8, 0x11))),
            "byte 14 (data): block 0201FF00 carries 1 to 3 values of 2 bytes, got 8 bytes");
  // A read answer too short for its identifier; a read request of the wrong size.
  EXPECT_EQ(Error(EncodeFrame(kAddr, 0x91, std::vector<uint8_t>{0, 0, 1}, 0)),
            "byte 9 (length): a read answer carries the 4-byte data identifier, L=3");
  EXPECT_EQ(Error(EncodeFrame(kAddr, 0x11, std::vector<uint8_t>{0, 0, 1}, 0)),
            "byte 9 (length): a read request carries a 2- or 4-byte data identifier (2007: +1 or +6 bytes), L=3");
}

TEST(Dlt645, AddressMustBeBcdOrWildcard) {
  auto f = EncodeFrame({0x12, 0x34, 0x5f, 0x78, 0x90, 0x12}, 0x13, {}, 0);
  EXPECT_EQ(Error(f), "byte 3 (address): 0x5f is not BCD");
  auto wildcard = EncodeFrame({0x12, 0x34, 0xaa, 0xaa, 0xaa, 0xaa}, 0x13, {}, 0);
  EXPECT_EQ(Json(wildcard), R"({"protocol":"dlt645","address":"AAAAAAAA3412","registers":[],"status":["read_address_request"]})");
}

TEST(Dlt645, NonBcdValueNamesItsByteAndIdentifier) {
  EXPECT_EQ(Error(Answer(0x00010000, {0x00, 0x1a, 0, 0})), "byte 15 (00010000): 0x1a is not BCD");
}

TEST(Dlt645, UnknownIdentifierIsARawRegisterOrAClearError) {
  EXPECT_EQ(Json(Answer(0x04000409, {0x34, 0x12})),
            R"({"protocol":"dlt645","address":"123456789012","registers":[{"channel":"04000409","value":1234.0,"unit":null,"ts":null,"status":["unknown_di"]}]})");
  EXPECT_EQ(Error(Answer(0x04000409, {0x34, 0xab})),
            "byte 15 (04000409): 0xab is not BCD (data identifier 04000409 is not known to MeterHub)");
  EXPECT_EQ(Error(Answer(0x06100101, std::vector<uint8_t>(20, 0x11))),
            "byte 14 (data): data identifier 06100101 is not known to MeterHub and its 20 bytes are not a BCD number");
  EXPECT_EQ(Error(Answer(0x06100101, {})),
            "byte 14 (data): data identifier 06100101 is not known to MeterHub and its 0 bytes are not a BCD number");
}

TEST(Dlt645, AbnormalAnswersDecodeTheirErrorByte) {
  EXPECT_EQ(Json(EncodeFrame(kAddr, 0xd1, std::vector<uint8_t>{0xff}, 0)),
            R"({"protocol":"dlt645","address":"123456789012","registers":[],"status":["abnormal_response","other_error","no_requested_data","unauthorized","baud_rate_unchangeable","year_zones_exceeded","day_periods_exceeded","tariffs_exceeded","error_bit7"]})");
  EXPECT_EQ(Json(EncodeFrame(kAddr, 0xc1, std::vector<uint8_t>{0x07}, 0)),
            R"({"protocol":"dlt645","address":"123456789012","registers":[],"status":["abnormal_response","illegal_data","bad_data_identifier","unauthorized"]})");
  EXPECT_EQ(Json(EncodeFrame(kAddr, 0xd1, std::vector<uint8_t>{0x00}, 0)),
            R"({"protocol":"dlt645","address":"123456789012","registers":[],"status":["abnormal_response"]})");
  EXPECT_EQ(Json(EncodeFrame(kAddr, 0xc3, std::vector<uint8_t>{0x01, 0x00}, 0)),
            R"({"protocol":"dlt645","address":"123456789012","registers":[],"status":["abnormal_response","security_error:0001"]})");
  EXPECT_EQ(Error(EncodeFrame(kAddr, 0xd1, std::vector<uint8_t>{}, 0)),
            "byte 9 (length): an abnormal answer carries its error byte, L=0");
  EXPECT_EQ(Error(EncodeFrame(kAddr, 0xd1, std::vector<uint8_t>{1, 2}, 0)),
            "byte 9 (length): an abnormal answer carries one error byte, L=2");
}

TEST(Dlt645, RequestsWithAnswerBitsAreRejected) {
  EXPECT_EQ(Error(EncodeFrame(kAddr, 0x51, std::vector<uint8_t>{0}, 0)),
            "byte 8 (control): 0x51: a request with the abnormal or follow-up bit set");
}

TEST(Dlt645, EncoderRoundTrip) {
  // The shared vectors' read requests are exactly what the encoder builds.
  EXPECT_EQ(*EncodeReadRequest("001234567890", "00000000", Version::k2007, 0),
            Hex("68 90 78 56 34 12 00 68 11 04 33 33 33 33 55 16"));
  EXPECT_EQ(*EncodeReadRequest("000012345678", "02010100", Version::k2007, 0),
            Hex("68 78 56 34 12 00 00 68 11 04 33 34 34 35 C9 16"));
  for (const char* di : {"00010000", "0001FF00", "02010100", "04000101", "ABCDEF12"}) {
    auto f = EncodeReadRequest("210987654321", di);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(std::vector<uint8_t>(f->begin(), f->begin() + 4), std::vector<uint8_t>(4, 0xfe));
    auto d = Decode(*f, {});
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(d->address, "210987654321");
    EXPECT_EQ(d->status, (std::vector<std::string>{"read_request", std::string("di:") + di}));
  }
  auto v97 = EncodeReadRequest("000001234567", "B611", Version::k1997, 0);
  ASSERT_TRUE(v97.ok());
  EXPECT_EQ(*v97, Hex("68 67 45 23 01 00 00 68 01 02 44 E9 D0 16"));
  EXPECT_EQ(Decode(*v97, {})->status, (std::vector<std::string>{"read_request", "di:B611"}));
  auto follow = EncodeFollowUpReadRequest("210987654321", "0001FF00", 2);
  ASSERT_TRUE(follow.ok());
  EXPECT_EQ(Decode(*follow, {})->status, (std::vector<std::string>{"read_follow_up_request", "di:0001FF00", "seq:2"}));
  auto follow97 = EncodeFollowUpReadRequest("210987654321", "901F", 0, Version::k1997);
  EXPECT_EQ(Decode(*follow97, {})->status, (std::vector<std::string>{"read_follow_up_request", "di:901F"}));
}

TEST(Dlt645, EncoderRejectsBadArguments) {
  EXPECT_EQ(EncodeReadRequest("12345", "00010000").status().message(), "address '12345': 12 digits expected");
  EXPECT_EQ(EncodeReadRequest("12345678901X", "00010000").status().message(),
            "address '12345678901X': digits 0-9 (or A) expected");
  EXPECT_EQ(EncodeReadRequest("123456789012", "9010").status().message(),
            "data identifier '9010': 8 hex digits expected");
  EXPECT_EQ(EncodeReadRequest("123456789012", "90G0", Version::k1997).status().message(),
            "data identifier '90G0' is not hex");
  EXPECT_EQ(*AddressBytes("AAAAAAAAAAAA"), (std::array<uint8_t, 6>{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa}));
}

TEST(Dlt645, FollowUpValuesConcatenatedKeepTheirNumbering) {
  // A 0001FF00 block split over an answer (total, T1) and a follow-up (T2, T3).
  auto first = Decode(Answer(0x0001ff00, {0, 0, 1, 0, 0, 0, 2, 0}, 0xb1), {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, std::vector<std::string>{"more_frames_follow"});
  std::vector<uint8_t> all = {0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0};
  auto regs = DecodeReadValues("0001FF00", all);
  ASSERT_TRUE(regs.ok());
  ASSERT_EQ(regs->size(), 4u);
  EXPECT_EQ((*regs)[3].channel, "00010300");
  EXPECT_DOUBLE_EQ((*regs)[3].value, 400.0);
  EXPECT_FALSE(DecodeReadValues("0001FF0", all).ok());
}

TEST(Dlt645, OtherFunctionsAreNamed) {
  EXPECT_EQ(Decode(EncodeFrame(kAddr, 0x16, std::vector<uint8_t>{0x99, 0x99, 0x99, 0x99}, 0), {})->status,
            std::vector<std::string>{"freeze_request"});
  EXPECT_EQ(Decode(EncodeFrame(kAddr, 0x97, std::vector<uint8_t>{0x08}, 0), {})->status,
            std::vector<std::string>{"change_baud_rate_response"});
  EXPECT_EQ(Decode(EncodeFrame(kAddr, 0x1e, std::vector<uint8_t>{}, 0), {})->status,
            std::vector<std::string>{"function_0x1e_request"});
}

}  // namespace
}  // namespace mh::codec::dlt645
