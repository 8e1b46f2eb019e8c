// Every test vector of every registered driver decodes to exactly its expected JSON line.
#include <gtest/gtest.h>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"

namespace mh::codec {
namespace {

std::vector<uint8_t> Bytes(const std::string& hex) {
  if (hex.empty()) return {};
  auto b = ParseHexFrame(hex);
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? *b : std::vector<uint8_t>{};
}

TEST(DriverVectors, EveryVectorDecodesToItsExpectedJson) {
  int vectors = 0;
  for (const ProtocolDriver* driver : AllDrivers()) {
    ASSERT_NE(driver->decode, nullptr) << driver->name;
    EXPECT_FALSE(driver->vectors.empty()) << driver->name << " carries no test vector";
    for (const TestVector& v : driver->vectors) {
      SCOPED_TRACE(driver->name + "/" + v.name + " (" + v.source + ")");
      DecodeKeys keys;
      keys.any.key = Bytes(v.key_hex);
      keys.any.auth_key = Bytes(v.auth_key_hex);
      auto frame = ParseHexFrame(v.hex);
      ASSERT_TRUE(frame.ok()) << frame.status().message();
      auto decoded = driver->decode(*frame, keys);
      std::string got = decoded.ok() ? FrameJson(*decoded) : FrameErrorJson(driver->name, decoded.status().message());
      EXPECT_EQ(got, v.expected_json);
      ++vectors;
    }
  }
  RecordProperty("vectors", vectors);
}

TEST(DriverVectors, NamesAreUniqueAndFindable) {
  for (const ProtocolDriver* driver : AllDrivers()) EXPECT_EQ(FindDriver(driver->name), driver);
  EXPECT_EQ(FindDriver("no-such-protocol"), nullptr);
}

TEST(FrameJson, PrintsTheContractsShape) {
  DecodedFrame f;
  f.protocol = "dlt645";
  f.address = "020247020276";
  f.registers.push_back({"00010000", 0.02, "kWh", std::nullopt, {}});
  EXPECT_EQ(FrameJson(f),
            R"({"protocol":"dlt645","address":"020247020276","registers":[{"channel":"00010000","value":0.02,"unit":"kWh","ts":null,"status":[]}]})");
  EXPECT_EQ(FrameErrorJson("cjt188", "byte 3 (checksum): bad"), R"({"protocol":"cjt188","error":"byte 3 (checksum): bad"})");
}

TEST(ParseHexFrame, AcceptsSeparatorsAndNamesBadCharacters) {
  auto b = ParseHexFrame("68 aa_BB|0c");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<uint8_t>{0x68, 0xaa, 0xbb, 0x0c}));
  EXPECT_FALSE(ParseHexFrame("6").ok());
  EXPECT_FALSE(ParseHexFrame("").ok());
  auto bad = ParseHexFrame("68 zz");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("character 4"), std::string::npos);
}

}  // namespace
}  // namespace mh::codec
