#include "codec/wifi/pcap.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>
#include <string>

namespace mh::codec::wifi {
namespace {

namespace fs = std::filesystem;

const fs::path kPcapDir = fs::path(MH_SHARED_DATA_DIR) / "pcap";

BeaconFields Fields(const std::string& ssid, uint8_t last) {
  BeaconFields f;
  f.bssid = {0x02, 0x4d, 0x48, 0x00, 0x00, last};
  f.ssid.assign(ssid.begin(), ssid.end());
  f.channel = 6;
  f.vendor_elements.push_back({kMeterHubOui, kMeterHubVendorType, std::vector<uint8_t>(61, 0x5a)});
  return f;
}

void PutLe(std::vector<uint8_t>& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutBe(std::vector<uint8_t>& b, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A one-record pcap with the given link type, header byte order and magic.
std::vector<uint8_t> OneRecordPcap(uint32_t linktype, const std::vector<uint8_t>& data, bool big,
                                   uint32_t magic = 0xa1b2c3d4, uint32_t frac = 5) {
  std::vector<uint8_t> b;
  auto put = [&](uint64_t v, int n) { big ? PutBe(b, v, n) : PutLe(b, v, n); };
  put(magic, 4); put(2, 2); put(4, 2); put(0, 4); put(0, 4); put(65535, 4); put(linktype, 4);
  put(1700000000, 4); put(frac, 4); put(data.size(), 4); put(data.size(), 4);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST(PcapTest, HeaderIsByteExact) {
  std::vector<uint8_t> file = WritePcap({});
  const std::vector<uint8_t> expected = {
      0xd4, 0xc3, 0xb2, 0xa1,  // magic 0xa1b2c3d4, little-endian: microsecond timestamps
      0x02, 0x00, 0x04, 0x00,  // version 2.4
      0x00, 0x00, 0x00, 0x00,  // thiszone
      0x00, 0x00, 0x00, 0x00,  // sigfigs
      0xff, 0xff, 0x00, 0x00,  // snaplen 65535
      0x69, 0x00, 0x00, 0x00,  // linktype 105: IEEE 802.11
  };
  EXPECT_EQ(file, expected);
}

TEST(PcapTest, WriteReadRoundTrip) {
  std::vector<PcapFrame> frames = {
      {1700000000123456, BuildBeacon(Fields("elecmeter_AP440305001000123", 1))},
      {1700000001000001, BuildBeacon(Fields("elecmeter_AP440305001000124", 2))},
  };
  std::vector<uint8_t> file = WritePcap(frames);
  ASSERT_EQ(file.size(), 24 + 2 * 16 + frames[0].frame.size() + frames[1].frame.size());
  Result<PcapCapture> cap = ReadPcap(file);
  ASSERT_TRUE(cap.ok()) << cap.status().ToString();
  EXPECT_EQ(cap->linktype, 105u);
  EXPECT_FALSE(cap->swapped);
  EXPECT_FALSE(cap->nanosecond);
  EXPECT_TRUE(cap->truncated.empty());
  ASSERT_EQ(cap->records.size(), 2u);
  EXPECT_EQ(cap->records[0].ts_sec, 1700000000);
  EXPECT_EQ(cap->records[0].ts_nsec, 123456000u);
  EXPECT_EQ(cap->records[1].ts_nsec, 1000u);
  EXPECT_EQ(cap->records[1].frame, frames[1].frame);
  std::vector<BeaconSighting> beacons = FindBeacons(*cap);
  ASSERT_EQ(beacons.size(), 2u);
  EXPECT_EQ(std::string(beacons[1].beacon.ssid.begin(), beacons[1].beacon.ssid.end()),
            "elecmeter_AP440305001000124");
  EXPECT_EQ(beacons[0].beacon.bssid[5], 1);
  EXPECT_EQ(beacons[0].beacon.channel, 6);
  EXPECT_FALSE(beacons[0].rssi_dbm.has_value());
}

TEST(PcapTest, BothByteOrdersAndNanosecondMagic) {
  std::vector<uint8_t> frame = BuildBeacon(Fields("x", 3));
  for (bool big : {false, true}) {
    for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du}) {
      Result<PcapCapture> cap = ReadPcap(OneRecordPcap(105, frame, big, magic, 999));
      ASSERT_TRUE(cap.ok()) << cap.status().ToString();
      EXPECT_EQ(cap->swapped, big);
      EXPECT_EQ(cap->nanosecond, magic == 0xa1b23c4du);
      ASSERT_EQ(cap->records.size(), 1u);
      EXPECT_EQ(cap->records[0].ts_sec, 1700000000);
      EXPECT_EQ(cap->records[0].ts_nsec, magic == 0xa1b23c4du ? 999u : 999000u);
      EXPECT_EQ(cap->records[0].frame, frame);
    }
  }
}

TEST(PcapTest, RadiotapWithSignalAndFcs) {
  std::vector<uint8_t> frame = BuildBeacon(Fields("rt", 4));
  // it_present: TSFT(0) Flags(1) Rate(2) Channel(3) dBm signal(5) = 0x2f.
  // Layout: 8 header | TSFT 8 @8 | Flags @16 | Rate @17 | Channel 4 @18 (2-aligned) | signal @22
  // | 1 pad -> it_len 24.
  std::vector<uint8_t> rt = {0, 0, 24, 0, 0x2f, 0, 0, 0};
  PutLe(rt, 0x1234, 8);
  rt.push_back(0x10);  // flags: FCS at end
  rt.push_back(2);     // rate
  PutLe(rt, 2437, 2);
  PutLe(rt, 0x00a0, 2);
  rt.push_back(static_cast<uint8_t>(-61));
  rt.push_back(0);
  ASSERT_EQ(rt.size(), 24u);
  std::vector<uint8_t> data = rt;
  data.insert(data.end(), frame.begin(), frame.end());
  PutLe(data, Crc32(frame), 4);
  Result<PcapCapture> cap = ReadPcap(OneRecordPcap(127, data, false));
  ASSERT_TRUE(cap.ok()) << cap.status().ToString();
  ASSERT_EQ(cap->records.size(), 1u);
  EXPECT_EQ(cap->records[0].rssi_dbm, -61);
  EXPECT_EQ(cap->records[0].frame, frame);
  ASSERT_EQ(FindBeacons(*cap).size(), 1u);

  // Extended present bitmap (bit 31) then only dBm signal in the first word.
  std::vector<uint8_t> ext = {0, 0, 13, 0, 0x20, 0, 0, 0x80, 0, 0, 0, 0, static_cast<uint8_t>(-40)};
  ext.insert(ext.end(), frame.begin(), frame.end());
  cap = ReadPcap(OneRecordPcap(127, ext, false));
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->records[0].rssi_dbm, -40);
  EXPECT_EQ(cap->records[0].frame, frame);

  // it_len past the record: a per-record issue, not a crash or a failed file.
  std::vector<uint8_t> bad = {0, 0, 0xff, 0x00, 0, 0, 0, 0};
  cap = ReadPcap(OneRecordPcap(127, bad, false));
  ASSERT_TRUE(cap.ok());
  EXPECT_NE(cap->records[0].issue.find("radiotap length 255"), std::string::npos);
}

TEST(PcapTest, PrismAndAvsHeaders) {
  std::vector<uint8_t> frame = BuildBeacon(Fields("prism", 5));
  std::vector<uint8_t> prism;
  PutLe(prism, 0x44, 4);
  PutLe(prism, 144, 4);
  prism.resize(144, 0);
  prism.insert(prism.end(), frame.begin(), frame.end());
  Result<PcapCapture> cap = ReadPcap(OneRecordPcap(119, prism, false));
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->records[0].frame, frame);

