#include "api/session.h"

#include <argon2.h>
#include <openssl/rand.h>

#include <cctype>
#include <stdexcept>

namespace mh::api {
namespace {

// RFC 9106 section 4, second recommended option (also OWASP's): 19 MiB, 2 passes, 1 lane.
constexpr uint32_t kTimeCost = 2;
constexpr uint32_t kMemoryKiB = 19 * 1024;
constexpr uint32_t kLanes = 1;
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 1024;

bool IsValidUsername(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '@' && c != '-') return false;
  return true;
}

// Verifying against this when the user does not exist keeps a failed login's time the same
// whether or not the name is taken.
const std::string& DummyHash() {
  static const std::string hash = [] {
    auto h = HashPassword("not-a-real-password");
    return h.ok() ? *h : std::string();
  }();
  return hash;
}

Result<Session> OpenSession(store::Store& store, Principal principal, const std::string& username,
                            const std::string& token_sha256, int64_t now, int64_t ttl_s) {
  if (ttl_s <= 0) return InvalidArgument("session lifetime must be positive");
  Session s;
  s.secret = NewToken();
  s.csrf = CsrfTokenOf(s.secret);
  s.expires_at = now + ttl_s;
  // Expired sessions are swept at each login, so the table holds only live ones (and a few).
  MH_RETURN_IF_ERROR(store.DeleteExpiredSessions(now).status());
  MH_RETURN_IF_ERROR(store.PutSession({Sha256Hex(s.secret), username, token_sha256, now, s.expires_at}));
  principal.session_sha256 = Sha256Hex(s.secret);
  s.principal = std::move(principal);
  return s;
}

}  // namespace

Result<std::string> HashPassword(const std::string& password) {
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("RAND_bytes failed");  // no entropy: cannot go on
  std::string encoded(argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltBytes, kHashBytes, Argon2_id), '\0');
  const int rc = argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(), salt,
                                       sizeof salt, kHashBytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return Internal(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

bool VerifyPassword(const std::string& encoded_hash, const std::string& password) {
  if (encoded_hash.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded_hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Status AddUser(store::Store& store, const NewUser& user, int64_t now) {
  if (!IsValidUsername(user.username)) return InvalidArgument("username: 1-64 characters of [A-Za-z0-9_.@-]");
  if (user.role == Role::kCustomer && user.customer_id.empty())
    return InvalidArgument("a customer account needs a customer id");
  if (user.role != Role::kCustomer && !user.customer_id.empty())
    return InvalidArgument("only a customer account names a customer");
  if (user.password.size() < kMinPassword) return InvalidArgument("password: at least 8 characters");
  if (user.password.size() > kMaxPassword) return InvalidArgument("password: at most 1024 characters");
  MH_ASSIGN_OR_RETURN(std::string hash, HashPassword(user.password));
  return store.AddUser({user.username, RoleName(user.role), user.customer_id, hash, now});
}

Result<Principal> PrincipalOfUser(const store::UserRecord& user) {
  auto role = ParseRole(user.role);
  if (!role) return Internal("user '" + user.username + "' has an unknown role '" + user.role + "'");
  return Principal{*role, user.username, user.customer_id, ""};
}

Result<Session> LoginWithPassword(store::Store& store, const std::string& username, const std::string& password,
                                  int64_t now, int64_t ttl_s) {
  const Status refused = Unauthenticated("wrong username or password");
  if (username.empty() || username.size() > 64 || password.size() > kMaxPassword) return refused;
  MH_ASSIGN_OR_RETURN(std::optional<store::UserRecord> user, store.GetUser(username));
  if (!user) {
    (void)VerifyPassword(DummyHash(), password);
    return refused;
  }
  if (!VerifyPassword(user->password_hash, password)) return refused;
  MH_ASSIGN_OR_RETURN(Principal who, PrincipalOfUser(*user));
  return OpenSession(store, std::move(who), user->username, "", now, ttl_s);
}

Result<Session> LoginWithToken(store::Store& store, const std::string& token, int64_t now, int64_t ttl_s) {
  const std::string hash = Sha256Hex(token);
  MH_ASSIGN_OR_RETURN(std::optional<store::ApiToken> found, store.FindToken(hash));
  if (!found || !ConstantTimeEquals(found->token_sha256, hash)) return Unauthenticated("unknown API token");
  MH_ASSIGN_OR_RETURN(Principal who, PrincipalOfToken(*found, now));
  // A session never outlives the token it was opened with.
  if (found->expires_at != 0) ttl_s = std::min(ttl_s, found->expires_at - now);
  return OpenSession(store, std::move(who), "", hash, now, ttl_s);
}

std::string CsrfTokenOf(const std::string& secret) { return Sha256Hex("meterhub-csrf\n" + secret).substr(0, 32); }

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    size_t start = header.find_first_not_of(' ', pos);
    if (start < end) {
      const std::string pair = header.substr(start, end - start);
      const size_t eq = pair.find('=');
      if (eq != std::string::npos && pair.compare(0, eq, name) == 0) return pair.substr(eq + 1);
    }
    pos = end + 1;
  }
  return "";
}

std::string SessionCookie(const std::string& secret, int64_t max_age_s, bool tls) {
  std::string c = std::string(kSessionCookie) + "=" + secret + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                  std::to_string(secret.empty() ? 0 : max_age_s);
  if (tls) c += "; Secure";
  return c;
}

Result<Principal> PrincipalOfSession(store::Store& store, const std::string& secret, int64_t now) {
  const std::string hash = Sha256Hex(secret);
  MH_ASSIGN_OR_RETURN(std::optional<store::SessionRecord> session, store.FindSession(hash));
  if (!session || !ConstantTimeEquals(session->session_sha256, hash))
    return Unauthenticated("the session has ended; log in again");
  if (session->expires_at <= now) return Unauthenticated("the session has expired; log in again");
  Result<Principal> who = Unauthenticated("the session has ended; log in again");
  if (!session->username.empty()) {
    MH_ASSIGN_OR_RETURN(std::optional<store::UserRecord> user, store.GetUser(session->username));
    if (user) who = PrincipalOfUser(*user);
  } else {
    MH_ASSIGN_OR_RETURN(std::optional<store::ApiToken> token, store.FindToken(session->token_sha256));
    if (token) who = PrincipalOfToken(*token, now);
  }
  if (who.ok()) who->session_sha256 = hash;
  return who;
}

}  // namespace mh::api
