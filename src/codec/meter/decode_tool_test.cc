// `meterhub decode`'s logic with in-memory streams: usage errors (exit 2), frames that do not
// decode (exit 3), the --file and --keys formats. tests/decode_cli_test.cc runs the binary.
#include "codec/meter/decode_tool.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace mh::codec {
namespace {

constexpr char kEnergy[] = "68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16";
constexpr char kEnergyJson[] =
    R"({"protocol":"dlt645","address":"020247020276","registers":[{"channel":"00010000","value":0.02,"unit":"kWh","ts":null,"status":[]}]})";
constexpr char kKey[] = "000102030405060708090A0B0C0D0E0F";

struct Run {
  int code;
  std::string out, err;
};

Run Decode(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = RunDecodeCommand(args, out, err);
  return {code, out.str(), err.str()};
}

std::string TempFile(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("meterhub-decode-" + std::to_string(getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(DecodeTool, OneLinePerFrameInInputOrder) {
  auto r = Decode({"--protocol", "dlt645", kEnergy, "68_90_78_56_34_12_00_68|11|04|33333333|55|16"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kEnergyJson) + "\n" +
                       R"({"protocol":"dlt645","address":"001234567890","registers":[],"status":["read_request","di:00000000"]})" "\n");
}

TEST(DecodeTool, UnquotedByteWordsAreOneFrame) {
  std::vector<std::string> args = {"--protocol", "dlt645"};
  for (size_t i = 0; i < sizeof kEnergy - 1; i += 3) args.push_back(std::string(kEnergy + i, 2));
  auto r = Decode(args);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kEnergyJson) + "\n");
}

TEST(DecodeTool, AFrameThatDoesNotDecodeIsAnErrorLineAndExitThree) {
  auto r = Decode({"--protocol", "dlt645", "68 76 02", kEnergy, "68 zz"});
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.out,
            R"({"protocol":"dlt645","error":"byte 3 (length): frame truncated: 3 bytes from the first 0x68, a frame has at least 12"})" "\n" +
                std::string(kEnergyJson) + "\n" +
                R"({"protocol":"dlt645","error":"hex: character 4 is not a hex digit"})" "\n");
}

TEST(DecodeTool, BadUsageExitsTwo) {
  EXPECT_EQ(Decode({kEnergy}).code, 2);  // --protocol is required
  auto r = Decode({"--protocol", "modbus", kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: unknown protocol 'modbus' (dlt645, cjt188, dlms, wmbus)\n");
  r = Decode({"--protocol", "dlt645"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: no frame given (HEX... or --file F)\n");
  const std::string file = TempFile("frames", std::string(kEnergy) + "\n");
  r = Decode({"--protocol", "dlt645", "--file", file, kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: give the frames as arguments or with --file, not both\n");
  r = Decode({"--protocol", "dlt645", "--file", "/nonexistent/frames.txt"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: --file: cannot read /nonexistent/frames.txt\n");
  r = Decode({"--protocol", "cjt188", "--key", "0011zz", kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: --key: hex: character 5 is not a hex digit\n");
  r = Decode({"--protocol", "cjt188", "--auth-key", "0011", kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: --auth-key: an AES-128 key is 16 bytes (32 hex digits), got 2\n");
  r = Decode({"--protocol", "dlt645", "--colour", "red", kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  std::filesystem::remove(file);
}

TEST(DecodeTool, HelpExitsZero) {
  auto r = Decode({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--protocol"), std::string::npos);
}

TEST(DecodeTool, FramesFromAFileSkipBlankAndCommentLines) {
  const std::string file = TempFile("frames2", std::string("# two frames\n\n") + kEnergy + "\n  \n" + kEnergy + "\r\n");
  auto r = Decode({"--protocol", "dlt645", "--file", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kEnergyJson) + "\n" + kEnergyJson + "\n");
  std::filesystem::remove(file);
}

TEST(DecodeTool, KeysFile) {
  const std::string good = TempFile("keys", std::string("address,key,auth_key\n# a comment\nkam12345678,") + kKey +
                                                "\n020247020276, " + kKey + " , " + kKey + "\n");
  auto keys = ReadKeysFile(good);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->at("KAM12345678").key.size(), 16u);
  EXPECT_TRUE(keys->at("KAM12345678").auth_key.empty());
  EXPECT_EQ(keys->at("020247020276").auth_key.size(), 16u);
  auto r = Decode({"--protocol", "dlt645", "--keys", good, kEnergy});
  EXPECT_EQ(r.code, 0) << r.err;

  const std::string bad = TempFile("badkeys", std::string("KAM12345678,") + kKey + "\nKAM00000001,00112233\n");
  r = Decode({"--protocol", "dlt645", "--keys", bad, kEnergy});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub decode: " + bad + ":2: key: an AES-128 key is 16 bytes (32 hex digits), got 4\n");
  const std::string fields = TempFile("fields", "KAM12345678\n");
  EXPECT_EQ(ReadKeysFile(fields).status().message(), fields + ":1: expected address,key[,auth_key], got 1 fields");
  const std::string twice = TempFile("twice", std::string("A,") + kKey + "\na," + kKey + "\n");
  EXPECT_EQ(ReadKeysFile(twice).status().message(), twice + ":2: address a listed twice");
  EXPECT_EQ(Decode({"--protocol", "dlt645", "--keys", "/nonexistent/keys.csv", kEnergy}).err,
            "meterhub decode: --keys: cannot read /nonexistent/keys.csv\n");
  for (const auto& f : {good, bad, fields, twice}) std::filesystem::remove(f);
}

}  // namespace
}  // namespace mh::codec
