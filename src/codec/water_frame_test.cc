#include "codec/water_frame.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace mh::codec {
namespace {

WaterFrame Sample() {
  WaterFrame f;
  f.kind = WaterDeviceKind::kFlowmeter;
  f.relayed = true;
  f.feature_code = "0123456789abcdef";
  f.device_id = "FM-0001";
  f.start = 1700000000;
  f.interval_s = 60;
  f.quantum_micro = 1000;
  f.samples = {0, 0, 0, 512, 512, kWaterMissingSample, 1200, 1200, 1200, -3};
  return f;
}

// Rewrites the trailing CRC so that a deliberately bad field reaches the value checks.
std::string Recrc(std::string b) {
  const uint32_t c = Crc32(std::string_view(b).substr(0, b.size() - 4));
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<char>(c >> (8 * i));
  return b;
}

std::string Message(const Result<WaterFrame>& r) { return r.ok() ? "ok" : r.status().message(); }

// Offsets of the frozen layout for device_id "FM-0001" (7 bytes).
constexpr size_t kVersionAt = 4, kKindAt = 5, kFlagsAt = 6, kIdLenAt = 16, kStartAt = 24, kIntervalAt = 32,
                 kQuantumAt = 36, kRunCountAt = 40, kRunsAt = 44;

TEST(WaterFrame, Crc32KnownVector) { EXPECT_EQ(Crc32("123456789"), 0xCBF43926u); }

TEST(WaterFrame, RoundTripAndRunLength) {
  const WaterFrame f = Sample();
  auto bytes = EncodeWaterFrame(f);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  // 44 header bytes + 5 runs (0×3, 512×2, missing, 1200×3, −3) × 6 + 4 crc.
  EXPECT_EQ(bytes->size(), 44u + 5 * 6 + 4);
  EXPECT_EQ(bytes->substr(0, 4), "MHWF");
  auto back = DecodeWaterFrame(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, f);
  EXPECT_DOUBLE_EQ(*back->FlowAt(3), 0.512);
  EXPECT_FALSE(back->FlowAt(5).has_value());
  EXPECT_DOUBLE_EQ(*back->FlowAt(9), -0.003);
}

TEST(WaterFrame, GoldenBytes) {
  WaterFrame f;
  f.kind = WaterDeviceKind::kTerminal;
  f.feature_code = "00000000000000ff";
  f.device_id = "T1";
  f.start = 60;
  f.interval_s = 60;
  f.samples = {5, 5};
  auto b = EncodeWaterFrame(f);
  ASSERT_TRUE(b.ok());
  const std::string want_body = std::string("MHWF\x01\x01\x00\x00", 8) + std::string("\0\0\0\0\0\0\0\xff", 8) +
                                std::string("\x02T1", 3) + std::string("\x3c\0\0\0\0\0\0\0", 8) +
                                std::string("\x3c\0\0\0", 4) + std::string("\xe8\x03\0\0", 4) +
                                std::string("\x01\0\0\0", 4) + std::string("\x05\0\0\0\x02\0", 6);
  EXPECT_EQ(b->substr(0, b->size() - 4), want_body);
  EXPECT_EQ(b->size(), want_body.size() + 4);
}

TEST(WaterFrame, MaxSamplesInOneRun) {
  WaterFrame f = Sample();
  f.samples.assign(40000, 7);
  f.samples.insert(f.samples.end(), 40000, 7);  // 80000 > max
  EXPECT_FALSE(EncodeWaterFrame(f).ok());
  f.samples.assign(kWaterMaxSamples, 7);
  auto b = EncodeWaterFrame(f);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 44u + 1 * 6 + 4);  // one run
  auto back = DecodeWaterFrame(*b);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->samples.size(), kWaterMaxSamples);
}

TEST(WaterFrame, AppendFlowQuantises) {
  WaterFrame f;
  ASSERT_TRUE(f.AppendFlow(0.0124).ok());
  ASSERT_TRUE(f.AppendFlow(NAN).ok());
  EXPECT_FALSE(f.AppendFlow(1e30).ok());
  EXPECT_EQ(f.samples, (std::vector<int32_t>{12, kWaterMissingSample}));
}

TEST(WaterFrame, EncoderRejectsBadFields) {
  WaterFrame f = Sample();
  f.feature_code = "0123";
  EXPECT_NE(EncodeWaterFrame(f).status().message().find("feature_code"), std::string::npos);
  f = Sample();
  f.kind = WaterDeviceKind::kTerminal;  // relayed terminal frame
  EXPECT_NE(EncodeWaterFrame(f).status().message().find("relayed"), std::string::npos);
  f = Sample();
  f.device_id = "bad id";
  EXPECT_NE(EncodeWaterFrame(f).status().message().find("device_id"), std::string::npos);
  f = Sample();
  f.samples.clear();
  EXPECT_FALSE(EncodeWaterFrame(f).ok());
}

