// Hostile input at every route (issue 10, "Tests that must exist"): random JSON, CSV and binary
// bodies with random query strings at every POST/PUT/PATCH/DELETE operation the OpenAPI document
// lists (and random query strings at every GET), with an admin and a customer token. The daemon must answer every one (never hang), never
// with a 5xx, and still serve afterwards. And the OpenAPI document must list exactly the routes the
// server has, so a new route is fuzzed (and documented) without anyone remembering to.
#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/request_schemas.h"
#include "support/api_daemon.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::ApiDaemon;

using api::RouteShape;
std::string DocShape(const std::string& path) { return api::DocPathShape(path); }

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(ApiSurface, TheOpenApiDocumentListsEveryRouteAndNoOther) {
  ApiDaemon api("openapi-routes");
  ASSERT_TRUE(api.started());
  std::set<std::pair<std::string, std::string>> served, documented;
  for (const auto& [method, pattern] : api.daemon().http_api()->RouteTable()) served.insert({method, RouteShape(pattern)});
  auto doc = json::parse(api.client().Get("/api/v1/openapi.json")->body);
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, op] : operations.items()) documented.insert({Upper(method), DocShape(path)});
  }
  for (const auto& route : served) EXPECT_TRUE(documented.count(route)) << "not documented: " << route.first << " " << route.second;
  // And each documented with what it answers: a route cannot be added without a response schema.
  for (const auto& [path, operations] : doc["paths"].items()) {
    for (const auto& [method, op] : operations.items()) {
      bool described = false;
      for (const auto& [code, response] : op["responses"].items()) {
        if (code == "204" || (code[0] == '2' && response.contains("content") && !response["content"].empty())) described = true;
      }
      EXPECT_TRUE(described) << "no success answer with a schema: " << Upper(method) << " " << path;
    }
  }
  for (const auto& op : documented) EXPECT_TRUE(served.count(op)) << "documented, not served: " << op.first << " " << op.second;
  EXPECT_GT(served.size(), 30u);
}

// Random input, reproducible from the seed.
class Garbage {
 public:
  explicit Garbage(uint32_t seed) : rng_(seed) {}

