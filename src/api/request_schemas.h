// Run-time validation of JSON request bodies against the request schemas of the OpenAPI document
// (valijson): a body that does not match is answered 400 naming the field's path and what was
// wrong, before the route's handler runs — the document and the server cannot disagree on what a
// route takes. Compiled once at start-up (HttpApi::Start).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace mh::api {

// "/api/v1/meters/([A-Za-z0-9_-]{1,32})/terminals" (a route's pattern) and
// "/api/v1/meters/{id}/terminals" (a document path) both become "/api/v1/meters/{}/terminals".
std::string RouteShape(const std::string& pattern);
std::string DocPathShape(const std::string& path);

// An OpenAPI 3.0 schema as JSON Schema draft 4 (what valijson reads): $ref to
// #/components/schemas inlined from `components`, `nullable` as anyOf null, examples dropped.
nlohmann::json ToJsonSchema(const nlohmann::json& schema, const nlohmann::json& components);

class RequestSchemas {
 public:
  // Compiles the application/json request body schema of every operation of `doc`, except those
  // marked "x-meterhub-validated-by-handler" (POST /api/v1/readings: per-row issues, streamed).
  // Internal when a schema does not compile (a programmer error in the document).
  static Result<std::unique_ptr<RequestSchemas>> Compile(const nlohmann::json& doc);
  ~RequestSchemas();

  // OK when the operation (method, the route's pattern) has no body schema, or `body` is not JSON
  // (the handler's parser names that error), or it matches; else InvalidArgument
  // "request body: field 'reports[0].level': <what was wrong> (expected ...)".
  Status Check(const std::string& method, const std::string& route_pattern, const std::string& body) const;
  // Whether a body schema is compiled for the operation.
  bool Has(const std::string& method, const std::string& route_pattern) const;
  size_t size() const { return schemas_.size(); }

 private:
  struct Compiled;
  RequestSchemas() = default;
  std::map<std::string, std::unique_ptr<Compiled>> schemas_;  // "POST /api/v1/meters/{}/terminals"
};

// The request schemas of OpenApiDocument(), compiled on first use; HttpApi::Start calls it so the
// compilation happens at start-up (and a broken document stops the daemon there).
Result<const RequestSchemas*> DocumentRequestSchemas();

}  // namespace mh::api
