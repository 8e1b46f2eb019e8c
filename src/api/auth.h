// Who is calling (SPEC 5): roles, API tokens and their lifecycle, and the authentication of a
// request by a bearer token or a dashboard session cookie. Roles: admin, operator, auditor, customer
// (own meters only), supervisor (read-only). Tokens are random, shown once, and stored only as their
// SHA-256; a token's public id is the first 12 hex digits of that hash.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace mh::api {

enum class Role { kAdmin, kOperator, kAuditor, kCustomer, kSupervisor };

std::optional<Role> ParseRole(const std::string& name);
const char* RoleName(Role role);
// "field 'role': admin, operator, auditor, customer or supervisor" and friends.
inline constexpr const char* kRoleNames = "admin, operator, auditor, customer or supervisor";

struct Principal {
  Role role = Role::kSupervisor;
  std::string name;
  std::string customer_id;  // for kCustomer
  std::string session_sha256;  // set when the request came with a session cookie

  bool CanWrite() const { return role == Role::kAdmin || role == Role::kOperator; }
  // Auditors and supervisors only read; customers may still act on their own meters (thresholds,
  // water photos), which the routes check against the meter.
  bool IsReadOnly() const { return role == Role::kAuditor || role == Role::kSupervisor; }
  bool IsAdmin() const { return role == Role::kAdmin; }
  // Whether this principal may see (and, for customers, set thresholds of) the meter.
  bool CanSeeMeter(const store::MeterInfo& meter) const {
    return role != Role::kCustomer || (!customer_id.empty() && meter.customer_id == customer_id);
  }
};

std::string Sha256Hex(const std::string& data);
// Equal strings, compared in time that depends only on their lengths.
bool ConstantTimeEquals(const std::string& a, const std::string& b);
// 32 random bytes, hex: "mh_<64 hex>".
std::string NewToken();
// The public id of a token: the first 12 hex digits of its SHA-256.
std::string TokenId(const std::string& token_sha256);

struct TokenSpec {
  Role role = Role::kSupervisor;
  std::string name;
  std::string customer_id;  // required for kCustomer
  int64_t expires_at = 0;   // epoch s; 0 = never
};
// Creates a token and stores its hash; returns the token (shown once).
Result<std::string> CreateToken(store::Store& store, const TokenSpec& spec, int64_t now);
// The same, created now by the system clock, never expiring.
Result<std::string> CreateToken(store::Store& store, Role role, const std::string& name, const std::string& customer_id);
// The stored token whose id (12 hex digits; a longer prefix of the hash works too) is `id`.
// NotFound when none, InvalidArgument when the id is malformed or names several tokens.
Result<store::ApiToken> FindTokenById(store::Store& store, const std::string& id);
// Revokes the token with this id and ends its sessions.
Status RevokeTokenById(store::Store& store, const std::string& id, int64_t now);
// The token as a principal; Unauthenticated when it is revoked or expired at `now`.
Result<Principal> PrincipalOfToken(const store::ApiToken& token, int64_t now);

// What a request offers to prove who it is.
struct Credentials {
  std::string method;         // "GET", "POST", ...
  std::string authorization;  // the Authorization header
  std::string cookie;         // the Cookie header
  std::string csrf;           // the X-CSRF-Token header
};
// A bearer token when the request has an Authorization header, else the session cookie; a
// session's state-changing request (anything but GET, HEAD, OPTIONS) must also carry its CSRF
// token. Unauthenticated when nothing valid was offered, PermissionDenied on a CSRF failure.
Result<Principal> Authenticate(store::Store& store, const Credentials& credentials, int64_t now);

}  // namespace mh::api
