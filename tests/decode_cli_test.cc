// End-to-end tests of `meterhub decode` (issue 14, a fixed contract) through the built binary:
// every test vector of every registered driver, fed with --file, prints exactly its expected line
// in order; frames as arguments (one per argument, separators allowed); exit codes 0, 3 and 2.
#include <gtest/gtest.h>

#include <fstream>

#include "codec/meter/driver.h"
#include "support/test_env.h"

namespace mh {
namespace {

using testing::RunCommand;
using testing::TempDir;

std::string Decode(const std::string& args) { return testing::MeterhubBinary() + " decode " + args; }

constexpr char kEnergy[] = "'68 76 02 02 47 02 02 68 91 08 33 33 34 33 35 33 33 33 C9 16'";
constexpr char kEnergyJson[] =
    R"({"protocol":"dlt645","address":"020247020276","registers":[{"channel":"00010000","value":0.02,"unit":"kWh","ts":null,"status":[]}]})";

TEST(DecodeCli, EveryDriverVectorThroughTheBinary) {
  TempDir dir("decode-cli");
  ASSERT_FALSE(codec::AllDrivers().empty());
  for (const codec::ProtocolDriver* driver : codec::AllDrivers()) {
    SCOPED_TRACE(driver->name);
    const std::string file = dir / (driver->name + ".hex");
    std::ofstream out(file);
    out << "# " << driver->name << " vectors\n\n";
    std::string expected;
    bool any_error = false;
    bool keyed = false;
    for (const codec::TestVector& v : driver->vectors) {
      keyed = keyed || !v.key_hex.empty() || !v.auth_key_hex.empty();
      out << v.hex << "\n";
      expected += v.expected_json + "\n";
      any_error = any_error || v.expected_json.find(R"("error":)") != std::string::npos;
    }
    out.close();
    if (keyed) continue;  // vectors with keys are checked one by one below
    auto r = RunCommand(Decode("--protocol " + driver->name + " --file " + file));
    EXPECT_EQ(r.output, expected);
    EXPECT_EQ(r.exit_code, any_error ? 3 : 0);
  }
}

TEST(DecodeCli, VectorsWithKeysOneByOne) {
  for (const codec::ProtocolDriver* driver : codec::AllDrivers()) {
    for (const codec::TestVector& v : driver->vectors) {
      if (v.key_hex.empty() && v.auth_key_hex.empty()) continue;
      std::string args = "--protocol " + driver->name;
      if (!v.key_hex.empty()) args += " --key " + v.key_hex;
      if (!v.auth_key_hex.empty()) args += " --auth-key " + v.auth_key_hex;
      auto r = RunCommand(Decode(args + " '" + v.hex + "'"));
      EXPECT_EQ(r.output, v.expected_json + "\n") << driver->name << "/" << v.name;
    }
  }
}

TEST(DecodeCli, FramesAsArgumentsInOrderWithExitCodes) {
  auto r = RunCommand(Decode(std::string("--protocol dlt645 ") + kEnergy + " 68_90_78_56_34_12_00_68_11_04_33333333_55_16"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, std::string(kEnergyJson) + "\n" +
                          R"({"protocol":"dlt645","address":"001234567890","registers":[],"status":["read_request","di:00000000"]})" "\n");
  // Unquoted, each word is its own frame: a one-byte frame does not decode.
  r = RunCommand(Decode(std::string("--protocol dlt645 ") + kEnergy + " 68"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, std::string(kEnergyJson) + "\n" +
                          R"({"protocol":"dlt645","error":"byte 1 (length): frame truncated: 1 bytes from the first 0x68, a frame has at least 12"})" "\n");
  r = RunCommand(Decode("--protocol cjt188 '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 08 16'"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, R"({"protocol":"cjt188","error":"byte 33 (checksum): expected 0x13, got 0x08"})" "\n");
}

TEST(DecodeCli, BadUsageExitsTwo) {
  auto r = RunCommand(Decode(std::string("--protocol iec1107 ") + kEnergy));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "meterhub decode: unknown protocol 'iec1107' (dlt645, cjt188, dlms, wmbus)\n");
  r = RunCommand(Decode(std::string("--protocol dlt645 --file /nonexistent ") + kEnergy));
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand(Decode("--protocol dlt645 --key 00 " + std::string(kEnergy)));
  EXPECT_EQ(r.exit_code, 2);
  r = RunCommand(Decode("--protocol dlt645"));
  EXPECT_EQ(r.exit_code, 2);
  // Until their decoders are registered, dlms and wmbus are known names but not available.
  for (const char* name : {"dlms", "wmbus"}) {
    if (codec::FindDriver(name) != nullptr) continue;
    r = RunCommand(Decode(std::string("--protocol ") + name + " " + kEnergy));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, std::string("meterhub decode: protocol ") + name + " not available in this build\n");
  }
  r = RunCommand(Decode("--help"));
  EXPECT_EQ(r.exit_code, 0);
}

}  // namespace
}  // namespace mh
