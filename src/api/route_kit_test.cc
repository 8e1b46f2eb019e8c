#include "api/route_kit.h"

#include <gtest/gtest.h>

namespace mh::api {
namespace {

Status Check(std::string_view value, const TextRule& rule) { return CheckText(value, rule, "field 'x'"); }

TEST(RouteKit, TextRulesBoundLengthInCharactersAndRefuseControls) {
  EXPECT_TRUE(Check("M-1_a", kMeterIdText).ok());
  EXPECT_FALSE(Check("M 1", kMeterIdText).ok());
  EXPECT_FALSE(Check(std::string(33, 'a'), kMeterIdText).ok());
  EXPECT_TRUE(Check(std::string(32, 'a'), kMeterIdText).ok());
  // Characters, not bytes: 64 CJK characters (192 bytes) are a valid id, 65 are not.
  std::string cjk;
  for (int i = 0; i < 64; ++i) cjk += "客";
  EXPECT_TRUE(Check(cjk, kIdText).ok());
  EXPECT_NE(Check(cjk + "客", kIdText).message().find("65 characters"), std::string::npos);
  EXPECT_NE(Check(std::string(100000, 'a'), kIdText).message().find("100000 bytes"), std::string::npos);
  for (const std::string& bad : {std::string("a\nb"), std::string("a\x7f"), std::string("a\xc2\x85"),  // NEL (C1)
                                std::string("a\xe2\x80\xae"), std::string("a\xe2\x80\xa8"), std::string(1, '\0')}) {
    Status s = Check(bad, kNameText);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.message();
    EXPECT_NE(s.message().find("control character"), std::string::npos) << s.message();
  }
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),  // overlong, surrogate
                                std::string("\xe4\xbd"), std::string("\xf4\x90\x80\x80")}) {
    EXPECT_NE(Check(bad, kNameText).message().find("not valid UTF-8"), std::string::npos) << Check(bad, kNameText).message();
  }
  EXPECT_TRUE(Check("Zhang San (north wing)", kNameText).ok());
  EXPECT_FALSE(Check("alice smith", kIdText).ok());
  EXPECT_TRUE(Check("+86 (138) 0013-8000", kPhoneText).ok());
  EXPECT_FALSE(Check("+86 138 ext. 5", kPhoneText).ok());
  // The value is never echoed in the message.
  EXPECT_EQ(Check("secret\n", kNameText).message().find("secret"), std::string::npos);
}

TEST(RouteKit, FieldsAndParametersAreTyped) {
  json body = json::parse(R"({"id":"M1","n":5,"big":18446744073709551615,"frac":1.5,"s":12})");
  std::string id;
  EXPECT_TRUE(TextField(body, "id", kMeterIdText, &id, true).ok());
  EXPECT_EQ(id, "M1");
  EXPECT_NE(TextField(body, "s", kMeterIdText, &id, true).message().find("must be a string"), std::string::npos);
  EXPECT_NE(TextField(body, "none", kMeterIdText, &id, true).message().find("is required"), std::string::npos);
  EXPECT_TRUE(TextField(body, "none", kMeterIdText, &id, false).ok());
  int64_t n = 0;
  EXPECT_TRUE(Field(body, "n", &n, true).ok());
  EXPECT_EQ(n, 5);
  EXPECT_FALSE(Field(body, "big", &n, true).ok());
  EXPECT_FALSE(Field(body, "frac", &n, true).ok());
  int small = 0;
  json huge = json::parse(R"({"v":4294967296})");
  EXPECT_FALSE(Field(huge, "v", &small, true).ok());

  http::Request req;
  req.params = {{"limit", "10"}, {"offset", "1x"}, {"meter", "M\n1"}};
  EXPECT_EQ(*ParseLimit(req, 100, 1000), 10);
  EXPECT_FALSE(IntParam(req, "offset", 0, 100, 0).ok());
  EXPECT_EQ(*IntParam(req, "absent", 0, 100, 7), 7);
  EXPECT_NE(TextParam(req, "meter", kMeterIdText).status().message().find("query parameter 'meter'"), std::string::npos);
  EXPECT_EQ(*TextParam(req, "absent", kMeterIdText), "");
}

}  // namespace
}  // namespace mh::api
