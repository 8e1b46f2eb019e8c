#include "api/request_schemas.h"

#include <regex>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "api/http_api.h"

namespace mh::api {

using json = nlohmann::json;

struct RequestSchemas::Compiled {
  json schema;  // the JSON Schema, for describing what a failing field expected
  valijson::Schema compiled;
};

namespace {

// The part of a route pattern outside parentheses, each group as "{}".
std::string Shape(const std::string& pattern) {
  std::string out;
  int depth = 0;
  for (char c : pattern) {
    if (c == '(') {
      if (depth++ == 0) out += "{}";
    } else if (c == ')') {
      --depth;
    } else if (depth == 0) {
      out += c;
    }
  }
  return out;
}

std::string Key(const std::string& method, const std::string& shape) { return method + " " + shape; }

// valijson's context ["<root>", "[reports]", "[0]", "[level]"] as "reports[0].level".
std::string FieldPath(const std::vector<std::string>& context) {
  std::string path;
  for (const std::string& part : context) {
    if (part.size() < 2 || part.front() != '[' || part.back() != ']') continue;
    const std::string inner = part.substr(1, part.size() - 2);
    const bool index = !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos;
    if (index) {
      path += part;
    } else {
      path += (path.empty() ? "" : ".") + inner;
    }
  }
  return path;
}

// The schema that applies at `context` (properties by name, items by index), nullptr when the
// path leaves the schema; through anyOf (nullable), the branch that is not null.
const json* SchemaAt(const json& root, const std::vector<std::string>& context) {
  const json* s = &root;
  for (const std::string& part : context) {
    if (part.size() < 2 || part.front() != '[') continue;
    if (s->contains("anyOf")) {
      for (const json& branch : (*s)["anyOf"]) {
        if (branch.value("type", json()) != "null") s = &branch;
      }
    }
    const std::string inner = part.substr(1, part.size() - 2);
    if (s->contains("items") && !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos) {
      s = &(*s)["items"];
    } else if (s->contains("properties") && (*s)["properties"].contains(inner)) {
      s = &(*s)["properties"][inner];
    } else {
      return nullptr;
    }
  }
  return s;
}

// "expected integer, 1..86400" from a schema's type, enum, pattern and bounds.
std::string Expected(const json& s) {
  std::string out;
  auto add = [&out](const std::string& what) { out += (out.empty() ? "" : ", ") + what; };
  if (s.contains("type")) add(s["type"].is_string() ? s["type"].get<std::string>() : s["type"].dump());
  if (s.contains("enum")) {
    std::string values;
    for (const json& v : s["enum"]) values += (values.empty() ? "" : " | ") + (v.is_string() ? v.get<std::string>() : v.dump());
    add("one of " + values);
  }
  if (s.contains("pattern")) add("matching " + s["pattern"].get<std::string>());
  if (s.contains("minimum") || s.contains("maximum"))
    add(s.value("minimum", json("")).dump() + ".." + s.value("maximum", json("")).dump());
  if (s.contains("minLength")) add("at least " + s["minLength"].dump() + " characters");
  if (s.contains("maxLength")) add("at most " + s["maxLength"].dump() + " characters");
  return out.empty() ? out : " (expected " + out + ")";
}

}  // namespace

std::string RouteShape(const std::string& pattern) { return Shape(pattern); }

std::string DocPathShape(const std::string& path) { return std::regex_replace(path, std::regex(R"(\{[^}]*\})"), "{}"); }

json ToJsonSchema(const json& schema, const json& components) {
  if (!schema.is_object()) return schema;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"].get<std::string>();
    const std::string prefix = "#/components/schemas/";
    if (ref.rfind(prefix, 0) != 0 || !components.contains(ref.substr(prefix.size()))) return json::object();
    return ToJsonSchema(components[ref.substr(prefix.size())], components);
  }
  json out = json::object();
  for (const auto& [key, value] : schema.items()) {
    if (key == "example" || key == "nullable" || key.rfind("x-", 0) == 0) continue;
    if (key == "properties") {
      json props = json::object();
      for (const auto& [name, sub] : value.items()) props[name] = ToJsonSchema(sub, components);
      out[key] = props;
    } else if (key == "items" || (key == "additionalProperties" && value.is_object())) {
      out[key] = ToJsonSchema(value, components);
    } else if (key == "allOf" || key == "anyOf" || key == "oneOf") {
      json list = json::array();
      for (const json& sub : value) list.push_back(ToJsonSchema(sub, components));
      out[key] = list;
    } else {
      out[key] = value;
    }
  }
  if (schema.value("nullable", false)) return json{{"anyOf", json::array({json{{"type", "null"}}, out})}};
  return out;
}

RequestSchemas::~RequestSchemas() = default;

Result<std::unique_ptr<RequestSchemas>> RequestSchemas::Compile(const json& doc) {
  std::unique_ptr<RequestSchemas> out(new RequestSchemas());
  const json components = doc.contains("components") ? doc["components"].value("schemas", json::object()) : json::object();
  const json paths = doc.value("paths", json::object());  // a named copy: items() does not extend a temporary
  for (const auto& [path, operations] : paths.items()) {
    for (const auto& [method, op] : operations.items()) {
      if (!op.contains("requestBody")) continue;
      const json& body = op["requestBody"];
      if (body.value("x-meterhub-validated-by-handler", false)) continue;
      if (!body.contains("content") || !body["content"].contains("application/json")) continue;
      const json& media = body["content"]["application/json"];
      if (!media.contains("schema")) continue;
      auto c = std::make_unique<Compiled>();
      c->schema = ToJsonSchema(media["schema"], components);
      try {
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft4);
        valijson::adapters::NlohmannJsonAdapter adapter(c->schema);
        parser.populateSchema(adapter, c->compiled);
      } catch (const std::exception& e) {
        return Internal("OpenAPI request schema of " + method + " " + path + " does not compile: " + e.what());
      }
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      out->schemas_[Key(m, DocPathShape(path))] = std::move(c);
    }
  }
  return out;
}

bool RequestSchemas::Has(const std::string& method, const std::string& route_pattern) const {
  return schemas_.count(Key(method, Shape(route_pattern))) > 0;
}

Status RequestSchemas::Check(const std::string& method, const std::string& route_pattern, const std::string& body) const {
  auto it = schemas_.find(Key(method, Shape(route_pattern)));
  if (it == schemas_.end()) return Status::Ok();
  const json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::Ok();  // the handler's parser says what is wrong with it
  // A validator per call: its regex cache is not shared between request threads.
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  if (validator.validate(it->second->compiled, target, &results)) return Status::Ok();
  // The deepest error names the field; the ones above it only say a child failed.
  valijson::ValidationResults::Error error, best;
  while (results.popError(error)) {
    if (best.context.empty() || error.context.size() > best.context.size()) best = error;
  }
  const std::string path = FieldPath(best.context);
  if (path.empty()) return InvalidArgument("request body: " + best.description);
  const json* at = SchemaAt(it->second->schema, best.context);
  return InvalidArgument("request body: field '" + path + "': " + best.description + (at ? Expected(*at) : ""));
}

Result<const RequestSchemas*> DocumentRequestSchemas() {
  static const Result<std::unique_ptr<RequestSchemas>> compiled = RequestSchemas::Compile(OpenApiDocument());
  if (!compiled.ok()) return compiled.status();
  return compiled->get();
}

}  // namespace mh::api
