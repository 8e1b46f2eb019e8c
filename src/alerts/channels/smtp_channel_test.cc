#include "alerts/channels/smtp_channel.h"

#include <gtest/gtest.h>

#include "alerts/message.h"
#include "alerts/test_servers_for_test.h"

namespace mh::alerts {
namespace {

using testing::SmtpSink;
using testing::SmtpSinkReplies;

constexpr int64_t kNowMs = 1603983600000;  // Thu 2020-10-29 15:00:00 UTC

Message AlertMail(const std::string& to) {
  store::AlertRecord a = testing::SampleAlert(9);
  Message m = FormatAlert(a, "kWh");
  m.address = to;
  return m;
}

SmtpOptions Options(const std::string& url, const std::string& from = "alerts@meterhub.test") {
  SmtpOptions o;
  o.url = url;
  o.from = from;
  return o;
}

SmtpSinkReplies Replies(const std::string& rcpt, const std::string& data_end) {
  SmtpSinkReplies r;
  r.rcpt = rcpt;
  r.data_end = data_end;
  return r;
}

// The header block and the body of a captured message.
std::pair<std::string, std::string> Split(const std::string& data) {
  size_t blank = data.find("\r\n\r\n");
  if (blank == std::string::npos) return {data, ""};
  return {data.substr(0, blank + 2), data.substr(blank + 4)};
}

TEST(SmtpChannelTest, RealSmtpConversationDeliversHeadersAndBody) {
  SmtpSink sink;
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  Message m = AlertMail("customer@example.com");
  Status st = channel.Send(m);
  ASSERT_TRUE(st.ok()) << st.ToString();

  auto mails = sink.mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].mail_from.substr(0, 22), "<alerts@meterhub.test>");
  ASSERT_EQ(mails[0].rcpt_to.size(), 1u);
  EXPECT_EQ(mails[0].rcpt_to[0], "<customer@example.com>");

  auto [headers, body] = Split(mails[0].data);
  EXPECT_NE(headers.find("Date: Thu, 29 Oct 2020 15:00:00 +0000\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("From: \"MeterHub\" <alerts@meterhub.test>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("To: <customer@example.com>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Subject: MeterHub: abnormal consumption on meter M1\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Message-ID: <1603983600000."), std::string::npos) << headers;
  EXPECT_NE(headers.find("@meterhub.test>\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("MIME-Version: 1.0\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << headers;
  EXPECT_EQ(body, m.text + "\r\n");

  auto commands = sink.commands();
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.back(), "QUIT");
}

TEST(SmtpChannelTest, TwoMessagesGetDistinctMessageIds) {
  SmtpSink sink;
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  ASSERT_TRUE(channel.Send(AlertMail("a@example.com")).ok());
  ASSERT_TRUE(channel.Send(AlertMail("a@example.com")).ok());
  auto mails = sink.mails();
  ASSERT_EQ(mails.size(), 2u);
  auto id = [](const std::string& data) {
    size_t at = data.find("Message-ID: ");
    return data.substr(at, data.find("\r\n", at) - at);
  };
  EXPECT_NE(id(mails[0].data), id(mails[1].data));
}

TEST(SmtpChannelTest, DotsAndBareNewlinesSurviveTheTrip) {
  SmtpSink sink;
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  Message m;
  m.address = "ops@example.com";
  m.subject = "dots";
  m.text = "line one\n.\n..two\nlast";
  ASSERT_TRUE(channel.Send(m).ok());
  auto mails = sink.mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(Split(mails[0].data).second, "line one\r\n.\r\n..two\r\nlast\r\n");
}

TEST(SmtpChannelTest, PermanentRejectionIsInvalidArgument) {
  SmtpSink sink(Replies("550 5.1.1 no such user", "250 2.0.0 OK queued"));
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  Status st = channel.Send(AlertMail("nobody@example.com"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("550"), std::string::npos) << st.message();
  EXPECT_TRUE(sink.mails().empty());
}

TEST(SmtpChannelTest, TransientRejectionIsRetryable) {
  SmtpSink sink(Replies("250 2.1.5 OK", "451 4.3.0 try again later"));
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  Status st = channel.Send(AlertMail("customer@example.com"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST(SmtpChannelTest, UnreachableServerIsRetryable) {
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(
      Options("smtp://127.0.0.1:" + std::to_string(testing::UnusedPort())),
      &clock);
  EXPECT_EQ(channel.Send(AlertMail("customer@example.com")).code(), StatusCode::kUnavailable);
}

TEST(SmtpChannelTest, BadAddressesAreRejectedBeforeConnecting) {
  SmtpSink sink;
  SimulatedClock clock(kNowMs);
  SmtpChannel channel(Options(sink.Url()), &clock);
  for (const char* to : {"", "no-at-sign", "@example.com", "a@", "a b@example.com", "a@b.com\r\nBcc: x@y.com",
                         "<a@b.com>", "a@b.com,c@d.com"}) {
    EXPECT_EQ(channel.Send(AlertMail(to)).code(), StatusCode::kInvalidArgument) << to;
  }
  EXPECT_TRUE(sink.commands().empty());
}

TEST(SmtpMessageTest, Rfc5322Dates) {
  EXPECT_EQ(FormatRfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(1603983600), "Thu, 29 Oct 2020 15:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST(SmtpMessageTest, NonAsciiSubjectIsEncodedAndNewlinesCannotInjectHeaders) {
  Message m;
  m.address = "a@example.com";
  m.subject = "Wasser: 3 m³\r\nBcc: evil@example.com";
  m.text = "body";
  std::string email = BuildEmail(Options("smtp://unused", "x@meterhub.test"), m, 0, "<1@meterhub.test>");
  EXPECT_NE(email.find("Subject: =?UTF-8?B?"), std::string::npos) << email;
  EXPECT_EQ(email.find("\r\nBcc:"), std::string::npos) << email;

  m.subject = "plain\nBcc: evil@example.com";
  email = BuildEmail(Options("smtp://unused", "x@meterhub.test"), m, 0, "<1@meterhub.test>");
  EXPECT_NE(email.find("Subject: plain Bcc: evil@example.com\r\n"), std::string::npos) << email;
  EXPECT_EQ(email.find("\r\nBcc:"), std::string::npos) << email;
}

}  // namespace
}  // namespace mh::alerts
