// Raw protocol frames to readings (issue 16): the frame's address finds the meter, its gateway
// may publish for it, its registers become channels; what cannot be read is an error naming why.
// And the pipeline's side: channels other than the billing one are stored, not judged.
#include "ingest/raw_frames.h"

#include <gtest/gtest.h>

#include "base/clock.h"
#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "ingest/pipeline.h"
#include "ingest/pipeline_fixture_for_test.h"

namespace mh::ingest {
namespace {

// A DL/T 645 test vector that carries total active import energy (00010000), with its address.
struct Frame {
  std::string hex;
  std::string address;
  double import_kwh = 0;
};

Frame ImportEnergyFrame() {
  const codec::ProtocolDriver* driver = codec::FindDriver("dlt645");
  for (const codec::TestVector& v : driver->vectors) {
    if (v.expected_json.find("\"00010000\"") == std::string::npos) continue;
    auto bytes = codec::ParseHexFrame(v.hex);
    auto frame = driver->decode(*bytes, codec::DecodeKeys{});
    if (!frame.ok() || !frame->address) continue;
    for (const auto& r : frame->registers)
      if (r.channel == "00010000") return {v.hex, *frame->address, r.value};
  }
  ADD_FAILURE() << "no dlt645 vector with 00010000";
  return {};
}

class RawFramesTest : public PipelineOnMemoryStoreTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStore());
    frame_ = ImportEnergyFrame();
    store::MeterInfo m;
    m.meter_id = "M1";
    m.protocol = "dlt645";
    m.address = frame_.address;
    m.gateway = "DTU1";
    ASSERT_TRUE(store_->UpsertMeter(m).ok());
    StartPipeline(PipelineOptions{});
  }

  Frame frame_;
};

TEST_F(RawFramesTest, TheGatewaysFrameBecomesReadingsOfTheMetersChannels) {
  auto readings = RawFrameReadings(*store_, "DTU1", "dlt645", frame_.hex, 1'600'000'100);
  ASSERT_TRUE(readings.ok()) << readings.status().ToString();
  ASSERT_FALSE(readings->empty());
  const Reading& r = readings->front();
  EXPECT_EQ(r.meter_id, "M1");
  EXPECT_EQ(r.channel, "import_kwh");
  EXPECT_EQ(r.ts, 1'600'000'200);  // the nearest quarter hour (interval 900 s)
  ASSERT_TRUE(r.value.has_value());
  EXPECT_DOUBLE_EQ(*r.value, frame_.import_kwh);
  // The same frame as bytes, published by the meter itself.
  auto bytes = codec::ParseHexFrame(frame_.hex);
  auto direct = RawFrameReadings(*store_, "M1", "dlt645", std::string(bytes->begin(), bytes->end()), 1'600'000'100);
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_EQ(direct->front().channel, "import_kwh");
}

TEST_F(RawFramesTest, WhatCannotBeReadIsAnErrorNamingWhy) {
  std::string corrupt = frame_.hex;
  corrupt[corrupt.size() - 4] = corrupt[corrupt.size() - 4] == '0' ? '1' : '0';  // the checksum byte
  auto bad = RawFrameReadings(*store_, "DTU1", "dlt645", corrupt, 1'600'000'100);
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("dlt645 frame: byte"), std::string::npos) << bad.status().message();

  auto stranger = RawFrameReadings(*store_, "DTU2", "dlt645", frame_.hex, 1'600'000'100);
  ASSERT_EQ(stranger.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(stranger.status().message().find("is not behind DTU2 (its gateway is DTU1)"), std::string::npos)
      << stranger.status().message();

  store::MeterInfo m = *store_->GetMeter("M1").value();
  m.address = "999999999999";
  ASSERT_TRUE(store_->UpsertMeter(m).ok());
  auto unknown = RawFrameReadings(*store_, "DTU1", "dlt645", frame_.hex, 1'600'000'100);
  ASSERT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("no meter is registered with dlt645 address " + frame_.address),
            std::string::npos) << unknown.status().message();

  auto empty = RawFrameReadings(*store_, "DTU1", "dlt645", "", 1'600'000'100);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

// The billing channel (import_kwh for electricity) is judged and stored as channel ""; other
// channels are stored as they come, a cumulative one with its consumption, once however often sent.
TEST_F(RawFramesTest, OtherChannelsAreStoredBesideTheBillingChannel) {
  std::vector<Reading> first = {{"M1", 900, 10.0, "", "import_kwh"},
                                {"M1", 900, 4.0, "", "import_kwh_t1"},
                                {"M1", 900, 230.0, "", "dlt645:02010100"}};
  std::vector<Reading> second = {{"M1", 1800, 11.0, "", "import_kwh"},
                                 {"M1", 1800, 4.5, "", "import_kwh_t1"},
                                 {"M1", 1800, 231.0, "", "dlt645:02010100"}};
  auto a = pipeline_->Submit(first, "mqtt");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->accepted, 3);
  auto b = pipeline_->Submit(second, "mqtt");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->accepted, 3);
  auto again = pipeline_->Submit(second, "mqtt");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0);
  EXPECT_EQ(again->duplicates, 3);

  auto billing = store_->QueryReadings("M1", store::TimeRange{}, 0);
  ASSERT_TRUE(billing.ok());
  ASSERT_EQ(billing->size(), 2u);
  EXPECT_DOUBLE_EQ((*billing)[1].consumption, 1.0);
  auto t1 = store_->QueryReadings("M1", store::TimeRange{}, 0, "import_kwh_t1");
  ASSERT_TRUE(t1.ok());
  ASSERT_EQ(t1->size(), 2u);
  EXPECT_DOUBLE_EQ((*t1)[1].consumption, 0.5);
  EXPECT_EQ((*t1)[1].channel, "import_kwh_t1");
  auto volts = store_->QueryReadings("M1", store::TimeRange{}, 0, "dlt645:02010100");
  ASSERT_TRUE(volts.ok());
  ASSERT_EQ(volts->size(), 2u);
  EXPECT_DOUBLE_EQ((*volts)[1].consumption, 0);  // not a cumulative channel

  // Another value at a stored time: a conflict, the first value stays.
  std::vector<Reading> rewrite = {{"M1", 1800, 9.0, "", "import_kwh_t1"}};
  auto c = pipeline_->Submit(rewrite, "mqtt");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->conflicts, 1);
  EXPECT_DOUBLE_EQ(store_->GetReading("M1", 1800, "import_kwh_t1").value()->value, 4.5);
}

}  // namespace
}  // namespace mh::ingest
