// The MQTT payloads between an audited meter and the audit server: exact bytes, round trips, and
// what is refused.
#include "audit/messages.h"

#include <gtest/gtest.h>

namespace mh::audit {
namespace {

TEST(AuditMessagesTest, CommandsExactBytesAndBack) {
  EXPECT_EQ(FormatCommand(AuditCycleCommand{1, 20780}), R"({"d":1,"from":"2026-11-23","type":"audit_cycle"})");
  EXPECT_EQ(FormatCommand(SendSegmentsCommand{"1795400000000-7"}), R"({"request_id":"1795400000000-7","type":"send_segments"})");
  auto cycle = ParseAuditCommand(R"({"type":"audit_cycle","d":3,"from":"2026-11-23"})");
  ASSERT_TRUE(cycle.ok()) << cycle.status().ToString();
  ASSERT_TRUE(std::holds_alternative<AuditCycleCommand>(*cycle));
  EXPECT_EQ(std::get<AuditCycleCommand>(*cycle).d, 3);
  EXPECT_EQ(std::get<AuditCycleCommand>(*cycle).from_day, 20780);
  auto send = ParseAuditCommand(R"({"type":"send_segments","request_id":"r1"})");
  ASSERT_TRUE(send.ok());
  EXPECT_EQ(std::get<SendSegmentsCommand>(*send).request_id, "r1");
  // Another area's command (the relay's targets on the same topic) is not the plugin's business.
  auto other = ParseAuditCommand(R"({"type":"relay_target","window":"00:00-06:00"})");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(*other));
  EXPECT_EQ(ParseAuditCommand(R"({"type":"audit_cycle","d":0,"from":"2026-11-23"})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAuditCommand(R"({"type":"audit_cycle","d":2,"from":"2026-13-01"})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAuditCommand(R"({"type":"send_segments"})").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseAuditCommand("[1]").status().code(), StatusCode::kInvalidArgument);
}

TEST(AuditMessagesTest, SegmentsWithAndWithoutRequestId) {
  SegmentsMessage m{std::string("mh-fixed 1\n\0END\n", 16), "mh-dynamic 1\nmeter M1\n", "mh-compare 1\n3-11\n", ""};
  const std::string unasked = FormatSegmentsMessage(m);
  EXPECT_EQ(unasked.find("request_id"), std::string::npos);
  auto back = ParseSegmentsMessage(unasked);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->fixed_image, m.fixed_image);
  EXPECT_EQ(back->dynamic_text, m.dynamic_text);
  EXPECT_EQ(back->compare_text, m.compare_text);
  EXPECT_EQ(back->request_id, "");
  m.request_id = "1795400000000-7";
  EXPECT_EQ(ParseSegmentsMessage(FormatSegmentsMessage(m))->request_id, "1795400000000-7");
  EXPECT_EQ(ParseSegmentsMessage(R"({"fixed_image_hex":"zz","dynamic":"","compare":""})").status().message(),
            "audit segments: field 'fixed_image_hex' is not hex");
  EXPECT_EQ(ParseSegmentsMessage(R"({"fixed_image_hex":"00","dynamic":""})").status().message(),
            "audit segments: field 'compare' missing or not a string");
  EXPECT_FALSE(ParseSegmentsMessage(R"({"fixed_image_hex":"00","dynamic":"","compare":"","request_id":")" +
                                    std::string(65, 'r') + "\"}")
                   .ok());
}

}  // namespace
}  // namespace mh::audit
