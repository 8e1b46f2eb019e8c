#include "gateway/poller.h"

#include <gtest/gtest.h>

#include "codec/cjt188/cjt188.h"
#include "codec/dlt645/dlt645.h"
#include "gateway/gateway_options.h"
#include "gateway/stream_frames.h"
#include "sim/protocol_devices.h"

namespace mh::gateway {
namespace {

struct FakeSink : ReadingSink {
  std::vector<Reading> delivered;
  std::vector<std::string> rejected;  // device ids
  Status Deliver(const std::vector<Reading>& readings) override {
    delivered.insert(delivered.end(), readings.begin(), readings.end());
    return Status::Ok();
  }
  Status Reject(const std::string& device_id, std::string_view, std::span<const uint8_t>) override {
    rejected.push_back(device_id);
    return Status::Ok();
  }
};

GatewayMeter Meter(const std::string& id, const std::string& protocol, const std::string& address) {
  GatewayMeter m;
  m.meter_id = id;
  m.protocol = protocol;
  m.address = address;
  m.interval_s = 900;
  return m;
}

class PollerTest : public ::testing::Test {
 protected:
  PollerTest() {
    options_.poll_timeout_ms = 100;
    options_.poll_retries = 1;
  }
  GatewayOptions options_;
  FakeSink sink_;
  GatewayCounters counters_;
};

TEST_F(PollerTest, ReadsDlt645AndCjt188MetersOneRequestAtATime) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001"), Meter("W1", "cjt188", "00000000000002")}, 0);
  std::vector<uint8_t> first = p.Step(0, 1'700'000'000);
  ASSERT_FALSE(first.empty());
  EXPECT_TRUE(p.Step(1, 1'700'000'000).empty()) << "one request in flight per serial line";
  auto request = codec::dlt645::ParseFrame(first);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->address, "000000000001");
  // The answer arrives in two pieces, after wake-up bytes.
  std::vector<uint8_t> answer = sim::Dlt645ReadAnswer("000000000001", "00010000", 1234.56);
  p.Received(std::span(answer).first(5), 10, 1'700'000'000);
  EXPECT_TRUE(sink_.delivered.empty());
  p.Received(std::span(answer).subspan(5), 11, 1'700'000'000);
  ASSERT_EQ(sink_.delivered.size(), 1u);
  EXPECT_EQ(sink_.delivered[0].meter_id, "E1");
  EXPECT_EQ(sink_.delivered[0].channel, "import_kwh");
  EXPECT_DOUBLE_EQ(*sink_.delivered[0].value, 1234.56);
  EXPECT_EQ(sink_.delivered[0].ts, 1'700'000'100) << "the nearest quarter hour";

  std::vector<uint8_t> second = p.Step(12, 1'700'000'000);
  auto water = codec::cjt188::ParseFrame(second);
  ASSERT_TRUE(water.ok()) << water.status().ToString();
  EXPECT_EQ(water->address, "00000000000002");
  std::vector<uint8_t> reply = sim::Cjt188ReadAnswer("00000000000002", 42.5);
  p.Received(reply, 20, 1'700'000'000);
  ASSERT_EQ(sink_.delivered.size(), 3u);  // current and settlement volume
  EXPECT_EQ(sink_.delivered[1].channel, "volume_m3");
  EXPECT_DOUBLE_EQ(*sink_.delivered[1].value, 42.5);
  EXPECT_EQ(counters_.polls.load(), 2);
  EXPECT_TRUE(p.Step(21, 1'700'000'000).empty()) << "nothing due before the next interval";
  EXPECT_EQ(p.NextWakeMs(), 900'000);
}

TEST_F(PollerTest, SilentMeterIsRetriedThenCounted) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001")}, 0);
  std::vector<uint8_t> request = p.Step(0, 1'700'000'000);
  ASSERT_FALSE(request.empty());
  EXPECT_TRUE(p.Step(99, 1'700'000'000).empty());
  EXPECT_EQ(p.Step(100, 1'700'000'000), request) << "the retry repeats the request";
  EXPECT_TRUE(p.Step(200, 1'700'000'000).empty());
  EXPECT_EQ(counters_.silent.load(), 1);
  EXPECT_EQ(counters_.requests.load(), 2);
  EXPECT_FALSE(p.in_flight());
  EXPECT_TRUE(sink_.delivered.empty());
}

TEST_F(PollerTest, CorruptAnswerIsHandedOnForRejection) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001")}, 0);
  ASSERT_FALSE(p.Step(0, 1'700'000'000).empty());
  std::vector<uint8_t> answer = sim::Dlt645ReadAnswer("000000000001", "00010000", 7);
  answer[answer.size() - 2] ^= 1;
  p.Received(answer, 5, 1'700'000'000);
  EXPECT_EQ(sink_.rejected, std::vector<std::string>{"E1"});
  EXPECT_EQ(counters_.corrupt.load(), 1);
  EXPECT_TRUE(sink_.delivered.empty());
}

TEST_F(PollerTest, LateAnswerOfAnotherMeterIsDroppedNotRejected) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001"), Meter("E2", "dlt645", "000000000002")}, 0);
  ASSERT_FALSE(p.Step(0, 1'700'000'000).empty());
  std::vector<uint8_t> late = sim::Dlt645ReadAnswer("000000000009", "00010000", 5);
  p.Received(late, 5, 1'700'000'000);
  EXPECT_EQ(counters_.stray.load(), 1);
  EXPECT_TRUE(sink_.rejected.empty());
  EXPECT_TRUE(p.in_flight()) << "still waiting for E1";
  std::vector<uint8_t> other_di = sim::Dlt645ReadAnswer("000000000001", "00020000", 5);
  p.Received(other_di, 6, 1'700'000'000);
  EXPECT_EQ(counters_.stray.load(), 2);
  std::vector<uint8_t> answer = sim::Dlt645ReadAnswer("000000000001", "00010000", 5);
  p.Received(answer, 7, 1'700'000'000);
  ASSERT_EQ(sink_.delivered.size(), 1u);
  EXPECT_EQ(sink_.delivered[0].meter_id, "E1");
}

TEST_F(PollerTest, FollowUpFramesAreRequestedAndJoined) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001")}, 0);
  ASSERT_FALSE(p.Step(0, 1'700'000'000).empty());
  auto wire = codec::dlt645::AddressBytes("000000000001");
  ASSERT_TRUE(wire.ok());
  // 00010000 = 1234.56 (BCD 56 34 12 00) in two frames: 0xB1 (more follow), then 0x92 with SEQ 1.
  const std::vector<uint8_t> first_data = {0x00, 0x00, 0x01, 0x00, 0x56, 0x34};
  const std::vector<uint8_t> last_data = {0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x01};
  p.Received(codec::dlt645::EncodeFrame(*wire, 0xb1, first_data), 5, 1'700'000'000);
  EXPECT_TRUE(sink_.delivered.empty());
  std::vector<uint8_t> follow = p.Step(6, 1'700'000'000);
  auto f = codec::dlt645::ParseFrame(follow);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->control, 0x12);
  ASSERT_EQ(f->data.size(), 5u);
  EXPECT_EQ(f->data[4], 1) << "frame number 1";
  p.Received(codec::dlt645::EncodeFrame(*wire, 0x92, last_data), 7, 1'700'000'000);
  ASSERT_EQ(sink_.delivered.size(), 1u);
  EXPECT_DOUBLE_EQ(*sink_.delivered[0].value, 1234.56);
}

TEST_F(PollerTest, AbandonCountsTheReadInFlight) {
  DtuPoller p("DTU1", options_, &sink_, &counters_);
  p.SetMeters({Meter("E1", "dlt645", "000000000001")}, 0);
  ASSERT_FALSE(p.Step(0, 1'700'000'000).empty());
  p.Abandon();
  EXPECT_EQ(counters_.cut_mid_poll.load(), 1);
  EXPECT_FALSE(p.in_flight());
}

TEST(RegistrationTest, Parses) {
  EXPECT_EQ(ParseRegistration("line")->kind, Registration::Kind::kLine);
  auto binary = ParseRegistration("binary:8");
  ASSERT_TRUE(binary.ok());
  EXPECT_EQ(binary->kind, Registration::Kind::kBinary);
  EXPECT_EQ(binary->bytes, 8);
  EXPECT_FALSE(ParseRegistration("binary:0").ok());
  EXPECT_FALSE(ParseRegistration("binary:x").ok());
  EXPECT_FALSE(ParseRegistration("ascii").ok());
}

TEST(StreamFramesTest, CutsWrapperPdus) {
  std::vector<uint8_t> pdu = sim::DlmsPush("MHU0000000000042", 1000);
  EXPECT_EQ(CutWrapperPdu(std::span(pdu).first(7)).length, 0u);
  EXPECT_EQ(CutWrapperPdu(pdu).length, pdu.size());
  std::vector<uint8_t> huge = {0, 1, 0, 1, 0, 1, 0xff, 0xff};
  EXPECT_EQ(CutWrapperPdu(huge).length, SIZE_MAX);
}

}  // namespace
}  // namespace mh::gateway
