#include "alerts/terminal_address.h"

#include <gtest/gtest.h>

namespace mh::alerts {
namespace {

std::string Why(const std::string& literal) { return NonPublicReasonOfLiteral(literal).value_or("(not a literal)"); }

TEST(TerminalAddressTest, PrivateLoopbackLinkLocalAndReservedRangesAreNotPublic) {
  for (const char* a : {"0.0.0.0", "10.1.2.3", "100.100.100.200", "127.0.0.1", "127.255.0.9", "169.254.169.254",
                        "172.16.0.1", "172.31.255.255", "192.0.0.192", "192.168.1.1", "198.18.0.1", "224.0.0.1",
                        "255.255.255.255", "::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                        "2002:7f00:1::", "fc00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0", "ff02::1",
                        "2001:0:4136:e378::1", "::127.0.0.1"}) {
    EXPECT_NE(Why(a), "") << a;
    EXPECT_NE(Why(a), "(not a literal)") << a;
  }
  for (const char* a : {"8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1",
                        "2002:0808:0808::"}) {
    EXPECT_EQ(Why(a), "") << a;
  }
  EXPECT_EQ(Why("127.0.0.1"), "loopback");
  EXPECT_EQ(Why("example.com"), "(not a literal)");
}

TEST(TerminalAddressTest, WebhookUrlsAreCheckedForSchemeLengthAndHost) {
  EXPECT_TRUE(CheckWebhookUrl("https://hooks.example.com/alerts?x=1", false).ok());
  EXPECT_TRUE(CheckWebhookUrl("http://93.184.216.34:8443/a", false).ok());
  EXPECT_TRUE(CheckWebhookUrl("http://unresolvable-name.invalid/hook", false).ok());  // checked at send time
  for (const std::string& url :
       {std::string("ftp://example.com/x"), std::string("file:///etc/passwd"), std::string("example.com/hook"),
        std::string("http://"), std::string("http://127.0.0.1:8080/internal-admin"), std::string("http://localhost/x"),
        std::string("http://[::1]:80/"), std::string("http://169.254.169.254/latest/meta-data"),
        std::string("https://10.0.0.5/"), std::string("http://[fd00::1]/"), std::string("http://0x7f000001/"),
        std::string("http://2130706433/"), "https://example.com/" + std::string(2100, 'a')}) {
    Status s = CheckWebhookUrl(url, false);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << url.substr(0, 60);
  }
  EXPECT_NE(CheckWebhookUrl("http://localhost:9/x", false).message().find("loopback"), std::string::npos);
  EXPECT_NE(CheckWebhookUrl("http://127.0.0.1/x", false).message().find("allow_private"), std::string::npos);
  // An operator's opt-in lifts the address rule only: scheme and length still hold.
  EXPECT_TRUE(CheckWebhookUrl("http://127.0.0.1:8080/hook", true).ok());
  EXPECT_FALSE(CheckWebhookUrl("ftp://127.0.0.1/", true).ok());
  EXPECT_FALSE(CheckWebhookUrl("http://x/" + std::string(2048, 'a'), true).ok());
}

TEST(TerminalAddressTest, PhoneNumbersAndEmailAddressesAreCheckedByShape) {
  EXPECT_TRUE(CheckTerminalAddress("sms", "+86 138-0013-8000", false).ok());
  EXPECT_FALSE(CheckTerminalAddress("sms", "13800138000", false).ok());  // no country code
  EXPECT_FALSE(CheckTerminalAddress("sms", "+1234", false).ok());
  EXPECT_FALSE(CheckTerminalAddress("sms", "+8613800138000\nX-Header: 1", false).ok());
  EXPECT_TRUE(CheckTerminalAddress("email", "alice@example.com", false).ok());
  EXPECT_FALSE(CheckTerminalAddress("email", "alice@example.com>, <bob@example.com", false).ok());
  EXPECT_FALSE(CheckTerminalAddress("email", "alice", false).ok());
  EXPECT_FALSE(CheckTerminalAddress("pigeon", "loft 3", false).ok());
}

TEST(TerminalAddressTest, CustomersReadGenericErrorsOnly) {
  EXPECT_EQ(PublicDeliveryError("webhook", "HTTP 500 from webhook http://a/b: {\"db_password\":\"hunter2\"}"),
            "HTTP 500 from the receiver");
  EXPECT_EQ(PublicDeliveryError("sms", "HTTP 503 from SMS gateway http://10.0.0.7/send: down"),
            "HTTP 503 from the SMS gateway");
  EXPECT_EQ(PublicDeliveryError("webhook", "POST http://a/b: Failed to connect to a port 80: Connection refused"),
            "the receiver could not be reached");
  EXPECT_EQ(PublicDeliveryError("email", "smtp://10.0.0.9:25: RCPT failed: 550 no such user (reply 550)"),
            "the mail server did not accept the message");
  EXPECT_EQ(PublicDeliveryError("webhook", std::string(kRefusedAddressPrefix) + "POST http://x would connect to 10.0.0.1"),
            "the address is not allowed (not a public internet address)");
  EXPECT_EQ(PublicDeliveryError("webhook", "HTTP 5"), "the receiver could not be reached");
  EXPECT_EQ(PublicDeliveryError("webhook", ""), "");
}

}  // namespace
}  // namespace mh::alerts
