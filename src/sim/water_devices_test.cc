#include "sim/water_devices.h"

#include <cmath>

#include <gtest/gtest.h>

#include "water/pairing.h"

namespace mh::sim {
namespace {

TEST(WaterDevices, FlowFrameDecodesToTheSamples) {
  const std::string fc = water::FeatureCodeOf("WT-000001");
  auto bytes = EncodeFlowFrame(codec::WaterDeviceKind::kFlowmeter, fc, "FM-000001", 1793491200, 60,
                               {0.0, 0.0, 0.512, -0.002, std::nan("")}, true);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto f = codec::DecodeWaterFrame(*bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->kind, codec::WaterDeviceKind::kFlowmeter);
  EXPECT_TRUE(f->relayed);
  EXPECT_EQ(f->feature_code, fc);
  EXPECT_EQ(f->device_id, "FM-000001");
  EXPECT_EQ(f->start, 1793491200);
  EXPECT_EQ(f->interval_s, 60u);
  ASSERT_EQ(f->samples.size(), 5u);
  EXPECT_EQ(f->samples[2], 512);
  EXPECT_EQ(f->samples[3], 0);  // a negative flow reads as zero
  EXPECT_EQ(f->samples[4], codec::kWaterMissingSample);
}

TEST(WaterDevices, ParsesThePlatformsCommand) {
  auto c = ParseWaterCommand(
      R"({"type":"water_maintenance","command_id":"abc-1-1","feature_code":"0123456789abcdef","issued_at":100,)"
      R"("expires_at":200,"parameters":{"model":"linear","a1":1.04,"a2":0.008}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->command_id, "abc-1-1");
  EXPECT_EQ(c->feature_code, "0123456789abcdef");
  EXPECT_EQ(c->issued_at, 100);
  EXPECT_EQ(c->expires_at, 200);
  EXPECT_EQ(c->correction.model, meter::water::Correction::kLinear);
  EXPECT_EQ(c->correction.a1, 1.04);
  EXPECT_EQ(c->correction.a2, 0.008);

  auto p = ParseWaterCommand(
      R"({"type":"water_maintenance","command_id":"x","feature_code":"f","issued_at":1,"expires_at":2,)"
      R"("parameters":{"model":"power","a":1.01,"b":1.05,"c":0.0}})");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->correction.model, meter::water::Correction::kPower);
  EXPECT_EQ(p->correction.b, 1.05);

  EXPECT_EQ(ParseWaterCommand("nope").status().message(), "water command: not a JSON object");
  EXPECT_EQ(ParseWaterCommand(R"({"type":"relay"})").status().message(),
            "water command: type is not water_maintenance or water_parameters");
  // An engineer's operating parameters (issue 17 item 2): the correction is kept.
  auto params = ParseWaterCommand(
      R"({"type":"water_parameters","command_id":"p","feature_code":"f","issued_at":1,"expires_at":2,"operating":{"gain":1.01}})");
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_TRUE(params->keep_correction);
  EXPECT_EQ(params->operating.gain, 1.01);
  EXPECT_FALSE(params->operating.zero_offset.has_value());
  auto bad_model = ParseWaterCommand(
      R"({"type":"water_maintenance","command_id":"x","feature_code":"f","issued_at":1,"expires_at":2,"parameters":{"model":"cubic"}})");
  EXPECT_EQ(bad_model.status().message(), "water command: parameters.model 'cubic' is not linear or power");
  auto missing = ParseWaterCommand(R"({"type":"water_maintenance","command_id":"x"})");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("feature_code"), std::string::npos) << missing.status().message();
}

TEST(WaterDevices, AckJson) {
  EXPECT_EQ(WaterAckJson({"abc-1-1", "0123456789abcdef", 1793512800}),
            R"({"applied_at":1793512800,"command_id":"abc-1-1","feature_code":"0123456789abcdef"})");
  meter::water::MaintenanceAck ack{"abc-1-2", "0123456789abcdef", 1793512800};
  ack.before = meter::water::OperatingParameters{};
  ack.after = meter::water::OperatingParameters{0.0, 0.005, 1.01};
  EXPECT_EQ(WaterAckJson(ack),
            R"({"after":{"gain":1.01,"low_flow_cutoff":0.005,"zero_offset":0.0},"applied_at":1793512800,)"
            R"("before":{"gain":1.0,"low_flow_cutoff":0.0,"zero_offset":0.0},"command_id":"abc-1-2","feature_code":"0123456789abcdef"})");
}

}  // namespace
}  // namespace mh::sim
