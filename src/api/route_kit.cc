#include "api/route_kit.h"

#include "core/time.h"

namespace mh::api {

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 422;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kStorageFull: return 507;  // Insufficient Storage: retry later, keep the batch
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void SendJson(http::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SendError(http::Response& res, const Status& s) {
  SendJson(res, HttpStatusOf(s.code()), {{"error", {{"code", StatusCodeName(s.code())}, {"message", s.message()}}}});
}

std::string Iso(int64_t t) { return FormatIsoUtc(t); }

// from/to query parameters (ISO-8601 or epoch seconds), both inclusive.
Result<store::TimeRange> ParseRange(const http::Request& req) {
  store::TimeRange range;
  if (req.has_param("from")) {
    auto t = ParseTimestamp(req.get_param_value("from"));
    if (!t.ok()) return InvalidArgument("query parameter 'from': " + t.status().message());
    range.from = *t;
  }
  if (req.has_param("to")) {
    auto t = ParseTimestamp(req.get_param_value("to"));
    if (!t.ok()) return InvalidArgument("query parameter 'to': " + t.status().message());
    range.to = *t;
  }
  if (range.from > range.to) return InvalidArgument("'from' is after 'to'");
  return range;
}

Result<int64_t> ParseLimit(const http::Request& req, int64_t def, int64_t max) {
  if (!req.has_param("limit")) return def;
  try {
    int64_t v = std::stoll(req.get_param_value("limit"));
    if (v <= 0 || v > max) return InvalidArgument("query parameter 'limit' must be 1.." + std::to_string(max));
    return v;
  } catch (...) {
    return InvalidArgument("query parameter 'limit' is not a number");
  }
}

Result<json> ParseBody(const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
  return body;
}

}  // namespace mh::api