  std::vector<uint8_t> avs;
  PutBe(avs, 0x80211001, 4);
  PutBe(avs, 64, 4);
  avs.resize(36, 0);
  PutBe(avs, 1, 4);                          // ssi_type: dBm
  PutBe(avs, static_cast<uint32_t>(-72), 4); // ssi_signal
  avs.resize(64, 0);
  avs.insert(avs.end(), frame.begin(), frame.end());
  cap = ReadPcap(OneRecordPcap(119, avs, false));
  ASSERT_TRUE(cap.ok());
  EXPECT_EQ(cap->records[0].frame, frame);
  EXPECT_EQ(cap->records[0].rssi_dbm, -72);
}

TEST(PcapTest, BadFilesGiveClearErrors) {
  std::vector<uint8_t> ng = {0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0};
  EXPECT_NE(ReadPcap(ng).status().message().find("pcapng"), std::string::npos);
  EXPECT_NE(ReadPcap(std::vector<uint8_t>{1, 2, 3, 4, 5}).status().message().find("magic"),
            std::string::npos);
  std::vector<uint8_t> ether = OneRecordPcap(1, {1, 2, 3}, false);
  EXPECT_NE(ReadPcap(ether).status().message().find("link type 1 "), std::string::npos);
  std::vector<uint8_t> file = WritePcap(std::vector<PcapFrame>{{0, BuildBeacon(Fields("t", 6))}});
  for (size_t n = 0; n < file.size(); ++n) {
    Result<PcapCapture> cap = ReadPcap(std::vector<uint8_t>(file.begin(), file.begin() + n));
    if (n < 24) {
      EXPECT_FALSE(cap.ok()) << n;
    } else {
      ASSERT_TRUE(cap.ok()) << n;
      EXPECT_TRUE(cap->records.empty());
      EXPECT_EQ(cap->truncated.empty(), n == 24) << n;
    }
  }
  EXPECT_EQ(ReadPcapFile("/nonexistent/x.pcap").status().code(), StatusCode::kNotFound);
}

bool HaveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

std::vector<fs::path> Captures(const std::string& folder) {
  std::vector<fs::path> out;
  if (!fs::is_directory(kPcapDir / folder)) return out;
  for (const auto& e : fs::directory_iterator(kPcapDir / folder)) {
    const std::string ext = e.path().extension().string();
    if (ext == ".pcap" || ext == ".cap") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PcapTest, RealCapturesNeverCrash) {
  std::vector<fs::path> files = Captures("aircrack-ng");
  std::vector<fs::path> more = Captures("tcpdump");
  files.insert(files.end(), more.begin(), more.end());
  if (files.empty()) GTEST_SKIP() << "no captures under " << kPcapDir;
  size_t total_beacons = 0;
  for (const fs::path& path : files) {
    Result<PcapCapture> cap = ReadPcapFile(path.string());
    ASSERT_TRUE(cap.ok()) << cap.status().ToString();  // all are classic pcap of 105/119/127
    EXPECT_FALSE(cap->records.empty()) << path;
    size_t malformed = 0;
    std::vector<BeaconSighting> beacons = FindBeacons(*cap, &malformed);
    total_beacons += beacons.size();
    for (const PcapRecord& r : cap->records) (void)ParseBeacon(r.frame);
  }
  EXPECT_GT(total_beacons, 100u);
}

// tshark 4.0 prints wlan.ssid as hex (the field is FT_BYTES); one line per beacon, several SSIDs
// of one frame separated by ','; an empty line is a hidden (zero-length) SSID. Older tshark
// versions print text instead: then we compare on the hex of that text.
std::vector<uint8_t> FromTsharkField(const std::string& s) {
  bool hex = s.size() % 2 == 0 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::vector<uint8_t> out;
  if (!hex) return {s.begin(), s.end()};
  for (size_t i = 0; i < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(PcapTest, AircrackBeaconSsidsMatchTshark) {
  std::vector<fs::path> files = Captures("aircrack-ng");
  if (files.empty()) GTEST_SKIP() << "no captures under " << kPcapDir / "aircrack-ng";
  if (!HaveTshark()) GTEST_SKIP() << "tshark is not installed";
  size_t compared = 0;
  for (const fs::path& path : files) {
    std::set<std::vector<uint8_t>> ours, theirs;
    Result<PcapCapture> cap = ReadPcapFile(path.string());
    ASSERT_TRUE(cap.ok()) << cap.status().ToString();
    size_t malformed = 0;
    for (const BeaconSighting& b : FindBeacons(*cap, &malformed)) {
      if (b.beacon.has_ssid) ours.insert(b.beacon.ssid);
    }
    EXPECT_EQ(malformed, 0u) << path;
    std::istringstream lines(RunCommand("tshark -r '" + path.string() +
                                 "' -Y 'wlan.fc.type_subtype==8' -T fields -e wlan.ssid 2>/dev/null"));
    std::string line;
    while (std::getline(lines, line)) {
      std::stringstream fields(line);
      std::string field;
      if (line.empty()) theirs.insert({});
      while (std::getline(fields, field, ',')) theirs.insert(FromTsharkField(field));
    }
    EXPECT_EQ(ours, theirs) << path;
    compared += theirs.size();
  }
  EXPECT_GE(compared, 15u);  // 16 of the captures carry beacons (3.pcap and 80211ad none)
}

// Radiotap RSSI: ours is the first dBm antenna signal (first present word); tshark lists one per
// radiotap namespace, the first being the same field.
TEST(PcapTest, RadiotapRssiMatchesTshark) {
  std::vector<fs::path> files = Captures("aircrack-ng");
  if (files.empty()) GTEST_SKIP() << "no captures under " << kPcapDir / "aircrack-ng";
  if (!HaveTshark()) GTEST_SKIP() << "tshark is not installed";
  size_t with_rssi = 0;
  for (const fs::path& path : files) {
    Result<PcapCapture> cap = ReadPcapFile(path.string());
    ASSERT_TRUE(cap.ok()) << cap.status().ToString();
    if (cap->linktype != kLinkTypeRadiotap) continue;
    std::vector<BeaconSighting> beacons = FindBeacons(*cap);
    std::istringstream lines(RunCommand("tshark -r '" + path.string() +
        "' -Y 'wlan.fc.type_subtype==8' -T fields -e radiotap.dbm_antsignal 2>/dev/null"));
    std::string line;
    size_t i = 0;
    for (; std::getline(lines, line); ++i) {
      ASSERT_LT(i, beacons.size()) << path;
      std::optional<int> theirs;
      if (!line.empty()) theirs = std::stoi(line.substr(0, line.find(',')));
      EXPECT_EQ(beacons[i].rssi_dbm, theirs) << path << " beacon " << i;
      if (theirs) ++with_rssi;
    }
    EXPECT_EQ(i, beacons.size()) << path;
  }
  EXPECT_GE(with_rssi, 4u);  // test1, test23, testm1m2m3, zn2i
}

TEST(PcapTest, TsharkDecodesOurPcap) {
  if (!HaveTshark()) GTEST_SKIP() << "tshark is not installed";
  const std::string ssid = "elecmeter_AP440305001000123";
  fs::path out = fs::path(MH_BINARY_DIR) / "wifi_pcap_test_out.pcap";
  std::vector<PcapFrame> frames = {{1700000000000000, BuildBeacon(Fields(ssid, 7))}};
  ASSERT_TRUE(WritePcapFile(out.string(), frames).ok());
  std::string text = RunCommand("tshark -r '" + out.string() + "' -V 2>&1");
  EXPECT_NE(text.find(ssid), std::string::npos) << text;
  EXPECT_NE(text.find("Vendor Specific"), std::string::npos) << text;
  EXPECT_NE(text.find("02:4d:48"), std::string::npos) << text;
  EXPECT_EQ(text.find("Malformed"), std::string::npos) << text;
  EXPECT_NE(text.find("Beacon frame"), std::string::npos) << text;
  fs::remove(out);
}

}  // namespace
}  // namespace mh::codec::wifi
