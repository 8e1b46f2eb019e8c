// The words the OpenAPI document (openapi.cc) is written in: schemas, parameters, responses. A route
// author documents a route with these (src/api/README.md, "Adding a route"); the document's tests
// require a JSON schema on every success response and validate request bodies against it.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace mh::api::oas {

using json = nlohmann::json;

inline json Str() { return {{"type", "string"}}; }
inline json Str(const char* description) { return {{"type", "string"}, {"description", description}}; }
inline json Int() { return {{"type", "integer"}}; }
inline json Int(const char* description) { return {{"type", "integer"}, {"description", description}}; }
inline json Num() { return {{"type", "number"}}; }
inline json Bool() { return {{"type", "boolean"}}; }
// An ISO-8601 time as the API writes it (core/time.h FormatIsoUtc / FormatIsoIn).
inline json Time() { return {{"type", "string"}, {"format", "date-time"}}; }
// A value that may also be null (OpenAPI 3.0 `nullable`).
// A time a client sends: ISO-8601 text or epoch seconds (core/time.h ParseTimestamp).
inline json TimeIn() {
  return {{"oneOf", {{{"type", "string"}}, {{"type", "integer"}}}}, {"description", "ISO-8601 or epoch seconds"}};
}
inline json Nullable(json schema) {
  // OpenAPI 3.0 ignores siblings of $ref: a nullable reference (always to an object) wraps it in allOf.
  if (schema.contains("$ref")) schema = json{{"type", "object"}, {"allOf", json::array({schema})}};
  schema["nullable"] = true;
  return schema;
}
inline json Enum(std::initializer_list<const char*> values) {
  json e = json::array();
  for (const char* v : values) e.push_back(v);
  return {{"type", "string"}, {"enum", e}};
}
inline json Arr(json items) { return {{"type", "array"}, {"items", std::move(items)}}; }
inline json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
// {"<name>": [items...]}: the lists the API answers with.
inline json List(const char* name, json items) {
  return {{"type", "object"}, {"properties", {{name, {{"type", "array"}, {"items", std::move(items)}}}}}, {"required", {name}}};
}
// Any JSON object (a nested record the API passes through, e.g. a decoder's detail).
inline json AnyObj() { return {{"type", "object"}}; }
// An object with these properties; `required` lists the ones always present. Further properties
// are allowed (additive changes do not break clients).
inline json Obj(json properties, std::initializer_list<const char*> required = {}) {
  json o{{"type", "object"}, {"properties", std::move(properties)}};
  if (required.size() > 0) {
    json r = json::array();
    for (const char* name : required) r.push_back(name);
    o["required"] = r;
  }
  return o;
}

// --- responses ---
// A JSON success response: every 2xx response of a JSON route carries a schema (a test checks).
inline json Ok(const char* description, json schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}
// An error response: {"error": {"code", "message"}} (route_kit.h SendError).
inline json Err(const char* description) { return Ok(description, Ref("Error")); }
inline json NoContent(const char* description) { return {{"description", description}}; }
// Adds the errors every guarded route may answer: 400 (the message names the field or parameter),
// 401 (no or unknown credentials), 403 (the role may not do this).
inline json WithErrors(json responses) {
  if (!responses.contains("400")) responses["400"] = Err("bad request: the message names the field, parameter or line");
  responses["401"] = Err("missing, unknown or expired token or session");
  responses["403"] = Err("the role may not do this");
  return responses;
}

// --- parameters and bodies ---
inline json PathParam(const char* name, json schema, const char* description = nullptr) {
  json p{{"name", name}, {"in", "path"}, {"required", true}, {"schema", std::move(schema)}};
  if (description) p["description"] = description;
  return p;
}
inline json Query(const char* name, const char* description, json schema = Str(), bool required = false) {
  return {{"name", name}, {"in", "query"}, {"required", required}, {"description", description}, {"schema", std::move(schema)}};
}
// A required JSON request body; validated at run time before the handler runs (request_schemas.h).
inline json Body(json schema, bool required = true) {
  return {{"required", required}, {"content", {{"application/json", {{"schema", std::move(schema)}}}}}};
}

// Path parameter shapes the routes match.
inline json MeterIdSchema() { return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,32}$"}}; }
inline json RegionCodeSchema() { return {{"type", "string"}, {"pattern", "^[0-9]{9}$"}}; }

// The records the routes answer with (openapi_schemas.cc): Meter, Reading, Delivery, Error, ...
void AddResponseSchemas(json& schemas);

}  // namespace mh::api::oas
