#include "water/operating_json.h"

#include <gtest/gtest.h>

namespace mh::water {
namespace {

using json = nlohmann::json;

TEST(OperatingJson, ChangeParsedValidatedAndWrittenBack) {
  auto c = ParseOperatingChangeJson(json{{"gain", 0.98}, {"low_flow_cutoff", 0.005}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->zero_offset.has_value());
  EXPECT_EQ(OperatingChangeJson(*c), (json{{"gain", 0.98}, {"low_flow_cutoff", 0.005}}));
  EXPECT_EQ(ParseOperatingChangeJson(json::object()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ParseOperatingChangeJson(json{{"gian", 1}}).status().message().find("unknown field 'gian'"), std::string::npos);
  EXPECT_NE(ParseOperatingChangeJson(json{{"gain", "1"}}).status().message().find("must be a number"), std::string::npos);
  EXPECT_NE(ParseOperatingChangeJson(json{{"zero_offset", 0.5}}).status().message().find("zero_offset"), std::string::npos);
  EXPECT_FALSE(ParseOperatingChangeJson(json{{"low_flow_cutoff", -0.01}}).ok());
}

TEST(OperatingJson, FullParametersNeedAllThree) {
  const OperatingParameters p{0.002, 0.01, 1.02};
  auto back = ParseOperatingJson(OperatingJson(p));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
  EXPECT_NE(ParseOperatingJson(json{{"gain", 1}, {"zero_offset", 0}}).status().message().find("low_flow_cutoff"),
            std::string::npos);
}

}  // namespace
}  // namespace mh::water
