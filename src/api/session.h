// Dashboard logins (SPEC 5): users with slow salted password hashes (Argon2id), and browser
// sessions opened by a username and password or by an API token. The browser holds the session
// secret in an HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256. A state-changing
// request of a session must also send the session's CSRF token in the X-CSRF-Token header: a
// value derived from the secret, which a page of another origin can neither read nor guess.
// A session ends at logout, at its expiry, and when its user is deleted or its token revoked.
#pragma once

#include <string>

#include "api/auth.h"
#include "base/status.h"
#include "store/store.h"

namespace mh::api {

inline constexpr const char* kSessionCookie = "mh_session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

// Argon2id (RFC 9106's second recommended option: m = 19 MiB, t = 2, p = 1) with a 16-byte random
// salt, as the self-describing encoded string.
Result<std::string> HashPassword(const std::string& password);
// Whether `password` matches the encoded hash (constant time in the hash comparison).
bool VerifyPassword(const std::string& encoded_hash, const std::string& password);

struct NewUser {
  std::string username;  // 1-64 characters of [A-Za-z0-9_.@-]
  Role role = Role::kSupervisor;
  std::string customer_id;  // required for kCustomer
  std::string password;     // at least 8 characters
};
Status AddUser(store::Store& store, const NewUser& user, int64_t now);
// The stored user as a principal.
Result<Principal> PrincipalOfUser(const store::UserRecord& user);

struct Session {
  std::string secret;  // the cookie's value (shown to the browser only)
  std::string csrf;    // the value X-CSRF-Token must carry
  int64_t expires_at = 0;
  Principal principal;
};
// Unauthenticated, with one message for an unknown user and a wrong password.
Result<Session> LoginWithPassword(store::Store& store, const std::string& username, const std::string& password,
                                  int64_t now, int64_t ttl_s);
Result<Session> LoginWithToken(store::Store& store, const std::string& token, int64_t now, int64_t ttl_s);
// The CSRF token of the session whose cookie holds `secret`.
std::string CsrfTokenOf(const std::string& secret);
// The value of cookie `name` in a Cookie header, "" when absent.
std::string CookieValue(const std::string& cookie_header, const std::string& name);
// The Set-Cookie value that stores `secret` (or, for an empty secret, clears the cookie).
std::string SessionCookie(const std::string& secret, int64_t max_age_s, bool tls);

// The principal of a session cookie's secret at `now` (the session and its user or token must
// still be valid). Used by Authenticate.
Result<Principal> PrincipalOfSession(store::Store& store, const std::string& secret, int64_t now);

}  // namespace mh::api
