// The OpenAPI document is complete enough to generate a client from: every operation has an
// operationId, a described success answer with a schema, the error answers of a guarded route,
// schemas for its bodies, and references that resolve; and the request schemas compile and name
// the failing field.
#include "api/http_api.h"

#include <set>

#include <gtest/gtest.h>

#include "api/request_schemas.h"

namespace mh::api {
namespace {

using json = nlohmann::json;

// Every "$ref" under `j` (and its location).
void CollectRefs(const json& j, const std::string& at, std::vector<std::pair<std::string, std::string>>* refs) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "$ref" && value.is_string()) refs->push_back({value.get<std::string>(), at});
      CollectRefs(value, at + "/" + key, refs);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) CollectRefs(j[i], at + "/" + std::to_string(i), refs);
  }
}

TEST(OpenApiDocument, EveryOperationIsDescribed) {
  const json doc = OpenApiDocument();
  std::set<std::string> ids;
  int operations = 0;
  for (const auto& [path, methods] : doc["paths"].items()) {
    for (const auto& [method, op] : methods.items()) {
      const std::string what = method + " " + path;
      ++operations;
      ASSERT_TRUE(op.contains("operationId")) << what;
      EXPECT_TRUE(ids.insert(op["operationId"].get<std::string>()).second) << "duplicate operationId: " << what;
      EXPECT_FALSE(op.value("summary", "").empty()) << what;
      bool success = false;
      for (const auto& [code, response] : op["responses"].items()) {
        EXPECT_FALSE(response.value("description", "").empty()) << what << " " << code;
        if (code[0] != '2') {
          if (code[0] == '4' || code[0] == '5') {
            // Errors are the error object (a photo's 422 adds `readable`: still an object).
            EXPECT_TRUE(response.contains("content")) << what << " " << code;
          }
          continue;
        }
        success = true;
        if (code == "204") continue;
        ASSERT_TRUE(response.contains("content")) << what << " " << code << ": a success answer without a schema";
        for (const auto& [type, media] : response["content"].items()) {
          ASSERT_TRUE(media.contains("schema")) << what << " " << code << " " << type;
          EXPECT_FALSE(media["schema"].empty()) << what << " " << code << " " << type << ": an empty schema";
        }
      }
      EXPECT_TRUE(success) << what << ": no 2xx answer";
      const bool is_public = op.contains("security") && op["security"].empty();
      if (!is_public) {
        for (const char* code : {"400", "401", "403"}) EXPECT_TRUE(op["responses"].contains(code)) << what << " lacks " << code;
      }
      if (op.contains("requestBody")) {
        for (const auto& [type, media] : op["requestBody"]["content"].items()) {
          if (type == "application/json") EXPECT_TRUE(media.contains("schema")) << what << ": a JSON body without a schema";
        }
      }
      for (const json& p : op.value("parameters", json::array())) {
        EXPECT_TRUE(p.contains("schema")) << what << " parameter " << p["name"];
        if (p["in"] == "path") EXPECT_NE(path.find("{" + p["name"].get<std::string>() + "}"), std::string::npos) << what;
      }
    }
  }
  EXPECT_GT(operations, 60);
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc, "", &refs);
  const std::string prefix = "#/components/schemas/";
  for (const auto& [ref, at] : refs) {
    ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref << " at " << at;
    EXPECT_TRUE(doc["components"]["schemas"].contains(ref.substr(prefix.size()))) << "dangling " << ref << " at " << at;
  }
}

TEST(RequestSchemas, CompileAndNameTheField) {
  auto schemas = DocumentRequestSchemas();
  ASSERT_TRUE(schemas.ok()) << schemas.status().ToString();
  const RequestSchemas& s = **schemas;
  EXPECT_GT(s.size(), 15u);
  // Routes are looked up by their pattern, as the server holds them.
  const std::string meters = "/api/v1/meters";
  const std::string terminals = R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/terminals)";
  EXPECT_TRUE(s.Has("POST", meters));
  EXPECT_TRUE(s.Has("POST", terminals));
  EXPECT_FALSE(s.Has("GET", meters));
  EXPECT_FALSE(s.Has("POST", "/api/v1/readings"));  // validated row by row by its handler

  EXPECT_TRUE(s.Check("POST", meters, R"({"meter_id": "M1", "kind": "water", "interval_s": 900})").ok());
  EXPECT_TRUE(s.Check("POST", meters, "not json").ok());  // the handler's parser answers
  Status bad = s.Check("POST", meters, R"({"meter_id": "M1", "interval_s": 1.5})");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("field 'interval_s'"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("expected integer"), std::string::npos) << bad.message();
  bad = s.Check("POST", meters, R"({"kind": "water"})");
  EXPECT_NE(bad.message().find("meter_id"), std::string::npos) << bad.message();
  bad = s.Check("POST", "/api/v1/relay/reports", R"({"meter": "M1", "reports": [{"sub_period": 1}, {"sub_period": "2"}]})");
  EXPECT_NE(bad.message().find("field 'reports[1].sub_period'"), std::string::npos) << bad.message();
  // null where the schema allows it (group: nullable), and where it does not.
  const std::string meter = R"(/api/v1/meters/([A-Za-z0-9_-]{1,32}))";
  EXPECT_TRUE(s.Check("PUT", meter, R"({"group": null})").ok());
  EXPECT_FALSE(s.Check("PUT", meter, R"({"interval_s": null})").ok());
}

TEST(RequestSchemas, OpenApiToJsonSchema) {
  const json components{{"Thing", {{"type", "object"}, {"properties", {{"n", {{"type", "integer"}, {"example", 3}}}}}}}};
  const json in{{"type", "object"},
                {"properties", {{"a", {{"$ref", "#/components/schemas/Thing"}}}, {"b", {{"type", "string"}, {"nullable", true}}}}}};
  const json out = ToJsonSchema(in, components);
  EXPECT_EQ(out["properties"]["a"], (json{{"type", "object"}, {"properties", {{"n", {{"type", "integer"}}}}}}));
  EXPECT_EQ(out["properties"]["b"], (json{{"anyOf", {{{"type", "null"}}, {{"type", "string"}}}}}));
  EXPECT_EQ(RouteShape(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/readings/([^/]{1,40}))"), "/api/v1/meters/{}/readings/{}");
  EXPECT_EQ(DocPathShape("/api/v1/meters/{id}/readings/{ts}"), "/api/v1/meters/{}/readings/{}");
}

}  // namespace
}  // namespace mh::api
