// What every REST route file shares: authentication and uniform JSON errors around a handler, and
// the parsing of query parameters and JSON bodies with errors that name the parameter or field.
#pragma once

#include "http/server.h"

#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "api/readings_routing.h"
#include "base/clock.h"
#include "base/status.h"
#include "billing/tariff.h"
#include "relay/relay_service.h"
#include "store/store.h"

namespace mh::api {

using json = nlohmann::json;

int HttpStatusOf(StatusCode code);
void SendJson(http::Response& res, int status, const json& body);
// {"error": {"code", "message"}} with the status's HTTP code.
void SendError(http::Response& res, const Status& s);
std::string Iso(int64_t epoch_s);

// --- text at the API edge ---
// Every text field of a body and every text query parameter is read through a TextRule: a length
// bound, valid UTF-8, no control characters (C0, DEL, C1, line separators, bidi overrides) and the
// shape of its kind. The error names the field and the limit, never echoes the value. The limits
// are listed in README.md ("Limits of the REST API") and the OpenAPI schemas.
struct TextRule {
  enum class Chars {
    kMeterId,  // [A-Za-z0-9_-] (SPEC 0.1)
    kToken,    // any printable character but whitespace: ids, URLs, e-mail addresses, timestamps
    kLine,     // any printable character, spaces included: names, postal addresses
    kPhone,    // digits, '+', spaces, '-', '.', '(', ')'
  };
  const char* kind;   // for messages: "a meter id", "a name", ...
  size_t max_chars;   // code points
  Chars chars;
};
inline constexpr TextRule kMeterIdText{"a meter id (1-32 characters of [A-Za-z0-9_-])", 32, TextRule::Chars::kMeterId};
inline constexpr TextRule kIdText{"an id (no spaces)", 64, TextRule::Chars::kToken};          // customer ids
// Dashboard user names; AddUser (session.cc) narrows them to [A-Za-z0-9_.@-].
inline constexpr TextRule kUsernameText{"a username", 64, TextRule::Chars::kToken};
inline constexpr TextRule kNameText{"a name", 200, TextRule::Chars::kLine};                   // token names
inline constexpr TextRule kAddressText{"a postal address", 500, TextRule::Chars::kLine};
inline constexpr TextRule kReasonText{"a reason", 1000, TextRule::Chars::kLine};          // why a reading was corrected
inline constexpr TextRule kUrlText{"a URL", 2048, TextRule::Chars::kToken};
inline constexpr TextRule kPhoneText{"a phone number", 32, TextRule::Chars::kPhone};
inline constexpr TextRule kEmailText{"an e-mail address", 254, TextRule::Chars::kToken};
inline constexpr TextRule kWordText{"a keyword", 32, TextRule::Chars::kToken};                 // enums, periods
inline constexpr TextRule kChannelText{"a channel name", 64, TextRule::Chars::kToken};          // narrowed by IsValidChannel
inline constexpr TextRule kTimeText{"a time or duration", 64, TextRule::Chars::kToken};
// GET /api/v1/meters?q=: a substring of a meter or customer id, as typed in the dashboard's search.
inline constexpr TextRule kSearchText{"a search text", 64, TextRule::Chars::kLine};

// OK when `value` follows `rule`; else InvalidArgument "<what>: <why>" (what = "field 'x'").
Status CheckText(std::string_view value, const TextRule& rule, const std::string& what);
// Reads the text field `name`: a string following `rule`, non-empty when required.
Status TextField(const json& body, const char* name, const TextRule& rule, std::string* out, bool required);
// The query parameter `name` following `rule`; "" when absent.
Result<std::string> TextParam(const http::Request& req, const char* name, const TextRule& rule);
// The query parameter `name` as a whole number in [min, max]; `def` when absent.
Result<int64_t> IntParam(const http::Request& req, const char* name, int64_t min, int64_t max, int64_t def);

// from/to query parameters (ISO-8601 or epoch seconds), both inclusive.
Result<store::TimeRange> ParseRange(const http::Request& req);
// ?limit=, 1..max, `def` when absent.
Result<int64_t> ParseLimit(const http::Request& req, int64_t def, int64_t max);
// The body as a JSON object.
Result<json> ParseBody(const http::Request& req);

// The meter `id` if `who` may see it; NotFound (as if it did not exist) otherwise.
Result<store::MeterInfo> VisibleMeter(store::Store& st, const Principal& who, const std::string& id);
// The ?meter= filter of the lists: a meter `who` may see, "" = every meter (staff only: customers
// must name one).
Result<std::string> MeterFilter(store::Store& st, const Principal& who, const http::Request& req);

// Reads an optional typed field; an existing field of the wrong type is an error naming it.
template <typename T>
Status Field(const json& body, const char* name, T* out, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return required ? InvalidArgument(std::string("field '") + name + "' is required") : Status::Ok();
  }
  const std::string what = std::string("field '") + name + "'";
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // get<T>() would convert a fraction or wrap an out-of-range number silently.
    if (!it->is_number_integer()) return InvalidArgument(what + " must be a whole number");
    const bool fits = it->is_number_unsigned()
                          ? it->template get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                          : it->template get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                it->template get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max());
    if (!fits) return InvalidArgument(what + " is out of range");
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return InvalidArgument(what + " has the wrong type");
  }
  return Status::Ok();
}

