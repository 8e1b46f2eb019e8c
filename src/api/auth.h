// API tokens with roles (SPEC 5): admin, operator, auditor, customer (own meters only), supervisor
// (read-only). Tokens are random, shown once, and stored only as their SHA-256.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "store/store.h"

namespace mh::api {

enum class Role { kAdmin, kOperator, kAuditor, kCustomer, kSupervisor };

std::optional<Role> ParseRole(const std::string& name);
const char* RoleName(Role role);

struct Principal {
  Role role = Role::kSupervisor;
  std::string name;
  std::string customer_id;  // for kCustomer

  bool CanWrite() const { return role == Role::kAdmin || role == Role::kOperator; }
  bool IsAdmin() const { return role == Role::kAdmin; }
  // Whether this principal may see (and, for customers, set thresholds of) the meter.
  bool CanSeeMeter(const store::MeterInfo& meter) const {
    return role != Role::kCustomer || (!customer_id.empty() && meter.customer_id == customer_id);
  }
};

std::string Sha256Hex(const std::string& data);
// 32 random bytes, hex: "mh_<64 hex>".
std::string NewToken();

// Creates a token for `role` and stores its hash; returns the token (shown once).
Result<std::string> CreateToken(store::Store& store, Role role, const std::string& name, const std::string& customer_id);

// "Bearer <token>" header value → principal; Unauthenticated when missing or unknown.
Result<Principal> Authenticate(store::Store& store, const std::string& authorization_header);

}  // namespace mh::api
