#include "api/route_kit.h"

#include <charconv>
#include <cstdio>

#include "api/request_schemas.h"
#include "api/session.h"
#include "base/utf8.h"
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

Credentials CredentialsOf(const http::Request& req) {
  return {req.method, req.get_header_value("Authorization"), req.get_header_value("Cookie"),
          req.get_header_value(kCsrfHeader)};
}

Status CheckRequestBody(const http::Request& req) {
  if (req.body.empty()) return Status::Ok();
  MH_ASSIGN_OR_RETURN(const RequestSchemas* schemas, DocumentRequestSchemas());
  return schemas->Check(req.method, req.route, req.body);
}

std::string Iso(int64_t t) { return FormatIsoUtc(t); }

namespace {

// C0, DEL, C1, the line/paragraph separators and the bidirectional formatting characters (which
// make a value display as something else in a dashboard or a log).
bool IsControl(int32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

bool IsSpace(int32_t cp) { return cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x3000; }

bool Allowed(int32_t cp, TextRule::Chars chars) {
  switch (chars) {
    case TextRule::Chars::kMeterId:
      return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_' || cp == '-';
    case TextRule::Chars::kToken: return !IsSpace(cp);
    case TextRule::Chars::kLine: return true;
    case TextRule::Chars::kPhone:
      return (cp >= '0' && cp <= '9') || cp == '+' || cp == ' ' || cp == '-' || cp == '.' || cp == '(' || cp == ')';
  }
  return false;
}

std::string CodePointName(int32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

Status CheckText(std::string_view value, const TextRule& rule, const std::string& what) {
  // Bytes bound code points from above: a huge value is refused before it is scanned.
  if (value.size() > 4 * rule.max_chars) {
    return InvalidArgument(what + ": " + std::to_string(value.size()) + " bytes, longer than " + rule.kind + " may be (" +
                           std::to_string(rule.max_chars) + " characters at most)");
  }
  size_t chars = 0;
  for (size_t i = 0; i < value.size();) {
    const size_t at = i;
    const int32_t cp = DecodeUtf8(value, &i);
    if (cp < 0) return InvalidArgument(what + ": not valid UTF-8 (byte " + std::to_string(at) + ")");
    if (IsControl(cp)) {
      return InvalidArgument(what + ": control character " + CodePointName(cp) + " at byte " + std::to_string(at) +
                             " (not allowed in " + rule.kind + ")");
    }
    if (!Allowed(cp, rule.chars)) {
      return InvalidArgument(what + ": character " + CodePointName(cp) + " at byte " + std::to_string(at) +
                             " is not allowed in " + rule.kind);
    }
    ++chars;
  }
  if (chars > rule.max_chars) {
    return InvalidArgument(what + ": " + std::to_string(chars) + " characters, longer than " + rule.kind + " may be (" +
                           std::to_string(rule.max_chars) + " at most)");
  }
  return Status::Ok();
}

Status TextField(const json& body, const char* name, const TextRule& rule, std::string* out, bool required) {
  const std::string what = std::string("field '") + name + "'";
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return required ? InvalidArgument(what + " is required") : Status::Ok();
  if (!it->is_string()) return InvalidArgument(what + " must be a string (" + rule.kind + ")");
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty() && required) return InvalidArgument(what + " is empty");
  MH_RETURN_IF_ERROR(CheckText(value, rule, what));
  *out = value;
  return Status::Ok();
}

Result<std::string> TextParam(const http::Request& req, const char* name, const TextRule& rule) {
  if (!req.has_param(name)) return std::string();
  std::string value = req.get_param_value(name);
  MH_RETURN_IF_ERROR(CheckText(value, rule, std::string("query parameter '") + name + "'"));
  return value;
}

Result<int64_t> IntParam(const http::Request& req, const char* name, int64_t min, int64_t max, int64_t def) {
  if (!req.has_param(name)) return def;
  const std::string v = req.get_param_value(name);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || out < min || out > max) {
    return InvalidArgument(std::string("query parameter '") + name + "' must be a whole number " + std::to_string(min) +
                           ".." + std::to_string(max));
  }
  return out;
}

// from/to query parameters (ISO-8601 or epoch seconds), both inclusive.
Result<store::TimeRange> ParseRange(const http::Request& req) {
  store::TimeRange range;
  for (const char* name : {"from", "to"}) {
    MH_ASSIGN_OR_RETURN(std::string text, TextParam(req, name, kTimeText));
    if (text.empty()) continue;
    auto t = ParseTimestamp(text);
    if (!t.ok()) return InvalidArgument(std::string("query parameter '") + name + "': " + t.status().message());
    (name[0] == 'f' ? range.from : range.to) = *t;
  }
  if (range.from > range.to) return InvalidArgument("'from' is after 'to'");
  return range;
}

Result<int64_t> ParseLimit(const http::Request& req, int64_t def, int64_t max) { return IntParam(req, "limit", 1, max, def); }

Result<json> ParseBody(const http::Request& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return InvalidArgument("request body is not valid JSON");
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
  return body;
}

Result<store::MeterInfo> VisibleMeter(store::Store& st, const Principal& who, const std::string& id) {
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> m, st.GetMeter(id));
  if (!m || !who.CanSeeMeter(*m)) return NotFound("no meter '" + id + "'");
  return *m;
}

Result<std::string> MeterFilter(store::Store& st, const Principal& who, const http::Request& req) {
  MH_ASSIGN_OR_RETURN(std::string meter, TextParam(req, "meter", kMeterIdText));
  if (meter.empty() && who.role == Role::kCustomer) return InvalidArgument("customers must name a meter (?meter=ID)");
  if (!meter.empty()) MH_RETURN_IF_ERROR(VisibleMeter(st, who, meter).status());
  return meter;
}

}  // namespace mh::api
