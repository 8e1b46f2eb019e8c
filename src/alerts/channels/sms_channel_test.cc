#include "alerts/channels/sms_channel.h"

#include <atomic>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "alerts/test_servers_for_test.h"

namespace mh::alerts {
namespace {

using testing::LocalHttpServer;

struct Gateway {
  std::mutex mu;
  int requests = 0;
  std::atomic<int> status{200};
  std::string authorization;
  nlohmann::json body;
  LocalHttpServer server{[this](httplib::Server& s) {
    s.Post("/send", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      ++requests;
      authorization = req.get_header_value("Authorization");
      body = nlohmann::json::parse(req.body, nullptr, false);
      res.status = status.load();
    });
  }};
};

SmsOptions Gw(const std::string& url, const std::string& token = "") {
  SmsOptions o;
  o.url = url;
  o.token = token;
  return o;
}

Message Sms(const std::string& to, const std::string& text) {
  Message m;
  m.address = to;
  m.subject = "subject";
  m.text = text;
  m.json = "{}";
  return m;
}

TEST(SmsChannelTest, GatewayReceivesToTextAndBearerToken) {
  Gateway gw;
  SmsChannel channel(Gw(gw.server.Url("/send"), "tok-123"));
  ASSERT_TRUE(channel.Send(Sms("+86 138-0013-8000", "meter M1 used 12.5 kWh")).ok());
  std::lock_guard<std::mutex> lock(gw.mu);
  EXPECT_EQ(gw.requests, 1);
  EXPECT_EQ(gw.authorization, "Bearer tok-123");
  EXPECT_EQ(gw.body, (nlohmann::json{{"to", "+8613800138000"}, {"text", "meter M1 used 12.5 kWh"}}));
}

TEST(SmsChannelTest, NoTokenNoAuthorizationHeader) {
  Gateway gw;
  SmsChannel channel(Gw(gw.server.Url("/send")));
  ASSERT_TRUE(channel.Send(Sms("+4915112345678", "hi")).ok());
  std::lock_guard<std::mutex> lock(gw.mu);
  EXPECT_EQ(gw.authorization, "");
}

TEST(SmsChannelTest, InvalidPhoneNumberIsPermanentAndSendsNothing) {
  Gateway gw;
  SmsChannel channel(Gw(gw.server.Url("/send")));
  for (const char* phone : {"", "13800138000", "+12345", "+1234567890123456", "+86abc1234567", "++8613800138000",
                            "+86 138 0013 8000; rm", "+8613800138000\n"}) {
    EXPECT_EQ(channel.Send(Sms(phone, "x")).code(), StatusCode::kInvalidArgument) << phone;
  }
  std::lock_guard<std::mutex> lock(gw.mu);
  EXPECT_EQ(gw.requests, 0);
}

TEST(SmsChannelTest, NormalizePhoneNumber) {
  EXPECT_EQ(NormalizePhoneNumber("+123456"), "+123456");
  EXPECT_EQ(NormalizePhoneNumber("+123456789012345"), "+123456789012345");
  EXPECT_EQ(NormalizePhoneNumber("+1 (555) 010.9999"), "+15550109999");
  EXPECT_EQ(NormalizePhoneNumber("+12345"), std::nullopt);
}

TEST(SmsChannelTest, LongTextIsCutAt480CharactersNotBytes) {
  Gateway gw;
  SmsChannel channel(Gw(gw.server.Url("/send")));
  std::string text(479, 'a');
  text += "³³³";  // 2 bytes each: the cut must not split one
  ASSERT_TRUE(channel.Send(Sms("+8613800138000", text)).ok());
  std::lock_guard<std::mutex> lock(gw.mu);
  EXPECT_EQ(gw.body["text"].get<std::string>(), std::string(479, 'a') + "³");

  EXPECT_EQ(TruncateUtf8("m³ ok", 2), "m³");
  EXPECT_EQ(TruncateUtf8("short", 480), "short");
}

TEST(SmsChannelTest, GatewayAnswersMapLikeTheWebhook) {
  Gateway gw;
  SmsChannel channel(Gw(gw.server.Url("/send")));
  gw.status = 503;
  EXPECT_EQ(channel.Send(Sms("+8613800138000", "x")).code(), StatusCode::kUnavailable);
  gw.status = 429;
  EXPECT_EQ(channel.Send(Sms("+8613800138000", "x")).code(), StatusCode::kUnavailable);
  gw.status = 401;
  EXPECT_EQ(channel.Send(Sms("+8613800138000", "x")).code(), StatusCode::kInvalidArgument);
}

TEST(SmsChannelTest, UnreachableGatewayIsRetryable) {
  SmsChannel channel(Gw("http://127.0.0.1:" + std::to_string(testing::UnusedPort()) + "/send"));
  EXPECT_EQ(channel.Send(Sms("+8613800138000", "x")).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace mh::alerts
