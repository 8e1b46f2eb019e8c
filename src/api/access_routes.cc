#include "api/access_routes.h"

#include <spdlog/spdlog.h>

#include "api/route_kit.h"
#include "api/session.h"
#include "base/clock.h"
#include "core/time.h"

namespace mh::api {
namespace {

json WhoJson(const Principal& who) {
  return {{"role", RoleName(who.role)}, {"name", who.name}, {"customer_id", who.customer_id}};
}

json TokenJson(const store::ApiToken& t) {
  return {{"id", TokenId(t.token_sha256)},
          {"name", t.name},
          {"role", t.role},
          {"customer_id", t.customer_id},
          {"created_at", Iso(t.created_at)},
          {"expires_at", t.expires_at ? json(Iso(t.expires_at)) : json(nullptr)},
          {"revoked_at", t.revoked_at ? json(Iso(t.revoked_at)) : json(nullptr)}};
}

json UserJson(const store::UserRecord& u) {
  return {{"username", u.username}, {"role", u.role}, {"customer_id", u.customer_id}, {"created_at", Iso(u.created_at)}};
}

Status NeedsAdmin(const Principal& who, const char* what) {
  if (!who.IsAdmin()) return PermissionDenied(std::string(what) + " needs an admin");
  return Status::Ok();
}

Result<Role> RoleField(const json& body) {
  std::string name;
  MH_RETURN_IF_ERROR(TextField(body, "role", kWordText, &name, true));
  auto role = ParseRole(name);
  if (!role) return InvalidArgument(std::string("field 'role': ") + kRoleNames);
  return *role;
}

// POST /api/v1/session: {"username","password"} or {"token"} → the session cookie and its CSRF token.
void Login(store::Store* st, const AccessOptions& options, const http::Request& req, http::Response& res) {
  const int64_t now = SystemClock::Instance().NowSeconds();
  Result<Session> session = [&]() -> Result<Session> {
    MH_RETURN_IF_ERROR(CheckRequestBody(req));  // not Guarded: logging in is how one gets credentials
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    std::string username, password, token;
    MH_RETURN_IF_ERROR(Field(body, "username", &username, false));
    MH_RETURN_IF_ERROR(Field(body, "password", &password, false));
    MH_RETURN_IF_ERROR(Field(body, "token", &token, false));
    if (!token.empty()) {
      if (!username.empty() || !password.empty())
        return InvalidArgument("log in with either 'username' and 'password' or 'token', not both");
      return LoginWithToken(*st, token, now, options.session_ttl_s);
    }
    if (username.empty() || password.empty())
      return InvalidArgument("fields 'username' and 'password' (or 'token') are required");
    return LoginWithPassword(*st, username, password, now, options.session_ttl_s);
  }();
  if (!session.ok()) {
    // The name tried is logged, never the password or token.
    spdlog::info("http: login refused from {}: {}", req.remote_addr, session.status().message());
    return SendError(res, session.status());
  }
  res.set_header("Set-Cookie", SessionCookie(session->secret, session->expires_at - now, req.tls));
  res.set_header("Cache-Control", "no-store");
  json out = WhoJson(session->principal);
  out["csrf_token"] = session->csrf;
  out["expires_at"] = Iso(session->expires_at);
  SendJson(res, 201, out);
}

}  // namespace

void AddAccessRoutes(http::Server& srv, store::Store* st, AccessOptions options) {
  auto guarded = [st](auto handler) { return Guarded(st, handler); };

  srv.Post("/api/v1/session", [st, options](const http::Request& req, http::Response& res) {
    Login(st, options, req, res);
  });
  // Who is logged in; for a session also its CSRF token (a page reloaded needs it again, and
  // another origin cannot read this answer).
  srv.Get("/api/v1/session", guarded([](const Principal& who, const http::Request& req, http::Response& res) -> Status {
    json out = WhoJson(who);
    const std::string secret = CookieValue(req.get_header_value("Cookie"), kSessionCookie);
    out["csrf_token"] = who.session_sha256.empty() || secret.empty() ? json(nullptr) : json(CsrfTokenOf(secret));
    res.set_header("Cache-Control", "no-store");
    SendJson(res, 200, out);
    return Status::Ok();
  }));
  srv.Delete("/api/v1/session", guarded([st](const Principal& who, const http::Request& req,
                                              http::Response& res) -> Status {
    if (!who.session_sha256.empty()) MH_RETURN_IF_ERROR(st->DeleteSession(who.session_sha256));
    res.set_header("Set-Cookie", SessionCookie("", 0, req.tls));
    res.status = 204;
    return Status::Ok();
  }));

  // --- tokens ---
  srv.Post("/api/v1/tokens", guarded([st](const Principal& who, const http::Request& req,
                                           http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "creating tokens"));
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    TokenSpec spec;
    MH_ASSIGN_OR_RETURN(spec.role, RoleField(body));
    std::string expires;
    MH_RETURN_IF_ERROR(TextField(body, "name", kNameText, &spec.name, false));
    MH_RETURN_IF_ERROR(TextField(body, "customer_id", kIdText, &spec.customer_id, false));
    MH_RETURN_IF_ERROR(TextField(body, "expires", kTimeText, &expires, false));
    const int64_t now = SystemClock::Instance().NowSeconds();
    if (!expires.empty()) {
      auto d = ParseDuration(expires);
      if (!d.ok() || *d <= 0) return InvalidArgument("field 'expires': a positive duration such as 90d or 12h");
      spec.expires_at = now + *d;
    }
    MH_ASSIGN_OR_RETURN(std::string token, CreateToken(*st, spec, now));
    MH_ASSIGN_OR_RETURN(store::ApiToken stored, FindTokenById(*st, TokenId(Sha256Hex(token))));
    json out = TokenJson(stored);
    out["token"] = token;
    res.set_header("Cache-Control", "no-store");
    SendJson(res, 201, out);
    return Status::Ok();
  }));
  srv.Get("/api/v1/tokens", guarded([st](const Principal& who, const http::Request&, http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "listing tokens"));
    MH_ASSIGN_OR_RETURN(std::vector<store::ApiToken> tokens, st->ListTokens());
    json out = json::array();
    for (const auto& t : tokens) out.push_back(TokenJson(t));
    SendJson(res, 200, {{"tokens", out}});
    return Status::Ok();
  }));
  srv.Delete("/api/v1/tokens/([0-9a-f]{12,64})", guarded([st](const Principal& who, const http::Request& req,
                                                              http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "revoking tokens"));
    MH_RETURN_IF_ERROR(RevokeTokenById(*st, req.matches[1], SystemClock::Instance().NowSeconds()));
    spdlog::info("http: token {} revoked by {}", req.matches[1], who.name);
    res.status = 204;
    return Status::Ok();
  }));

  // --- users ---
  srv.Post("/api/v1/users", guarded([st](const Principal& who, const http::Request& req,
                                          http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "adding users"));
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    NewUser user;
    MH_ASSIGN_OR_RETURN(user.role, RoleField(body));
    MH_RETURN_IF_ERROR(TextField(body, "username", kUsernameText, &user.username, true));
    // The password is only hashed, never stored, shown or logged: AddUser bounds its length and
    // any character may be in it.
    MH_RETURN_IF_ERROR(Field(body, "password", &user.password, true));
    MH_RETURN_IF_ERROR(TextField(body, "customer_id", kIdText, &user.customer_id, false));
    MH_RETURN_IF_ERROR(AddUser(*st, user, SystemClock::Instance().NowSeconds()));
    MH_ASSIGN_OR_RETURN(std::optional<store::UserRecord> stored, st->GetUser(user.username));
    if (!stored) return Internal("user '" + user.username + "' vanished after it was added");
    SendJson(res, 201, UserJson(*stored));
    return Status::Ok();
  }));
  srv.Get("/api/v1/users", guarded([st](const Principal& who, const http::Request&, http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "listing users"));
    MH_ASSIGN_OR_RETURN(std::vector<store::UserRecord> users, st->ListUsers());
    json out = json::array();
    for (const auto& u : users) out.push_back(UserJson(u));
    SendJson(res, 200, {{"users", out}});
    return Status::Ok();
  }));
  srv.Delete(R"(/api/v1/users/([A-Za-z0-9_.@-]{1,64}))", guarded([st](const Principal& who, const http::Request& req,
                                                                     http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsAdmin(who, "deleting users"));
    MH_RETURN_IF_ERROR(st->DeleteUser(req.matches[1]));
    res.status = 204;
    return Status::Ok();
  }));
}

}  // namespace mh::api
