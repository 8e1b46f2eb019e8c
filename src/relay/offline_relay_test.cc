// The offline `meterhub relay` tools (SPEC 2.8): byte-exact outputs and exit codes. The expected
// numbers are the ones derived with python3 in src/meter/*_test.cc (same inputs):
//   slots: sha256 of the UTF-8 region name, 16-bit pairs mod N, first `count` distinct, sorted.
//   level: c = [1,1,1,1,1, 1,2,1,1,1, 2,0,2,1,2, 9,0,2,0,2], ref 1.25; "abc" with N = 4 → [0,1,2,3].
//   score: S = max(3, F) / (1 + exp(-(R - Rbar) / max(1, |L3 - L2|))), printed "%.6f".
//   password: hashlib.sha256((C + P + ref).encode()).hexdigest()[16:48].
#include "relay/offline_relay.h"

#include "codec/wifi/pcap.h"
#include "crypto/crypto.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace mh::relay {
namespace {

struct ToolRun {
  int code = -1;
  std::string out, err;
};

ToolRun Relay(const std::vector<std::string>& argv) {
  std::ostringstream out, err;
  ToolRun r;
  r.code = RunRelayCommand(argv, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "relay_test_" + name;
  std::ofstream f(path, std::ios::binary);
  f << text;
  return path;
}

constexpr char kConsumption[] =
    "minute,consumption\n"
    "0,1\n1,1\n2,1\n3,1\n4,1\n"
    "5,1\n6,2\n7,1\n8,1\n9,1\n"
    "10,2\n11,0\n12,2\n13,1\n14,2\n"
    "15,9\n16,0\n17,2\n18,0\n19,2\n";

constexpr char kScan[] =
    "ssid,rssi,freq\r\n"
    "elecmeter_AP330106001000120,-50,5\r\n"
    "elecmeter_AP330106001000130,-60,2\r\n"
    "elecmeter_AP330106001000100,-40,1\r\n"
    "elecmeter_AP999999999000121,-30,9\r\n"
    "other,ssid,-20,9\r\n"
    "elecmeter_AP330106001000125,-50,5\r\n";

TEST(RelayToolTest, Slots) {
  ToolRun r = Relay({"slots", "--region", "浙江省杭州市西湖区文三路"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "5 50 51 54\n");
  EXPECT_EQ(Relay({"slots", "--region=abc", "--count", "6"}).out, "0 1 18 33 46 63\n");
  EXPECT_EQ(Relay({"slots", "--region", "abc", "--window", "00:00-01:00", "--slot", "5m"}).out, "0 3 6 9\n");
  EXPECT_EQ(Relay({"slots", "--region", "abc", "--window", "00:00-00:15"}).out, "0 1 2\n");
}

TEST(RelayToolTest, SlotsErrors) {
  ToolRun r = Relay({"slots"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "meterhub relay slots: missing required option --region\n");
  r = Relay({"slots", "--region", "abc", "--slot", "7m"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--window/--slot"), std::string::npos) << r.err;
  r = Relay({"slots", "--region", "abc", "--colour", "red"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay slots: unknown option --colour\n");
  EXPECT_EQ(Relay({"slots", "--region", "abc", "--count", "0"}).code, 2);
  EXPECT_EQ(Relay({"slots", "--region", "abc", "--window", "6-7"}).code, 2);
  EXPECT_EQ(Relay({"slots", "--region"}).code, 2);
  EXPECT_EQ(Relay({"slots", "--region", "a", "--region", "b"}).code, 2);
  EXPECT_EQ(Relay({"slots", "--region", "a", "--region", "b"}).err, "meterhub relay slots: option --region given twice\n");
  EXPECT_EQ(Relay({"slots", "--region"}).err, "meterhub relay slots: option --region needs a value\n");
  EXPECT_EQ(Relay({"slots", "--region", "a", "--count", "4x"}).err,
            "meterhub relay slots: --count '4x' is not an integer in 1..1000000\n");
  EXPECT_EQ(Relay({"slots", "--region", "a", "--count", " +4 "}).code, 0);  // whole-text numbers, blanks allowed
  EXPECT_EQ(Relay({"slots", "--region", "a", "stray"}).err, "meterhub relay slots: unexpected argument 'stray'\n");
  EXPECT_EQ(Relay({"beacons"}).err, "meterhub relay beacons: missing required option --pcap\n");
}

TEST(RelayToolTest, Level) {
  const std::string f = WriteTemp("consumption.csv", kConsumption);
  ToolRun r = Relay({"level", "--region", "abc", "--consumption", f, "--window", "00:00-00:20"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "0,0\n1,1\n2,2\n3,2\n");
  r = Relay({"level", "--region", "abc", "--consumption", f, "--window", "00:00-00:20", "--count", "2"});
  EXPECT_EQ(r.out, "0,0\n3,2\n");
  r = Relay({"level", "--region", "abc", "--consumption", f, "--window", "00:00-00:20", "--theta", "0.9"});
  EXPECT_EQ(r.out, "0,0\n1,0\n2,1\n3,2\n");
  r = Relay({"level", "--region", "abc", "--consumption", f, "--window", "00:00-00:20", "--levels",
             "0:[0,1] 5:[2,inf)"});
  EXPECT_EQ(r.out, "0,0\n1,0\n2,5\n3,5\n");
  // trim 0.25: floor(5) per end, ref 1.2 (python3), T = [0, 1, 4, 5].
  r = Relay({"level", "--region", "abc", "--consumption", f, "--window", "00:00-00:20", "--trim", "0.25"});
  EXPECT_EQ(r.out, "0,0\n1,1\n2,2\n3,2\n");
}

TEST(RelayToolTest, LevelErrors) {
  const std::string bad_row = WriteTemp("bad_row.csv", "minute,consumption\n0,1\n1,x\n");
  ToolRun r = Relay({"level", "--region", "abc", "--consumption", bad_row, "--window", "00:00-00:20"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay level: " + bad_row + ":3: consumption 'x' is not a number\n");
  const std::string outside = WriteTemp("outside.csv", "minute,consumption\n20,1\n");
  r = Relay({"level", "--region", "abc", "--consumption", outside, "--window", "00:00-00:20"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay level: " + outside + ":2: minute 20 is outside the window (0..19)\n");
  const std::string header = WriteTemp("header.csv", "min,cons\n0,1\n");
  r = Relay({"level", "--region", "abc", "--consumption", header});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(":1: header is 'min,cons', want 'minute,consumption'"), std::string::npos) << r.err;
  const std::string empty = WriteTemp("empty.csv", "minute,consumption\n");
  EXPECT_EQ(Relay({"level", "--region", "abc", "--consumption", empty}).code, 2);
  r = Relay({"level", "--region", "abc", "--consumption", "/nonexistent/x.csv"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay level: cannot open '/nonexistent/x.csv'\n");
  const std::string ok = WriteTemp("ok.csv", kConsumption);
  EXPECT_EQ(Relay({"level", "--region", "abc", "--consumption", ok, "--trim", "0.5"}).code, 2);
  EXPECT_EQ(Relay({"level", "--region", "abc", "--consumption", ok, "--theta", "-1"}).code, 2);
  EXPECT_EQ(Relay({"level", "--region", "abc", "--consumption", ok, "--levels", "0:[0,"}).code, 2);
  EXPECT_EQ(Relay({"level", "--region", "abc"}).code, 2);
}

TEST(RelayToolTest, Score) {
  const std::string f = WriteTemp("scan.csv", kScan);
  ToolRun r = Relay({"score", "--scan", f, "--region-code", "330106001", "--self-position", "000123"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "elecmeter_AP330106001000120,2.500000\n"
            "elecmeter_AP330106001000125,2.500000\n"
            "elecmeter_AP330106001000100,1.821045\n");
  r = Relay({"score", "--scan", f, "--region-code", "330106001", "--self-position", "000123", "--k", "5"});
  EXPECT_EQ(r.out,
            "elecmeter_AP330106001000120,2.500000\n"
            "elecmeter_AP330106001000125,2.500000\n"
            "elecmeter_AP330106001000100,1.821045\n"
            "elecmeter_AP330106001000130,0.579964\n");
  // alpha 6: every F is below it, so S = 6 / (1 + e^...): 3, 3, 3.642091 (python3: 6/(1+exp(-10/23))).
  r = Relay({"score", "--scan", f, "--region-code", "330106001", "--self-position", "000123", "--alpha", "6",
             "--k", "1"});
  EXPECT_EQ(r.out, "elecmeter_AP330106001000100,3.642091\n");
  // No accepted beacon: nothing chosen, still a success.
  r = Relay({"score", "--scan", f, "--region-code", "123456789", "--self-position", "000123"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
}

TEST(RelayToolTest, ScoreErrors) {
  const std::string f = WriteTemp("scan2.csv", kScan);
  ToolRun r = Relay({"score", "--scan", f, "--region-code", "33010600", "--self-position", "000123"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay score: --region-code '33010600' is not 9 digits\n");
  r = Relay({"score", "--scan", f, "--region-code", "330106001", "--self-position", "12"});
  EXPECT_EQ(r.code, 2);
  const std::string bad = WriteTemp("scan_bad.csv", "ssid,rssi,freq\nelecmeter_AP330106001000120,strong,5\n");
  r = Relay({"score", "--scan", bad, "--region-code", "330106001", "--self-position", "000123"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay score: " + bad + ":2: rssi 'strong' is not a number\n");
  EXPECT_EQ(Relay({"score", "--scan", f, "--region-code", "330106001", "--self-position", "000123", "--k", "0"}).code, 2);
  EXPECT_EQ(Relay({"score", "--region-code", "330106001", "--self-position", "000123"}).code, 2);
}

TEST(RelayToolTest, Password) {
  ToolRun r = Relay({"password", "--region-code", "330106001", "--position", "000123", "--reference",
                     "00112233445566778899aabbccddeeff"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "f7e5883b88039728337040d40347d622\n");
  r = Relay({"password", "--region-code", "330106001", "--position", "000123", "--reference", "0011"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "meterhub relay password: --reference '0011' is not 32 lowercase hex chars\n");
  EXPECT_EQ(Relay({"password", "--region-code", "330106001", "--position", "000123"}).code, 2);
  EXPECT_EQ(Relay({"password", "--region-code", "x", "--position", "000123", "--reference",
                   "00112233445566778899aabbccddeeff"}).code, 2);
}

TEST(RelayToolTest, VerbsAndHelp) {
  ToolRun r = Relay({});
  EXPECT_EQ(r.code, 2);
  r = Relay({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
  r = Relay({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, RelayUsage());
  r = Relay({"beacons"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--pcap"), std::string::npos);
  r = Relay({"beacons", "--pcap", "/tmp/x.pcap", "--meters", "0"});
  EXPECT_EQ(r.code, 2);
}

// `beacons` writes real frames: read back, every SSID is the relay SSID of its position, and the
// vendor element decrypts under the demo region key to a reference that derives a password.
TEST(RelayToolTest, BeaconsPcapRoundTrip) {
  const std::string path = ::testing::TempDir() + "/meterhub_relay_beacons_test.pcap";
  ToolRun r = Relay({"beacons", "--pcap", path, "--meters", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote 5 beacons"), std::string::npos) << r.out;
  auto capture = codec::wifi::ReadPcapFile(path);
  ASSERT_TRUE(capture.ok()) << capture.status().ToString();
  size_t malformed = 0;
  auto beacons = codec::wifi::FindBeacons(*capture, &malformed);
  ASSERT_EQ(beacons.size(), 5u);
  EXPECT_EQ(malformed, 0u);
  const std::vector<meter::RegionKey> keys = {DemoRegionKey()};
  for (size_t i = 0; i < beacons.size(); ++i) {
    const auto& b = beacons[i].beacon;
    char position[24];
    std::snprintf(position, sizeof position, "%06zu", i + 1);
    EXPECT_EQ(std::string(b.ssid.begin(), b.ssid.end()), std::string("elecmeter_AP") + kDemoRegionCode + position);
    ASSERT_EQ(b.vendor_elements.size(), 1u);
    crypto::Bytes payload = {0x02, 0x4d, 0x48, 0x01};
    payload.insert(payload.end(), b.vendor_elements[0].payload.begin(), b.vendor_elements[0].payload.end());
    auto reference = meter::ParseReferencePayload(payload, keys);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    EXPECT_TRUE(meter::DeriveAccessPassword(kDemoRegionCode, position, *reference).ok());
  }
}

}  // namespace
}  // namespace mh::relay