// A route handler: runs with the authenticated principal; a non-OK status becomes the JSON error.
using RouteHandler = std::function<Status(const Principal&, const http::Request&, http::Response&)>;
// The credentials a request offers: its bearer token, session cookie and CSRF header.
Credentials CredentialsOf(const http::Request& req);
// The request's JSON body against its route's schema in the OpenAPI document (request_schemas.h):
// InvalidArgument naming the field when it does not match. Guarded runs it after authentication,
// before the handler; a route outside Guarded calls it itself.
Status CheckRequestBody(const http::Request& req);
// The request's principal; when it has none, the error (401 with `WWW-Authenticate: Bearer`, or 403
// on a CSRF failure) is written to `res` and nullopt returned. Guarded and the header-time admission
// of large uploads (water_routes.cc) share it.
inline std::optional<Principal> AuthenticateOrAnswer(store::Store& store, const http::Request& req,
                                                     http::Response& res) {
  auto principal = Authenticate(store, CredentialsOf(req), SystemClock::Instance().NowSeconds());
  if (principal.ok()) return std::move(*principal);
  if (principal.status().code() == StatusCode::kUnauthenticated) res.set_header("WWW-Authenticate", "Bearer");
  SendError(res, principal.status());
  return std::nullopt;
}
// Wraps `handler` with authentication (a bearer token, or a session cookie with CSRF protection
// for state-changing requests; auth.h) against `store`, the validation of its JSON body against
// the OpenAPI document, and uniform error reporting.
inline http::Handler Guarded(store::Store* store, RouteHandler handler) {
  return [store, handler = std::move(handler)](const http::Request& req, http::Response& res) {
    std::optional<Principal> principal = AuthenticateOrAnswer(*store, req, res);
    if (!principal) return;
    Status valid = CheckRequestBody(req);
    if (!valid.ok()) return SendError(res, valid);
    Status s = handler(*principal, req, res);
    if (!s.ok()) SendError(res, s);
  };
}

// Route groups of the method areas, one file each (relay_routes.cc, ...). A forwarded batch is
// stored by the holder of the relay meter's shard, fenced by its lease (`routing`; scale-out).
void AddRelayRoutes(http::Server& srv, store::Store* store, relay::RelayService* relay, ShardRouting routing);
// The alert delivery log and re-sends (delivery_routes.cc); `requeued` runs after a re-send was
// queued (wakes the dispatcher; may be empty).
void AddDeliveryRoutes(http::Server& srv, store::Store* store, const Clock* clock, std::function<void()> requeued);

// GET /api/v1/meters/{id}/determinants: consumption per tariff band (billing_routes.cc).
void AddBillingRoutes(http::Server& srv, store::Store* store, std::shared_ptr<const billing::TariffBook> tariffs);

}  // namespace mh::api
