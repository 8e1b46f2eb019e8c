#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "api/session.h"
#include "base/clock.h"

namespace mh::api {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool IsSafeMethod(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

Result<Principal> AuthenticateBearer(store::Store& store, const std::string& header, int64_t now) {
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) return Unauthenticated("the Authorization header must be 'Bearer <token>'");
  const std::string hash = Sha256Hex(header.substr(prefix.size()));
  MH_ASSIGN_OR_RETURN(std::optional<store::ApiToken> found, store.FindToken(hash));
  // The lookup is by hash (an attacker cannot steer it); the final comparison is constant-time anyway.
  if (!found || !ConstantTimeEquals(found->token_sha256, hash)) return Unauthenticated("unknown API token");
  return PrincipalOfToken(*found, now);
}

}  // namespace

std::optional<Role> ParseRole(const std::string& name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "operator") return Role::kOperator;
  if (name == "auditor") return Role::kAuditor;
  if (name == "customer") return Role::kCustomer;
  if (name == "supervisor") return Role::kSupervisor;
  return std::nullopt;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kOperator: return "operator";
    case Role::kAuditor: return "auditor";
    case Role::kCustomer: return "customer";
    case Role::kSupervisor: return "supervisor";
  }
  return "?";
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string NewToken() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("RAND_bytes failed");  // no entropy: cannot go on
  return "mh_" + Hex(buf, sizeof buf);
}

std::string TokenId(const std::string& token_sha256) { return token_sha256.substr(0, 12); }

Result<std::string> CreateToken(store::Store& store, const TokenSpec& spec, int64_t now) {
  if (spec.role == Role::kCustomer && spec.customer_id.empty())
    return InvalidArgument("a customer token needs a customer id");
  if (spec.role != Role::kCustomer && !spec.customer_id.empty())
    return InvalidArgument("only a customer token names a customer");
  if (spec.expires_at != 0 && spec.expires_at <= now) return InvalidArgument("the token would expire before it is used");
  std::string token = NewToken();
  MH_RETURN_IF_ERROR(
      store.PutToken({Sha256Hex(token), spec.name, RoleName(spec.role), spec.customer_id, now, spec.expires_at, 0}));
  return token;
}

Result<std::string> CreateToken(store::Store& store, Role role, const std::string& name,
                                const std::string& customer_id) {
  return CreateToken(store, TokenSpec{role, name, customer_id, 0}, SystemClock::Instance().NowSeconds());
}

Result<store::ApiToken> FindTokenById(store::Store& store, const std::string& id) {
  if (id.size() < 12 || id.size() > 64 || !IsLowerHex(id))
    return InvalidArgument("token id '" + id.substr(0, 64) + "': 12 lowercase hex digits (see 'meterhub token list')");
  MH_ASSIGN_OR_RETURN(std::vector<store::ApiToken> tokens, store.ListTokens());
  std::optional<store::ApiToken> match;
  for (auto& t : tokens) {
    if (t.token_sha256.rfind(id, 0) != 0) continue;
    if (match) return InvalidArgument("token id '" + id + "' names more than one token; give more hex digits");
    match = std::move(t);
  }
  if (!match) return NotFound("no token with id '" + id + "'");
  return *match;
}

Status RevokeTokenById(store::Store& store, const std::string& id, int64_t now) {
  MH_ASSIGN_OR_RETURN(store::ApiToken token, FindTokenById(store, id));
  return store.RevokeToken(token.token_sha256, now);
}

Result<Principal> PrincipalOfToken(const store::ApiToken& token, int64_t now) {
  if (token.revoked_at != 0) return Unauthenticated("API token " + TokenId(token.token_sha256) + " was revoked");
  if (token.expires_at != 0 && token.expires_at <= now)
    return Unauthenticated("API token " + TokenId(token.token_sha256) + " has expired");
  auto role = ParseRole(token.role);
  if (!role) return Internal("token with unknown role '" + token.role + "'");
  return Principal{*role, token.name, token.customer_id, ""};
}

Result<Principal> Authenticate(store::Store& store, const Credentials& c, int64_t now) {
  if (!c.authorization.empty()) return AuthenticateBearer(store, c.authorization, now);
  const std::string secret = CookieValue(c.cookie, kSessionCookie);
  if (secret.empty())
    return Unauthenticated("log in: an 'Authorization: Bearer <token>' header or a session cookie is needed");
  MH_ASSIGN_OR_RETURN(Principal who, PrincipalOfSession(store, secret, now));
  if (!IsSafeMethod(c.method) && !ConstantTimeEquals(c.csrf, CsrfTokenOf(secret)))
    return PermissionDenied(std::string("a session's ") + c.method + " request needs its CSRF token in the " +
                            kCsrfHeader + " header");
  return who;
}

}  // namespace mh::api
