#include "alerts/channels/webhook_channel.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alerts/message.h"
#include "alerts/terminal_address.h"
#include "alerts/test_servers_for_test.h"

namespace mh::alerts {
namespace {

using testing::LocalHttpServer;
using testing::UnusedPort;

Message SampleMessage(const std::string& address) {
  store::AlertRecord a = testing::SampleAlert(42);
  Message m = FormatAlert(a, "kWh");
  m.address = address;
  return m;
}

WebhookOptions Signed(const std::string& secret) {
  WebhookOptions o = testing::LoopbackWebhook();
  o.secret = secret;
  return o;
}

WebhookOptions WithTimeout(int64_t timeout_ms) {
  WebhookOptions o = testing::LoopbackWebhook();
  o.timeout_ms = timeout_ms;
  return o;
}

// The receiver's side of the signature, computed here without WebhookSignature.
std::string ReceiverHmacHex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < len; ++i) std::snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  return std::string(hex, 2 * len);
}

TEST(WebhookSignatureTest, Rfc4231TestCase2) {
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookChannelTest, ReceiverGetsTheAlertJsonWithAValidSignature) {
  std::mutex mu;
  std::string body, content_type, signature;
  int requests = 0;
  LocalHttpServer server([&](httplib::Server& s) {
    s.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      ++requests;
      body = req.body;
      content_type = req.get_header_value("Content-Type");
      signature = req.get_header_value("X-MeterHub-Signature");
      res.status = 204;
    });
  });
  WebhookChannel channel(Signed("s3cret"));
  Message m = SampleMessage(server.Url("/hook"));
  ASSERT_TRUE(channel.Send(m).ok());

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(content_type, "application/json");
  EXPECT_EQ(body, m.json);
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["type"], "abnormal_consumption");
  EXPECT_EQ(j["meter"], "M1");
  EXPECT_EQ(j["reading"], 203.0);
  EXPECT_EQ(j["period_consumption"], 12.5);
  EXPECT_EQ(j["threshold"], 10.0);
  EXPECT_EQ(j["excess"], 2.5);
  EXPECT_EQ(j["period_start"], "2020-10-28T16:00:00Z");
  EXPECT_EQ(j["timestamp"], "2020-10-29T15:00:00Z");
  EXPECT_EQ(signature, "sha256=" + ReceiverHmacHex("s3cret", body));
  EXPECT_NE(signature, "sha256=" + ReceiverHmacHex("wrong", body));
}

TEST(WebhookChannelTest, NoSecretNoSignatureHeader) {
  bool has_signature = true;
  LocalHttpServer server([&](httplib::Server& s) {
    s.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
      has_signature = req.has_header("X-MeterHub-Signature");
      res.status = 200;
    });
  });
  WebhookChannel channel(testing::LoopbackWebhook());
  ASSERT_TRUE(channel.Send(SampleMessage(server.Url("/hook"))).ok());
  EXPECT_FALSE(has_signature);
}

