#include "api/auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

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

std::string NewToken() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) throw std::runtime_error("RAND_bytes failed");  // no entropy: cannot go on
  return "mh_" + Hex(buf, sizeof buf);
}

Result<std::string> CreateToken(store::Store& store, Role role, const std::string& name,
                                const std::string& customer_id) {
  if (role == Role::kCustomer && customer_id.empty()) return InvalidArgument("a customer token needs a customer id");
  std::string token = NewToken();
  MH_RETURN_IF_ERROR(store.PutToken({Sha256Hex(token), name, RoleName(role), customer_id}));
  return token;
}

Result<Principal> Authenticate(store::Store& store, const std::string& header) {
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) return Unauthenticated("missing 'Authorization: Bearer <token>' header");
  std::string token = header.substr(prefix.size());
  MH_ASSIGN_OR_RETURN(std::optional<store::ApiToken> found, store.FindToken(Sha256Hex(token)));
  if (!found) return Unauthenticated("unknown API token");
  auto role = ParseRole(found->role);
  if (!role) return Internal("token with unknown role '" + found->role + "'");
  return Principal{*role, found->name, found->customer_id};
}

}  // namespace mh::api
