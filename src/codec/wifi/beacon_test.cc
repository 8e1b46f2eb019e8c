#include "codec/wifi/beacon.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace mh::codec::wifi {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

BeaconFields MeterHubFields() {
  BeaconFields f;
  f.bssid = {0x02, 0x4d, 0x48, 0x00, 0x12, 0x34};
  f.sequence_number = 4095;
  f.timestamp_us = 0x1122334455667788ull;
  f.channel = 11;
  // SPEC 2.4: "elecmeter_AP" + region code (9) + position code (6) = 27 octets.
  f.ssid = Bytes("elecmeter_AP" "440305001" "000123");
  VendorElement v{kMeterHubOui, kMeterHubVendorType, {}};
  for (int i = 0; i < 61; ++i) v.payload.push_back(static_cast<uint8_t>(i * 7));  // SPEC 2.5 size
  f.vendor_elements.push_back(v);
  f.vendor_elements.push_back(VendorElement{{0x00, 0x50, 0xf2}, 0x02, {0x01, 0x01}});  // WMM-like
  return f;
}

TEST(BeaconTest, RoundTripMeterHubBeacon) {
  BeaconFields f = MeterHubFields();
  ASSERT_EQ(f.ssid.size(), 27u);
  std::vector<uint8_t> frame = BuildBeacon(f);
  Result<ParsedBeacon> p = ParseBeacon(frame);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->destination, kBroadcastMac);
  EXPECT_EQ(p->source, f.bssid);
  EXPECT_EQ(p->bssid, f.bssid);
  EXPECT_EQ(p->sequence_number, 4095);
  EXPECT_EQ(p->fragment_number, 0);
  EXPECT_EQ(p->timestamp_us, 0x1122334455667788ull);
  EXPECT_EQ(p->beacon_interval_tu, 100);
  EXPECT_EQ(p->capability, 0x0001);
  EXPECT_TRUE(p->has_ssid);
  EXPECT_EQ(p->ssid, f.ssid);
  EXPECT_EQ(p->rates, f.rates);
  EXPECT_EQ(p->channel, 11);
  EXPECT_EQ(p->vendor_elements, f.vendor_elements);
  ASSERT_EQ(p->elements.size(), 5u);  // SSID, rates, DS, 2 x vendor
  EXPECT_EQ(p->elements[4].id, kElementVendorSpecific);
}

TEST(BeaconTest, NonUtf8SsidAndExtendedRatesAndSourceAddress) {
  BeaconFields f;
  f.bssid = {1, 2, 3, 4, 5, 6};
  f.source = MacAddress{6, 5, 4, 3, 2, 1};
  f.ssid = {0xb2, 0xe2, 0xca, 0xd4, 0x00, 0xff};  // GBK bytes and a NUL: not UTF-8
  f.rates = {0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24, 0x30, 0x48, 0x60, 0x6c};
  f.extra_elements.push_back({48, {0x01, 0x00}});
  f.vendor_elements.push_back({{0xaa, 0xbb, 0xcc}, std::nullopt, {}});  // OUI only
  Result<ParsedBeacon> p = ParseBeacon(BuildBeacon(f));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->ssid, f.ssid);
  EXPECT_EQ(p->rates, f.rates);
  EXPECT_EQ(p->source, *f.source);
  EXPECT_EQ(p->bssid, f.bssid);
  EXPECT_EQ(p->vendor_elements, f.vendor_elements);
  ASSERT_EQ(p->elements.size(), 6u);  // SSID, rates(8), DS, ext rates(4), RSN, vendor
  EXPECT_EQ(p->elements[3].id, kElementExtendedSupportedRates);
  EXPECT_EQ(p->elements[4].id, 48);
}

TEST(BeaconTest, ByteExactFrame) {
  BeaconFields f;
  f.bssid = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  f.sequence_number = 1;
  f.timestamp_us = 0x0102030405060708ull;
  f.beacon_interval_tu = 100;
  f.capability = 0x0001;
  f.ssid = Bytes("mh");
  f.rates = {0x82, 0x84};
  f.channel = 6;
  f.vendor_elements.push_back({kMeterHubOui, kMeterHubVendorType, {0xaa, 0xbb}});
  const std::vector<uint8_t> expected = {
      0x80, 0x00,                                // frame control: mgmt (type 0), beacon (subtype 8)
      0x00, 0x00,                                // duration
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,        // address 1 DA: broadcast
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,        // address 2 SA
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01,        // address 3 BSSID
      0x10, 0x00,                                // sequence control: seq 1 << 4, fragment 0, LE
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // timestamp, LE
      0x64, 0x00,                                // beacon interval 100 TU, LE
      0x01, 0x00,                                // capability: ESS, LE
      0x00, 0x02, 'm', 'h',                      // SSID element
      0x01, 0x02, 0x82, 0x84,                    // Supported Rates: 1, 2 Mb/s basic
      0x03, 0x01, 0x06,                          // DS Parameter Set: channel 6
      0xdd, 0x06, 0x02, 0x4d, 0x48, 0x01, 0xaa, 0xbb,  // vendor: OUI 02:4D:48, type 1, payload
  };
  EXPECT_EQ(BuildBeacon(f), expected);
  EXPECT_EQ(expected.size(), 55u);
}