  int Int(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool Chance(int percent) { return Int(100) < percent; }

  std::string Text() {
    static const std::vector<std::string> kWords = {
        "", "M1", "C1", "T1", "WT-1", "FM-1", "440305001", "000001", "webhook", "sms", "email", "admin", "customer",
        "electricity", "water", "day", "open", "done", "+8613800138000", "a@b.example", "http://127.0.0.1:1/x",
        "https://example.com/hook", "http://169.254.169.254/", "2020-10-29T00:00:00Z", "1603900800", "+08:00", "15m",
        "-1", "0", "1e400", "NaN", "null", "true", "\n", "\r\n", std::string(1, '\0'), "\x1b[31m", "\xE2\x80\xAE", "%00",
        "../../etc/passwd", "'; DROP TABLE meters; --", "\xff\xfe", "\xc3\x28", "ü", "客户"};
    std::string s = kWords[Int(static_cast<int>(kWords.size()))];
    if (Chance(10)) s += std::string(Chance(20) ? 100000 : 1 + Int(300), static_cast<char>(Chance(50) ? 'A' : Int(256)));
    if (Chance(20)) s += kWords[Int(static_cast<int>(kWords.size()))];
    return s;
  }

  json Value(int depth) {
    switch (Int(depth > 3 ? 6 : 8)) {
      case 0: return nullptr;
      case 1: return Chance(50);
      case 2: {
        static const std::vector<double> kNumbers = {0, -1, 1, 1.5, 1e308, -1e308, 4294967296.0, 9.3e18, 1e-320, 15, 900};
        return kNumbers[Int(static_cast<int>(kNumbers.size()))];
      }
      case 3: return Chance(50) ? json(INT64_MAX) : json(static_cast<int64_t>(Int(2000000000)) - 1000000000);
      case 4:
      case 5: return TextJson();
      case 6: {
        json a = json::array();
        for (int i = Int(5); i > 0; --i) a.push_back(Value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int i = Int(5); i > 0; --i) o[TextKey()] = Value(depth + 1);
        return o;
      }
    }
  }

  // A JSON document: a valid body with one hostile field (so the request gets past the other
  // fields' checks to that one), an object of random values under the route's field names, another
  // JSON value, or deep nesting; sometimes broken.
  std::string JsonBody(const std::vector<std::string>& fields) {
    std::string text;
    if (Chance(40)) {
      json o = json::object();
      for (const std::string& f : fields) o[f] = Plausible(f);
      const std::string& target = fields[Int(static_cast<int>(fields.size()))];
      o[target] = Chance(50) ? json(std::string(100000, 'A')) : Value(1);
      text = o.dump(-1, ' ', false, json::error_handler_t::replace);
    } else if (Chance(60)) {
      json o = json::object();
      for (const std::string& f : fields) {
        if (Chance(80)) o[f] = Value(1);
      }
      for (int i = Int(3); i > 0; --i) o[TextKey()] = Value(1);
      text = o.dump(-1, ' ', false, json::error_handler_t::replace);
    } else if (Chance(50)) {
      text = Value(0).dump(-1, ' ', false, json::error_handler_t::replace);
    } else {
      const int depth = Chance(50) ? 100000 : 1 + Int(200);  // nesting the parser must survive
      text = std::string(depth, '[') + std::string(Chance(50) ? depth : depth / 2, ']');
    }
    if (Chance(15) && !text.empty()) text[Int(static_cast<int>(text.size()))] = static_cast<char>(Int(256));
    if (Chance(10) && !text.empty()) text.resize(Int(static_cast<int>(text.size())));
    return text;
  }

  std::string CsvBody() {
    std::string csv = Chance(80) ? "meter_id,timestamp,value\n" : Text() + "\n";
    for (int i = Int(50); i > 0; --i) {
      csv += (Chance(70) ? std::string("M1") : Text()) + "," +
             (Chance(60) ? std::to_string(1603900800 + 900 * Int(1000)) : Text()) + "," +
             (Chance(60) ? std::to_string(Int(100000) / 10.0) : Text()) + (Chance(10) ? ",extra" : "") + "\n";
    }
    if (Chance(10)) csv += "\"unterminated,quote\n";
    return csv;
  }

  std::string Bytes() {
    std::string b(Int(4096), '\0');
    for (char& c : b) c = static_cast<char>(Int(256));
    if (Chance(30)) b.insert(0, Chance(50) ? std::string("\x89PNG\r\n\x1a\n", 8) : std::string("\xFF\xD8\xFF"));
    return b;
  }

  std::string Query(const std::vector<std::string>& names) {
    std::string q;
    for (int i = Int(4); i > 0; --i) {
      const std::string name = !names.empty() && Chance(70) ? names[Int(static_cast<int>(names.size()))] : TextKey();
      q += (q.empty() ? "?" : "&") + httplib::detail::encode_query_param(name) + "=" +
           httplib::detail::encode_query_param(Text().substr(0, 2000));
    }
    return q;
  }

  // A value for the path parameter `name` of `path`: mostly one that exists, so the request gets
  // past "not found" to the body.
  std::string PathValue(const std::string& path, const std::string& name) {
    if (Chance(10)) return httplib::detail::encode_query_param(Text().substr(0, 64));
    if (name == "code") return Chance(80) ? "440305001" : std::to_string(100000000 + Int(899999999));
    if (name == "terminal") return Chance(70) ? "T1" : "T" + std::to_string(Int(10));
    if (Chance(80)) {
      if (path.find("/water/meters/") != std::string::npos) return "WT-1";
      if (path.find("/deliveries/") != std::string::npos || path.find("/work-orders/") != std::string::npos) {
        return std::to_string(1 + Int(3));
      }
      return "M1";
    }
    static const std::vector<std::string> kIds = {"M2", "FM-1", "1", "999999999999", "x"};
    return kIds[Int(static_cast<int>(kIds.size()))];
  }

 private:
  // A value the route would accept for the field `name` (by its name across the API's schemas).
  static json Plausible(const std::string& name) {
    static const std::map<std::string, json> kValues = {
        {"meter_id", "M1"}, {"meter", "M1"}, {"customer_id", "C1"}, {"kind", "water"}, {"timezone", "+08:00"},
        {"interval_s", 900}, {"register_max", 99999}, {"threshold", 12.5}, {"terminal_id", "T1"},
        {"channel", "sms"}, {"address", "+8613800138000"}, {"ts", "2020-10-29T00:00:00Z"}, {"value", 1.5},
        {"role", "customer"}, {"name", "fuzz"}, {"region_code", "440305001"}, {"position_code", "000001"},
        {"install_address", "Nanshan District, Shenzhen"}, {"flowmeter_id", "FM-1"}, {"phone", "+8613800138000"},
        {"relay", "M1"}, {"origin", "M1"}, {"failure_code", 1}, {"tag", "00"}, {"reports", json::array()},
        {"readings", json::array()}, {"registered_at", 1603900800}, {"fixed_image", "code"}};
    auto it = kValues.find(name);
    return it == kValues.end() ? json("x") : it->second;
  }

  std::string TextKey() { return Chance(50) ? Text().substr(0, 40) : "k" + std::to_string(Int(100)); }
  json TextJson() { return json(Text()); }

  std::mt19937 rng_;
};

// Field names of an operation's JSON body (its schema's properties), for bodies that get past
// "field 'x' is required" to the validation behind it.
std::vector<std::string> BodyFields(const json& doc, const json& op) {
  std::vector<std::string> fields;
  const json* schema = nullptr;
  if (op.contains("requestBody")) {
    for (const auto& [type, media] : op["requestBody"]["content"].items()) {
      if (media.contains("schema")) schema = &media["schema"];
    }
  }
  if (schema != nullptr && schema->contains("$ref")) {
    const std::string ref = (*schema)["$ref"];
    schema = &doc["components"]["schemas"][ref.substr(ref.rfind('/') + 1)];
  }
  if (schema != nullptr && schema->contains("properties")) {
    for (const auto& [name, _] : (*schema)["properties"].items()) fields.push_back(name);
  }
  for (const char* common : {"meter", "meter_id", "ts", "value", "terminal_id", "channel", "address", "customer_id"}) {
    fields.push_back(common);
  }
  return fields;
}

constexpr int kRequestsPerOperation = 120;

TEST(ApiFuzz, RandomBodiesAtEveryWriteRouteGetAnAnswerAndNever5xx) {
  ApiDaemon api("api-fuzz", [](app::Config& c) {
    c.http.max_body_bytes = 1 << 20;
    c.http.read_timeout = "10s";
    c.alerts.dispatcher.threads = 1;
  });
  ASSERT_TRUE(api.started());
  api.Register("M1", "C1");
  api.Register("WT-1", "C1", "water");
  ASSERT_EQ(api.Post("/api/v1/water/pairs", R"({"terminal_id":"WT-1","flowmeter_id":"FM-1"})")->status, 201);
  const std::string customer = api.Token(api::Role::kCustomer, "C1");
  const json doc = json::parse(api.client().Get("/api/v1/openapi.json")->body);
  httplib::Client client("127.0.0.1", api.daemon().http_port());
  client.set_read_timeout(10, 0);
  client.set_write_timeout(10, 0);

  // Three sequences (seed 3 found the 100,000-character install address that overflowed the relay
  // region pattern's stack); MH_FUZZ_SEED=N explores another one.
  std::vector<uint32_t> seeds = {20240610, 3, 7};
  if (const char* seed_env = std::getenv("MH_FUZZ_SEED")) seeds = {static_cast<uint32_t>(std::strtoul(seed_env, nullptr, 10))};
  const auto started = std::chrono::steady_clock::now();
  int requests = 0, operations = 0;
  std::map<int, int> statuses;
  std::vector<std::string> failures;
  for (const uint32_t seed : seeds) {
    Garbage g(seed);
    operations = 0;
    for (const auto& [path, item] : doc["paths"].items()) {
      for (const auto& [method, op] : item.items()) {
        // Reads take no body: they get random query strings only.
        const bool read = method == "get";
        if (!read && method != "post" && method != "put" && method != "patch" && method != "delete") continue;
        ++operations;
        std::vector<std::string> params;
        if (op.contains("parameters")) {
          for (const auto& p : op["parameters"]) {
            if (p["in"] == "query") params.push_back(p["name"]);
          }
        }
        const std::vector<std::string> fields = BodyFields(doc, op);
        for (int i = 0; i < (read ? 20 : kRequestsPerOperation); ++i) {
          std::string target = path;
          for (size_t open; (open = target.find('{')) != std::string::npos;) {
            const size_t close = target.find('}', open);
            target.replace(open, close - open + 1, g.PathValue(path, target.substr(open + 1, close - open - 1)));
          }
          target += g.Query(params);
          std::string body, type;
          switch (g.Int(4)) {
            case 0: body = g.CsvBody(), type = "text/csv"; break;
            case 1: body = g.Bytes(), type = g.Chance(50) ? "image/png" : "application/octet-stream"; break;
            default: body = g.JsonBody(fields), type = "application/json"; break;
          }
          const std::string& token = i % 3 != 2 ? api.admin() : customer;
          const httplib::Headers auth = ApiDaemon::Auth(token);
          httplib::Result r = read                ? client.Get(target.c_str(), auth)
                              : method == "post"  ? client.Post(target.c_str(), auth, body, type.c_str())
                              : method == "put"   ? client.Put(target.c_str(), auth, body, type.c_str())
                              : method == "patch" ? client.Patch(target.c_str(), auth, body, type.c_str())
                                                  : client.Delete(target.c_str(), auth, body, type.c_str());
          ++requests;
          ++statuses[r ? r->status : 0];
          const std::string what = Upper(method) + " " + target.substr(0, 120) + " (" + type + ", " +
                                   std::to_string(body.size()) + " bytes, seed " + std::to_string(seed) + ")";
          if (!r) {
            failures.push_back(what + ": no answer (" + httplib::to_string(r.error()) + ")");
          } else if (r->status >= 500 || r->status < 200) {
            failures.push_back(what + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200));
          }
        }
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << requests << " requests at " << operations << " operations, " << seeds.size() << " seeds, in " << seconds
            << " s:";
  for (const auto& [status, n] : statuses) std::cout << " " << n << " x " << status;
  std::cout << "\n";
  EXPECT_GE(operations, 40);
  EXPECT_TRUE(failures.empty()) << failures.size() << " bad answers, the first:\n"
                                << [&] {
                                     std::string s;
                                     for (size_t i = 0; i < failures.size() && i < 15; ++i) s += failures[i] + "\n";
                                     return s;
                                   }();
  // Its duration is printed, not asserted: a loaded CI machine is not a slow daemon (ctest's
  // TIMEOUT bounds the run).
  // Still up and working.
  EXPECT_EQ(api.client().Get("/healthz")->status, 200);
  api.Register("M3", "C3");
  auto fine = api.Post("/api/v1/readings", R"({"meter":"M3","ts":"2020-11-01T00:00:00Z","value":1})");
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200) << fine->body;
}

}  // namespace
}  // namespace mh
