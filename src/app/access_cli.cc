#include "app/access_cli.h"

#include <iostream>

#include <CLI/CLI.hpp>

#include "api/auth.h"
#include "api/session.h"
#include "app/config.h"
#include "app/daemon.h"
#include "base/clock.h"
#include "core/time.h"

namespace mh::app {
namespace {

constexpr int kUsageError = 2;

int Fail(std::ostream& err, const char* command, const Status& s) {
  err << "meterhub " << command << ": " << s.message() << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                 s.code() == StatusCode::kAlreadyExists
             ? kUsageError
             : 1;
}

std::string IsoOrEmpty(int64_t t) { return t == 0 ? std::string() : FormatIsoUtc(t); }

Result<std::unique_ptr<store::Store>> Open(const std::string& config_path) {
  Config config;
  if (!config_path.empty()) {
    MH_ASSIGN_OR_RETURN(config, LoadConfig(config_path));
  }
  return OpenStore(config);
}

Status RunToken(const AccessArgs& a, std::ostream& out) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> st, Open(a.config_path));
  const int64_t now = SystemClock::Instance().NowSeconds();
  if (a.token->got_subcommand("create")) {
    api::TokenSpec spec;
    auto role = api::ParseRole(a.role);
    if (!role) return InvalidArgument(std::string("--role must be ") + api::kRoleNames);
    spec.role = *role;
    spec.name = a.name;
    spec.customer_id = a.customer;
    if (!a.expires.empty()) {
      auto d = ParseDuration(a.expires);
      if (!d.ok() || *d <= 0) return InvalidArgument("--expires: a positive duration such as 90d, 12h or 30m");
      spec.expires_at = now + *d;
    }
    MH_ASSIGN_OR_RETURN(std::string token, api::CreateToken(*st, spec, now));
    out << token << "\n";
  } else if (a.token->got_subcommand("list")) {
    MH_ASSIGN_OR_RETURN(std::vector<store::ApiToken> tokens, st->ListTokens());
    out << "id,role,customer,created,expires,revoked\n";
    for (const auto& t : tokens)
      out << api::TokenId(t.token_sha256) << ',' << t.role << ',' << t.customer_id << ',' << IsoOrEmpty(t.created_at)
          << ',' << IsoOrEmpty(t.expires_at) << ',' << IsoOrEmpty(t.revoked_at) << "\n";
  } else {
    MH_RETURN_IF_ERROR(api::RevokeTokenById(*st, a.id, now));
    out << "revoked " << a.id << "\n";
  }
  return Status::Ok();
}

Status RunUser(const AccessArgs& a, std::istream& in, std::ostream& out) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> st, Open(a.config_path));
  if (a.user->got_subcommand("add")) {
    api::NewUser user;
    auto role = api::ParseRole(a.role);
    if (!role) return InvalidArgument(std::string("--role must be ") + api::kRoleNames);
    user.role = *role;
    user.username = a.username;
    user.customer_id = a.customer;
    // The password comes on standard input, never on the command line (where `ps` shows it).
    if (!std::getline(in, user.password)) return InvalidArgument("no password on standard input");
    if (!user.password.empty() && user.password.back() == '\r') user.password.pop_back();
    MH_RETURN_IF_ERROR(api::AddUser(*st, user, SystemClock::Instance().NowSeconds()));
    out << "added " << user.username << " (" << a.role << ")\n";
  } else if (a.user->got_subcommand("list")) {
    MH_ASSIGN_OR_RETURN(std::vector<store::UserRecord> users, st->ListUsers());
    out << "username,role,customer,created\n";
    for (const auto& u : users)
      out << u.username << ',' << u.role << ',' << u.customer_id << ',' << IsoOrEmpty(u.created_at) << "\n";
  } else {
    MH_RETURN_IF_ERROR(st->DeleteUser(a.username));
    out << "deleted " << a.username << "\n";
  }
  return Status::Ok();
}

}  // namespace

void AddAccessCommands(CLI::App& app, AccessArgs& a) {
  a.token = app.add_subcommand("token", "API tokens: create, list, revoke");
  a.token->require_subcommand(1);
  auto* create = a.token->add_subcommand("create", "create a token and print it (shown once)");
  create->add_option("--config", a.config_path, "TOML configuration file (names the store)");
  create->add_option("--role", a.role, api::kRoleNames)->required();
  create->add_option("--name", a.name, "who or what uses it");
  create->add_option("--customer", a.customer, "customer id (role customer)");
  create->add_option("--expires", a.expires, "lifetime, e.g. 90d, 12h (default: never expires)");
  auto* list = a.token->add_subcommand("list", "print id,role,customer,created,expires,revoked of every token");
  list->add_option("--config", a.config_path, "TOML configuration file (names the store)");
  auto* revoke = a.token->add_subcommand("revoke", "revoke a token (and end its sessions)");
  revoke->add_option("ID", a.id, "the token's id from 'token list' (first 12 hex digits of its SHA-256)")->required();
  revoke->add_option("--config", a.config_path, "TOML configuration file (names the store)");

  a.user = app.add_subcommand("user", "dashboard accounts: add, list, delete");
  a.user->require_subcommand(1);
  auto* add = a.user->add_subcommand("add", "add an account; its password is read from standard input");
  add->add_option("--config", a.config_path, "TOML configuration file (names the store)");
  add->add_option("--username", a.username, "login name: 1-64 characters of [A-Za-z0-9_.@-]")->required();
  add->add_option("--role", a.role, api::kRoleNames)->required();
  add->add_option("--customer", a.customer, "customer id (role customer)");
  auto* ulist = a.user->add_subcommand("list", "print username,role,customer,created of every account");
  ulist->add_option("--config", a.config_path, "TOML configuration file (names the store)");
  auto* del = a.user->add_subcommand("delete", "delete an account (and end its sessions)");
  del->add_option("USERNAME", a.username)->required();
  del->add_option("--config", a.config_path, "TOML configuration file (names the store)");
}

bool AccessCommandGiven(const AccessArgs& a) { return (a.token && *a.token) || (a.user && *a.user); }

int RunAccessCommand(const AccessArgs& a, std::istream& in, std::ostream& out, std::ostream& err) {
  if (a.token && *a.token) {
    Status s = RunToken(a, out);
    return s.ok() ? 0 : Fail(err, "token", s);
  }
  Status s = RunUser(a, in, out);
  return s.ok() ? 0 : Fail(err, "user", s);
}

}  // namespace mh::app