TEST(BeaconTest, InvalidFieldsAreRejected) {
  BeaconFields f;
  f.ssid.assign(33, 'x');
  EXPECT_FALSE(TryBuildBeacon(f).ok());
  EXPECT_THROW(BuildBeacon(f), std::invalid_argument);
  f.ssid.assign(32, 'x');
  EXPECT_TRUE(TryBuildBeacon(f).ok());
  f.vendor_elements.push_back({kMeterHubOui, 1, std::vector<uint8_t>(252, 0)});  // body 256
  Result<std::vector<uint8_t>> r = TryBuildBeacon(f);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vendor element 0"), std::string::npos);
  f.vendor_elements[0].payload.resize(251);  // body 255: the maximum
  EXPECT_TRUE(TryBuildBeacon(f).ok());
  f.rates.clear();
  EXPECT_FALSE(TryBuildBeacon(f).ok());
}

TEST(BeaconTest, MalformedFramesNameFieldAndOffset) {
  std::vector<uint8_t> frame = BuildBeacon(MeterHubFields());
  auto message = [](const std::vector<uint8_t>& f) { return ParseBeacon(f).status().message(); };

  std::vector<uint8_t> probe = frame;
  probe[0] = 0x40;  // probe request
  EXPECT_NE(message(probe).find("not a beacon"), std::string::npos);
  std::vector<uint8_t> prot = frame;
  prot[1] = 0x40;
  EXPECT_NE(message(prot).find("protected"), std::string::npos);
  EXPECT_EQ(message({frame.begin(), frame.begin() + 30}),
            "beacon: truncated fixed fields at offset 24: needs 12 bytes, 6 left");
  std::vector<uint8_t> long_ssid = frame;
  long_ssid[37] = 40;  // SSID length byte at offset 36 + 1
  EXPECT_NE(message(long_ssid).find("element ID 0 at offset 36"), std::string::npos);
  std::vector<uint8_t> overrun = frame;
  overrun[37] = 250;
  EXPECT_NE(message(overrun).find("exceeds the"), std::string::npos);
  std::vector<uint8_t> bad_ds = frame;
  // SSID (2 + 27) then rates (2 + 8): the DS element starts at 36 + 29 + 10 = 75.
  ASSERT_EQ(bad_ds[75], kElementDsParameterSet);
  bad_ds[76] = 0;
  EXPECT_NE(message(bad_ds).find("DS Parameter Set length 0"), std::string::npos);
}

TEST(BeaconTest, EveryTruncationFailsCleanly) {
  const std::vector<uint8_t> frame = BuildBeacon(MeterHubFields());
  const ParsedBeacon full = ParseBeacon(frame).value();
  // Element boundaries: a frame cut exactly there is itself a valid (shorter) beacon.
  std::vector<size_t> boundaries = {36};
  for (const InformationElement& e : full.elements) boundaries.push_back(boundaries.back() + 2 + e.body.size());
  ASSERT_EQ(boundaries.back(), frame.size());
  for (size_t n = 0; n < frame.size(); ++n) {
    std::vector<uint8_t> cut(frame.begin(), frame.begin() + n);  // exact size: ASan sees overreads
    Result<ParsedBeacon> p = ParseBeacon(cut);
    const bool at_boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    if (at_boundary) {
      ASSERT_TRUE(p.ok()) << n << ": " << p.status().ToString();
      EXPECT_LT(p->elements.size(), full.elements.size());
    } else {
      ASSERT_FALSE(p.ok()) << "length " << n;
      EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(p.status().message().find("offset"), std::string::npos) << p.status().message();
    }
  }
}

TEST(BeaconTest, RandomCorruptionNeverCrashes) {
  const std::vector<uint8_t> frame = BuildBeacon(MeterHubFields());
  std::mt19937 rng(20240611);
  size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> f = frame;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<uint8_t>(rng());
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    if (rng() % 8 == 0) f.push_back(static_cast<uint8_t>(rng()));
    Result<ParsedBeacon> p = ParseBeacon(f);
    if (p.ok()) {
      ++parsed;
      EXPECT_LE(p->ssid.size(), kMaxSsidLength);
    } else {
      EXPECT_FALSE(p.status().message().empty());
    }
  }
  EXPECT_GT(parsed, 0u);
}

TEST(BeaconTest, Crc32KnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(Crc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())),
            0xcbf43926u);
}

}  // namespace
}  // namespace mh::codec::wifi
