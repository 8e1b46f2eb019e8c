// The OpenAPI document against the running server (issue 18 item 6): request bodies that do not
// match their schema are answered 400 naming the field before the handler runs, good ones reach
// it; and the answers of a daemon with real data validate against the response schemas the
// document declares, so the document cannot drift from the code.
#include <httplib.h>

#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "api/http_api.h"
#include "api/request_schemas.h"
#include "support/api_daemon.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::ApiDaemon;

// The error message of a 400 answer, failing the test when the answer is another.
std::string BadRequest(const httplib::Result& r) {
  if (!r) return "no answer";
  EXPECT_EQ(r->status, 400) << r->body;
  json body = json::parse(r->body, nullptr, false);
  if (body.is_discarded() || !body.contains("error")) return "not an error object: " + r->body;
  EXPECT_EQ(body["error"]["code"], "invalid_argument");
  return body["error"]["message"].get<std::string>();
}

class OpenApiServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(api_.started());
    api_.Register("M1", "C1");
    api_.Register("W1", "C2", "water");
  }
  ApiDaemon api_{"openapi-serve"};
};

TEST_F(OpenApiServeTest, MeterBodiesAreCheckedBeforeTheHandler) {
  std::string m = BadRequest(api_.Post("/api/v1/meters", R"({"meter_id": 7})"));
  EXPECT_NE(m.find("field 'meter_id'"), std::string::npos) << m;
  EXPECT_NE(m.find("string"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/meters", R"({"meter_id": "M2", "interval_s": "900"})"));
  EXPECT_NE(m.find("field 'interval_s'"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/meters", R"({"meter_id": "M2", "kind": "gas"})"));
  EXPECT_NE(m.find("field 'kind'"), std::string::npos) << m;
  EXPECT_NE(m.find("electricity | water"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/meters", R"({"kind": "water"})"));
  EXPECT_NE(m.find("meter_id"), std::string::npos) << m;
  // A meter id that breaks the pattern.
  m = BadRequest(api_.Post("/api/v1/meters", R"({"meter_id": "M 2"})"));
  EXPECT_NE(m.find("field 'meter_id'"), std::string::npos) << m;

  auto good = api_.Post("/api/v1/meters", R"({"meter_id": "M2", "kind": "water", "interval_s": 3600})");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 201) << good->body;
  // Not JSON at all: the handler's own parser answers, as before.
  m = BadRequest(api_.Post("/api/v1/meters", "{not json"));
  EXPECT_NE(m.find("not valid JSON"), std::string::npos) << m;
  // Without credentials the answer is 401, whatever the body.
  auto anonymous = api_.client().Post("/api/v1/meters", R"({"meter_id": 7})", "application/json");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);

  m = BadRequest(api_.Put("/api/v1/meters/M1", R"({"interval_s": 0})"));
  EXPECT_NE(m.find("field 'interval_s'"), std::string::npos) << m;
  m = BadRequest(api_.Put("/api/v1/meters/M1/threshold", R"({"threshold": "high"})"));
  EXPECT_NE(m.find("field 'threshold'"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/meters/M1/terminals", R"({"terminal_id": "T1", "channel": "fax", "address": "x"})"));
  EXPECT_NE(m.find("field 'channel'"), std::string::npos) << m;
  m = BadRequest(api_.Put("/api/v1/meters/M1/readings/2020-10-29T00:15:00Z", R"({"value": "1", "reason": "typo"})"));
  EXPECT_NE(m.find("field 'value'"), std::string::npos) << m;
}

TEST_F(OpenApiServeTest, TokenAndUserBodies) {
  std::string m = BadRequest(api_.Post("/api/v1/tokens", R"({"role": "root"})"));
  EXPECT_NE(m.find("field 'role'"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/tokens", R"({"role": "operator", "name": 5})"));
  EXPECT_NE(m.find("field 'name'"), std::string::npos) << m;
  auto good = api_.Post("/api/v1/tokens", R"({"role": "operator", "name": "night shift", "expires": "90d"})");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 201) << good->body;
  m = BadRequest(api_.Post("/api/v1/users", R"({"username": "ann", "role": "admin", "password": "short"})"));
  EXPECT_NE(m.find("field 'password'"), std::string::npos) << m;
  m = BadRequest(api_.client().Post("/api/v1/session", R"({"username": ["ann"]})", "application/json"));
  EXPECT_NE(m.find("field 'username'"), std::string::npos) << m;
}

TEST_F(OpenApiServeTest, WaterAndRelayBodies) {
  // Work order 999 does not exist: the 400 shows the body was refused before the handler looked.
  std::string m = BadRequest(api_.Post("/api/v1/water/work-orders/999/parameters", R"({"gain": "1"})"));
  EXPECT_NE(m.find("field 'gain'"), std::string::npos) << m;
  EXPECT_NE(m.find("number"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/water/work-orders/999/schedule", R"({"visit_at": true})"));
  EXPECT_NE(m.find("field 'visit_at'"), std::string::npos) << m;
  m = BadRequest(api_.Post("/api/v1/water/pairs", R"({"terminal_id": "W1", "flowmeter_id": 12})"));
  EXPECT_NE(m.find("field 'flowmeter_id'"), std::string::npos) << m;
  auto missing = api_.Post("/api/v1/water/work-orders/999/parameters", R"({"gain": 1.01})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;  // a good body reaches the handler
  auto pair = api_.Post("/api/v1/water/pairs", R"({"terminal_id": "W1", "flowmeter_id": "FM1", "phone": "+8613800138000"})");
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->status, 201) << pair->body;

  m = BadRequest(api_.Post("/api/v1/relay/reports", R"({"meter": "M1", "reports": [{"sub_period": 1, "level": "x"}]})"));
  EXPECT_NE(m.find("field 'reports[0].level'"), std::string::npos) << m;
}

// --- responses against the document ---

// The document's operation for a concrete path (its {params} match one path segment).
const json* Operation(const json& doc, const std::string& method, const std::string& path) {
  for (const auto& [pattern, operations] : doc["paths"].items()) {
    const std::regex re("^" + std::regex_replace(pattern, std::regex(R"(\{[^}]*\})"), "[^/]+") + "$");
    if (std::regex_match(path, re) && operations.contains(method)) return &operations[method];
  }
  return nullptr;
}

// Empty when `body` matches the schema the document declares for (method, path, status); else
// every error valijson found.
std::string Mismatch(const json& doc, const std::string& method, const std::string& path, int status, const json& body) {
  const json* op = Operation(doc, method, path);
  if (op == nullptr) return "not in the document";
  const std::string code = std::to_string(status);
  if (!(*op)["responses"].contains(code)) return "status " + code + " not documented";
  const json& response = (*op)["responses"][code];
  if (!response.contains("content")) return "no content documented";
  const json schema = api::ToJsonSchema(response["content"]["application/json"]["schema"], doc["components"]["schemas"]);
  valijson::Schema compiled;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft4);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(schema);
  parser.populateSchema(schema_adapter, compiled);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(body);
  if (validator.validate(compiled, target, &results)) return "";
  std::string out;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    std::string where;
    for (const auto& c : e.context) where += c;
    out += where + ": " + e.description + "\n";
  }
  return out;
}

TEST_F(OpenApiServeTest, AnswersWithRealDataMatchTheirSchemas) {
  // Real data: readings (one that quarantines), a terminal, a correction, a token, a pair.
  std::string csv = "meter_id,timestamp,value\n";
  for (int i = 1; i <= 12; ++i) {
    char line[64];
    std::snprintf(line, sizeof line, "M1,2020-10-29T%02d:%02d:00+08:00,%d.5\n", i / 4, (i % 4) * 15, 100 + i);
    csv += line;
  }
  csv += "M1,2020-10-29T03:15:00+08:00,50\n";  // backwards: quarantined
  auto posted = api_.Post("/api/v1/readings", csv, "text/csv");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  ASSERT_EQ(api_.Post("/api/v1/meters/M1/terminals",
                      R"({"terminal_id": "T1", "channel": "sms", "address": "+8613800138000"})")->status, 201);
  auto corrected = api_.Put("/api/v1/meters/M1/readings/2020-10-29T00:30:00+08:00", R"({"value": 102.0, "reason": "typo"})");
  ASSERT_TRUE(corrected);
  ASSERT_EQ(corrected->status, 200) << corrected->body;
  ASSERT_EQ(api_.Post("/api/v1/water/pairs", R"({"terminal_id": "W1", "flowmeter_id": "FM1"})")->status, 201);

  const json doc = api::OpenApiDocument();
  auto check = [&](const std::string& method, const std::string& path, const httplib::Result& r) {
    ASSERT_TRUE(r) << path;
    ASSERT_LT(r->status, 300) << method << " " << path << ": " << r->body;
    const json body = json::parse(r->body);
    // Only the path, not the query, names the operation.
    const std::string bare = path.substr(0, path.find('?'));
    std::string lower = method;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(Mismatch(doc, lower, bare, r->status, body), "") << method << " " << path << "\n" << body.dump(1);
  };
  check("POST", "/api/v1/readings", posted);
  check("PUT", "/api/v1/meters/M1/readings/x", corrected);
  check("POST", "/api/v1/tokens", api_.Post("/api/v1/tokens", R"({"role": "customer", "customer_id": "C1"})"));
  for (const std::string path :
       {"/api/v1/status", "/api/v1/meters", "/api/v1/meters/M1", "/api/v1/meters/M1/readings", "/api/v1/meters/M1/terminals",
        "/api/v1/meters/M1/consumption?period=day", "/api/v1/meters/M1/readings/2020-10-29T00:30:00+08:00/versions",
        "/api/v1/meters/M1/determinants?from=2020-10-28&to=2020-10-30", "/api/v1/meters/M1/series", "/api/v1/quarantine",
        "/api/v1/events?meter=M1", "/api/v1/alerts", "/api/v1/deliveries", "/api/v1/tokens", "/api/v1/users",
        "/api/v1/session", "/api/v1/fleet/summary", "/api/v1/consumption?date=2020-10-29", "/api/v1/water/pairs",
        "/api/v1/water/work-orders", "/api/v1/water/meters/W1/windows", "/api/v1/water/meters/W1/history",
        "/api/v1/water/meters/W1/parameters", "/api/v1/water/flowmeters/FM1/calibration", "/api/v1/relay/regions",
        "/api/v1/relay/stats", "/api/v1/relay/work-orders"}) {
    check("GET", path, api_.Get(path));
  }
  // The error object of a 404 and a 400.
  auto missing = api_.Get("/api/v1/meters/NOPE");
  ASSERT_EQ(missing->status, 404);
  EXPECT_EQ(Mismatch(doc, "get", "/api/v1/meters/NOPE", 404, json::parse(missing->body)), "");
  auto bad = api_.Get("/api/v1/meters?limit=0");
  ASSERT_EQ(bad->status, 400);
  EXPECT_EQ(Mismatch(doc, "get", "/api/v1/meters", 400, json::parse(bad->body)), "");
}

}  // namespace
}  // namespace mh