TEST(WebhookChannelTest, AnswersMapToRetryableOrPermanent) {
  LocalHttpServer server([&](httplib::Server& s) {
    s.Post(R"(/status/(\d+))", [&](const httplib::Request& req, httplib::Response& res) {
      res.status = std::stoi(req.matches[1]);
      res.set_content("nope", "text/plain");
    });
  });
  WebhookChannel channel(testing::LoopbackWebhook());
  auto send = [&](int status) { return channel.Send(SampleMessage(server.Url("/status/" + std::to_string(status)))); };
  EXPECT_TRUE(send(200).ok());
  EXPECT_TRUE(send(202).ok());
  for (int s : {400, 401, 403, 404, 410, 422}) {
    Status st = send(s);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << s << " " << st.ToString();
  }
  for (int s : {408, 429, 500, 502, 503}) {
    Status st = send(s);
    EXPECT_EQ(st.code(), StatusCode::kUnavailable) << s << " " << st.ToString();
  }
  Status st = send(500);
  EXPECT_NE(st.message().find("HTTP 500"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("nope"), std::string::npos) << st.message();
}

TEST(WebhookChannelTest, RedirectsAreNotFollowed) {
  int target_hits = 0;
  LocalHttpServer server([&](httplib::Server& s) {
    s.Post("/moved", [&](const httplib::Request&, httplib::Response& res) { res.set_redirect("/target", 307); });
    s.Post("/target", [&](const httplib::Request&, httplib::Response& res) { ++target_hits; });
  });
  WebhookChannel channel(testing::LoopbackWebhook());
  EXPECT_EQ(channel.Send(SampleMessage(server.Url("/moved"))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(target_hits, 0);
}

TEST(WebhookChannelTest, UnreachableReceiverIsRetryable) {
  WebhookChannel channel(testing::LoopbackWebhook());
  Status st = channel.Send(SampleMessage("http://127.0.0.1:" + std::to_string(UnusedPort()) + "/hook"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST(WebhookChannelTest, NonHttpAddressIsPermanent) {
  WebhookChannel channel(testing::LoopbackWebhook());
  for (const char* address : {"", "ftp://127.0.0.1/x", "file:///etc/passwd", "127.0.0.1:80/hook", "http://"}) {
    EXPECT_EQ(channel.Send(SampleMessage(address)).code(), StatusCode::kInvalidArgument) << address;
  }
}

// A customer's URL is checked on the address each send connects to: a name that resolves to the
// loopback interface now (a DNS change after binding) is refused as surely as a literal, and the
// receiver never sees a byte. That is what makes the bind-time check safe against rebinding.
TEST(WebhookChannelTest, PublicOnlyRefusesPrivateAddressesAtSendTime) {
  int hits = 0;
  LocalHttpServer server([&](httplib::Server& s) {
    s.Post("/internal-admin", [&](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content("secret", "text/plain");
    });
  });
  WebhookChannel channel(WebhookOptions{});  // allow_private off: the production default
  const std::string port = std::to_string(server.port());
  for (const std::string& url : {"http://127.0.0.1:" + port + "/internal-admin", "http://localhost:" + port + "/internal-admin",
                                "http://127.1:" + port + "/internal-admin", "http://2130706433:" + port + "/internal-admin"}) {
    Status st = channel.Send(SampleMessage(url));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << url << " " << st.ToString();
    EXPECT_EQ(st.message().rfind(kRefusedAddressPrefix, 0), 0u) << st.message();
    EXPECT_NE(st.message().find("loopback"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find("secret"), std::string::npos);
  }
  EXPECT_EQ(hits, 0);
  EXPECT_EQ(PublicDeliveryError("webhook", channel.Send(SampleMessage("http://127.0.0.1:" + port + "/x")).message()),
            "the address is not allowed (not a public internet address)");
}

// A receiver that holds the request until the test lets go.
class HangingReceiver {
 public:
  HangingReceiver()
      : server_([this](httplib::Server& s) {
          s.Post("/slow", [this](const httplib::Request&, httplib::Response& res) {
            std::unique_lock<std::mutex> lock(mu_);
            entered_ = true;
            cv_.notify_all();
            cv_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
          });
        }) {}
  ~HangingReceiver() { Release(); }
  std::string Url() const { return server_.Url("/slow"); }
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(5), [this] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  LocalHttpServer server_;  // last: stopped first, after the destructor has released the handler
};

TEST(WebhookChannelTest, SlowReceiverTimesOut) {
  HangingReceiver receiver;
  WebhookChannel channel(WithTimeout(300));
  auto start = std::chrono::steady_clock::now();
  Status st = channel.Send(SampleMessage(receiver.Url()));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST(WebhookChannelTest, CancelCutsASendShort) {
  HangingReceiver receiver;
  WebhookChannel channel(testing::LoopbackWebhook());
  std::thread canceller([&] {
    receiver.WaitEntered();
    channel.SetCancelled(true);
  });
  auto start = std::chrono::steady_clock::now();
  Status st = channel.Send(SampleMessage(receiver.Url()));
  auto elapsed = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("cancelled"), std::string::npos);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  // Cancelled sends fail at once; clearing the flag makes the channel usable again.
  EXPECT_EQ(channel.Send(SampleMessage(receiver.Url())).code(), StatusCode::kUnavailable);
  channel.SetCancelled(false);
  receiver.Release();
  EXPECT_TRUE(channel.Send(SampleMessage(receiver.Url())).ok());
}

}  // namespace
}  // namespace mh::alerts
