// What every REST route file shares: authentication and uniform JSON errors around a handler, and
// the parsing of query parameters and JSON bodies with errors that name the parameter or field.
#pragma once

#include "http/server.h"

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "base/clock.h"
#include "base/status.h"
#include "relay/relay_service.h"
#include "store/store.h"

namespace mh::api {

using json = nlohmann::json;

int HttpStatusOf(StatusCode code);
void SendJson(http::Response& res, int status, const json& body);
// {"error": {"code", "message"}} with the status's HTTP code.
void SendError(http::Response& res, const Status& s);
std::string Iso(int64_t epoch_s);

// from/to query parameters (ISO-8601 or epoch seconds), both inclusive.
Result<store::TimeRange> ParseRange(const http::Request& req);
// ?limit=, 1..max, `def` when absent.
Result<int64_t> ParseLimit(const http::Request& req, int64_t def, int64_t max);
// The body as a JSON object.
Result<json> ParseBody(const http::Request& req);

// Reads an optional typed field; an existing field of the wrong type is an error naming it.
template <typename T>
Status Field(const json& body, const char* name, T* out, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return required ? InvalidArgument(std::string("field '") + name + "' is required") : Status::Ok();
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return InvalidArgument(std::string("field '") + name + "' has the wrong type");
  }
  return Status::Ok();
}

// A route handler: runs with the authenticated principal; a non-OK status becomes the JSON error.
using RouteHandler = std::function<Status(const Principal&, const http::Request&, http::Response&)>;
// The credentials a request offers: its bearer token, session cookie and CSRF header.
Credentials CredentialsOf(const http::Request& req);
// Wraps `handler` with authentication (a bearer token, or a session cookie with CSRF protection
// for state-changing requests; auth.h) against `store` and uniform error reporting.
inline http::Handler Guarded(store::Store* store, RouteHandler handler) {
  return [store, handler = std::move(handler)](const http::Request& req, http::Response& res) {
    auto principal = Authenticate(*store, CredentialsOf(req), SystemClock::Instance().NowSeconds());
    if (!principal.ok()) {
      if (principal.status().code() == StatusCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer");
      return SendError(res, principal.status());
    }
    Status s = handler(*principal, req, res);
    if (!s.ok()) SendError(res, s);
  };
}

// Route groups of the method areas, one file each (relay_routes.cc, ...).
void AddRelayRoutes(http::Server& srv, store::Store* store, relay::RelayService* relay);

}  // namespace mh::api
