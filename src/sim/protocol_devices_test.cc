// The simulated protocol devices' frames decode as real devices' do: the wM-Bus receiver's
// telegrams (plain and security mode 5, with the keys file it writes), its corrupt option, and
// the DLMS pusher's ciphered pushes.
#include "sim/protocol_devices.h"

#include <gtest/gtest.h>

#include "codec/dlms/dlms.h"
#include "codec/meter/keys_file.h"
#include "codec/wmbus/wmbus.h"
#include "core/meter_id.h"
#include "crypto/crypto.h"
#include "support/test_env.h"

namespace mh::sim {
namespace {

constexpr char kKey[] = "000102030405060708090A0B0C0D0E0F";

TEST(SimWmbus, PlainAndMode5TelegramsDecodeToTheirVolume) {
  auto plain = WmbusTelegram("00000042", 12.345, 7);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  auto frame = codec::DecodeWmbus(*plain, {});
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->address, "MHU00000042");
  ASSERT_FALSE(frame->registers.empty());
  EXPECT_EQ(frame->registers[0].channel, "volume");
  EXPECT_DOUBLE_EQ(frame->registers[0].value, 12.345);

  auto sealed = WmbusTelegram("00000043", 1.5, 9, kKey);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_FALSE(codec::DecodeWmbus(*sealed, {}).ok()) << "encrypted: no key, no reading";
  codec::DecodeKeys keys;
  keys.by_address["MHU00000043"].key = *codec::ParseAesKey(kKey);
  auto opened = codec::DecodeWmbus(*sealed, keys);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_DOUBLE_EQ(opened->registers[0].value, 1.5);
  keys.by_address["MHU00000043"].key[0] ^= 1;
  auto wrong = codec::DecodeWmbus(*sealed, keys);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("wrong key"), std::string::npos) << wrong.status().ToString();
  EXPECT_FALSE(WmbusTelegram("4242", 1, 0).ok());
}

TEST(SimWmbus, ReceiverPublishesOnItsRawTopicAndWritesTheKeysFile) {
  testing::TempDir dir("sim-wmbus");
  SimWmbusReceiver rx("RX1", {{"00000001", 10, 0.5, "", false}, {"00000002", 20, 0.5, kKey, false},
                              {"00000003", 30, 0.5, "", true}});
  ASSERT_TRUE(rx.WriteKeysFile(dir / "keys.csv").ok());
  auto keys = codec::ReadKeysFile(dir / "keys.csv");
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 1u);
  codec::DecodeKeys decode_keys;
  decode_keys.by_address = *keys;

  std::vector<std::pair<std::string, std::string>> sent;
  auto publish = [&](const std::string& topic, const std::string& payload) {
    sent.emplace_back(topic, payload);
    return Status::Ok();
  };
  ASSERT_EQ(*rx.Round(publish), 3);
  ASSERT_EQ(*rx.Round(publish), 3);
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(sent[0].first, "meters/" + std::to_string(ShardOf("RX1")) + "/RX1/raw/wmbus");
  std::vector<double> volumes;
  for (const auto& [topic, hex] : sent) {
    auto bytes = crypto::HexDecode(hex);
    ASSERT_TRUE(bytes.ok());
    auto f = codec::DecodeWmbus(*bytes, decode_keys);
    if (hex == sent[2].second || hex == sent[5].second) {
      EXPECT_FALSE(f.ok()) << "the corrupt meter's telegram";
      continue;
    }
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    volumes.push_back(f->registers[0].value);
  }
  EXPECT_EQ(volumes, (std::vector<double>{10, 20, 10.5, 20.5}));
  EXPECT_EQ(rx.telegrams(), 6);
}

TEST(SimDlms, CipheredPushDecodesWithItsKeysOnly) {
  constexpr char kTitle[] = "4D48550000000042", kAuth[] = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
  auto pdu = DlmsCipheredPush("MHU0000000000042", 4272440, kTitle, kKey, kAuth, 7);
  ASSERT_TRUE(pdu.ok()) << pdu.status().ToString();
  codec::DecodeKeys keys;
  keys.by_address[kTitle] = {*codec::ParseAesKey(kKey), *codec::ParseAesKey(kAuth)};
  auto frame = codec::DecodeDlms(*pdu, keys);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->address, kTitle);
  ASSERT_FALSE(frame->registers.empty());
  EXPECT_DOUBLE_EQ(frame->registers[0].value, 4272.44);
  auto unkeyed = codec::DecodeDlms(*pdu, {});
  ASSERT_FALSE(unkeyed.ok());
  EXPECT_NE(unkeyed.status().message().find("no encryption key"), std::string::npos) << unkeyed.status().ToString();
  keys.by_address[kTitle].key[3] ^= 1;
  auto wrong = codec::DecodeDlms(*pdu, keys);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("authentication tag mismatch"), std::string::npos) << wrong.status().ToString();
}

}  // namespace
}  // namespace mh::sim