TEST(WaterFrame, RejectsEveryCorruption) {
  const std::string good = *EncodeWaterFrame(Sample());
  EXPECT_EQ(Message(DecodeWaterFrame("MHW")), "water frame: truncated in magic");
  std::string b = good;
  b[0] = 'X';
  EXPECT_EQ(Message(DecodeWaterFrame(b)), "water frame: bad magic");
  // Every strict prefix is truncated somewhere (and names where).
  for (size_t n = 4; n < good.size(); ++n) {
    auto r = DecodeWaterFrame(good.substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.status().message().find("truncated in "), std::string::npos) << n << " " << r.status().message();
  }
  EXPECT_EQ(Message(DecodeWaterFrame(good.substr(0, kRunsAt + 6 + 2))), "water frame: truncated in runs[1].value");
  EXPECT_EQ(Message(DecodeWaterFrame(good + "x")), "water frame: 1 trailing bytes after crc");
  b = good;
  b[kRunsAt] ^= 1;  // a sample value flipped in transit
  EXPECT_EQ(Message(DecodeWaterFrame(b)), "water frame: crc mismatch");
  b = good;
  b[b.size() - 1] ^= 0x80;
  EXPECT_EQ(Message(DecodeWaterFrame(b)), "water frame: crc mismatch");

  b = good;
  b[kVersionAt] = 2;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: version 2 unsupported (want 1)");
  b = good;
  b[kKindAt] = 3;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: kind 3 is not 1 (terminal) or 2 (flowmeter)");
  b = good;
  b[kFlagsAt] = 4;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: flags 0x4 has unknown bits");
  b = good;
  b[kIdLenAt + 1] = ' ';
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: device_id has a character outside [A-Za-z0-9_-]");
  b = good;
  b[kIntervalAt] = 0;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: interval_s 0 out of 1..86400");
  b = good;
  b[kIntervalAt + 3] = 1;  // 16 777 276 s
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: interval_s 16777276 out of 1..86400");
  b = good;
  b[kQuantumAt] = 0;
  b[kQuantumAt + 1] = 0;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: quantum 0 out of 1..1000000");
  b = good;
  b[kStartAt + 7] = static_cast<char>(0x80);
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: start is before 1970");
  b = good;
  b[kRunCountAt + 2] = 1;  // 65 541 runs declared
  EXPECT_EQ(Message(DecodeWaterFrame(b)), "water frame: run count overflow: run_count 65541 > 44640");
  b = good;
  b[kRunsAt + 4] = static_cast<char>(0xFF);  // first run 65535 samples,
  b[kRunsAt + 5] = static_cast<char>(0xFF);
  EXPECT_EQ(Message(DecodeWaterFrame(b)), "water frame: run count overflow: more than 44640 samples at runs[0]");
  b = good;
  b[kRunsAt + 4] = 0;
  EXPECT_EQ(Message(DecodeWaterFrame(Recrc(b))), "water frame: runs[0].count is 0");
}

// A libFuzzer-free fuzz: random mutations of good frames never crash and never decode to a frame
// that fails to re-encode to the same bytes.
TEST(WaterFrame, RandomMutationsNeverCrash) {
  std::mt19937_64 rng(20261122);
  const std::string good = *EncodeWaterFrame(Sample());
  int decoded = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    std::string b = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0: if (!b.empty()) b[rng() % b.size()] = static_cast<char>(rng()); break;
        case 1: if (!b.empty()) b.resize(rng() % b.size()); break;
        case 2: b.insert(b.begin() + static_cast<long>(rng() % (b.size() + 1)), static_cast<char>(rng())); break;
        case 3: if (!b.empty()) b[rng() % b.size()] ^= static_cast<char>(1u << (rng() % 8)); break;
      }
    }
    if (iter % 2) b = Recrc(b.size() >= 4 ? b : good);  // half with a valid CRC, to reach the field checks
    auto r = DecodeWaterFrame(b);
    if (r.ok()) {
      ++decoded;
      auto again = EncodeWaterFrame(*r);
      ASSERT_TRUE(again.ok()) << again.status().message();
      auto back = DecodeWaterFrame(*again);
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, *r);
    }
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace mh::codec
