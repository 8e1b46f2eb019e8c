#include "app/broker_auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/number_text.h"
#include "base/tool_args.h"
#include "core/meter_id.h"
#include "crypto/crypto.h"
#include "ingest/device_topics.h"

namespace mh::app {
namespace {

Status CheckUserName(const std::string& user) {
  if (user.empty()) return InvalidArgument("empty MQTT user name");
  if (user.find_first_of(":\r\n") != std::string::npos) {
    return InvalidArgument("MQTT user name \"" + user + "\" holds ':' or a line break");
  }
  return Status::Ok();
}

constexpr const char* kUsage =
    "usage: meterhub mqtt acl [--service-users NAME[,NAME...]] [--out FILE]\n"
    "       meterhub mqtt passwd --file PASSWORD_FILE --user ID [--password P] [--service]\n"
    "       meterhub mqtt passwd --file PASSWORD_FILE --users IDS.txt\n"
    "Writes Mosquitto's ACL (each device: its own uplink topics and commands only; service users:\n"
    "meters/#) and adds or replaces users in a Mosquitto password file. A generated password is\n"
    "printed once as ID,PASSWORD. Send the broker SIGHUP to reload both files.\n";

int RunAcl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::string service_users = "meterhub";
  std::optional<std::string> out_path;
  CLI::App app;
  app.add_option("--service-users", service_users);
  app.add_option("--out", out_path);
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) {
    err << "meterhub mqtt acl: " << s.message() << "\n" << kUsage;
    return 2;
  }
  std::vector<std::string> users;
  std::stringstream list(service_users);
  for (std::string user; std::getline(list, user, ',');) {
    user = std::string(TrimBlanks(user));
    if (Status s = CheckUserName(user); !s.ok()) {
      err << "meterhub mqtt acl: --service-users: " << s.message() << "\n";
      return 2;
    }
    users.push_back(user);
  }
  const std::string acl = MosquittoAcl(users);
  if (const auto& path = out_path) {
    std::ofstream file(*path);
    if (!(file << acl) || !file.flush()) {
      err << "meterhub mqtt acl: cannot write " << *path << "\n";
      return 1;
    }
    return 0;
  }
  out << acl;
  return 0;
}

int RunPasswd(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::string file;
  std::optional<std::string> user_option, password_option, users_option;
  bool service = false;
  CLI::App app;
  app.add_option("--file", file)->required();
  app.add_option("--user", user_option);
  app.add_option("--password", password_option);
  app.add_option("--users", users_option);
  app.add_flag("--service", service);
  auto usage = [&](const std::string& message) {
    err << "meterhub mqtt passwd: " << message << "\n" << kUsage;
    return 2;
  };
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) return usage(s.message());
  if (user_option.has_value() == users_option.has_value()) return usage("give exactly one of --user and --users");

  // (user, password given?) in input order; generated passwords are printed.
  std::vector<std::pair<std::string, std::string>> users;
  std::vector<bool> generated;
  auto add = [&](const std::string& user, const std::string& where) -> Status {
    if (Status s = CheckUserName(user); !s.ok()) return s.WithContext(where);
    if (!service && !IsValidMeterId(user)) {
      return InvalidArgument(where + ": \"" + user + "\" is not a valid device id (use --service for a service user)");
    }
    users.emplace_back(user, "");
    return Status::Ok();
  };
  if (user_option) {
    if (Status s = add(*user_option, "--user"); !s.ok()) return usage(s.message());
    if (password_option) users.back().second = *password_option;
  } else {
    if (password_option) return usage("--password goes with --user, not --users");
    const std::string& list_path = *users_option;
    std::ifstream list(list_path);
    if (!list) return usage("cannot open " + list_path);
    std::string line;
    for (int number = 1; std::getline(list, line); ++number) {
      const std::string user(TrimBlanks(line));
      if (user.empty() || user[0] == '#') continue;
      if (Status s = add(user, list_path + ":" + std::to_string(number)); !s.ok()) return usage(s.message());
    }
  }
  std::vector<std::pair<std::string, std::string>> hashes;
  for (auto& [user, password] : users) {
    generated.push_back(password.empty());
    if (password.empty()) {
      auto fresh = NewDevicePassword();
      if (!fresh.ok()) {
        err << "meterhub mqtt passwd: " << fresh.status().message() << "\n";
        return 1;
      }
      password = *fresh;
    }
    auto salt = crypto::RandomBytes(12);
    auto hash = salt.ok() ? MosquittoPasswordHash(password, *salt) : Result<std::string>(salt.status());
    if (!hash.ok()) {
      err << "meterhub mqtt passwd: " << hash.status().message() << "\n";
      return 1;
    }
    hashes.emplace_back(user, *hash);
  }
  if (Status s = UpsertPasswordFile(file, hashes); !s.ok()) {
    err << "meterhub mqtt passwd: " << s.message() << "\n";
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  for (size_t i = 0; i < users.size(); ++i) {
    if (generated[i]) out << users[i].first << "," << users[i].second << "\n";
  }
  return 0;
}

}  // namespace

Result<std::string> MosquittoPasswordHash(std::string_view password, std::span<const uint8_t> salt, int iterations) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes hash, crypto::Pbkdf2Sha512(password, salt, iterations, 64));
  return "$7$" + std::to_string(iterations) + "$" + crypto::Base64Encode(salt) + "$" + crypto::Base64Encode(hash);
}

Result<std::string> NewDevicePassword() {
  MH_ASSIGN_OR_RETURN(crypto::Bytes random, crypto::RandomBytes(24));
  return crypto::Base64Encode(random);
}

std::string MosquittoAcl(const std::vector<std::string>& service_users) {
  std::string acl =
      "# Mosquitto ACL written by `meterhub mqtt acl` (SPEC 5). Reload: SIGHUP to the broker.\n"
      "# Service users (the daemon): every device topic.\n";
  for (const std::string& user : service_users) acl += "user " + user + "\ntopic readwrite meters/#\n";
  acl +=
      "\n# Every device, authenticated with its id as user name (%u): publish on its own uplink\n"
      "# topics and read its own commands, nothing else.\n";
  for (std::string_view suffix : ingest::kUplinkSuffixes) {
    acl += "pattern write meters/+/%u/" + std::string(suffix) + "\n";
  }
  acl += "pattern read meters/+/%u/" + std::string(ingest::kCommandSuffix) + "\n";
  return acl;
}

Status UpsertPasswordFile(const std::string& path, const std::vector<std::pair<std::string, std::string>>& user_hashes) {
  std::map<std::string, std::string> pending;
  for (const auto& [user, hash] : user_hashes) {
    MH_RETURN_IF_ERROR(CheckUserName(user));
    pending[user] = hash;
  }
  std::string text;
  {
    std::ifstream in(path);
    std::string line;
    while (in && std::getline(in, line)) {
      const auto colon = line.find(':');
      auto it = colon == std::string::npos ? pending.end() : pending.find(line.substr(0, colon));
      if (it != pending.end()) {
        text += it->first + ":" + it->second + "\n";
        pending.erase(it);
      } else {
        text += line + "\n";
      }
    }
  }
  for (const auto& [user, hash] : user_hashes) {
    if (pending.erase(user)) text += user + ":" + hash + "\n";
  }
  // The broker runs as its own user (Debian: mosquitto) and must read the file: keep an existing
  // file's owner and mode, else owner-writable and group-readable (chgrp it to the broker's group).
  struct stat existing {};
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    if (!(out << text) || !out.flush()) return Unavailable("cannot write " + temp);
  }
  ::chmod(temp.c_str(), exists ? (existing.st_mode & 07777) : 0640);
  if (exists && ::chown(temp.c_str(), existing.st_uid, existing.st_gid) != 0) {
    // Not permitted for a non-root caller on another's file: the mode is still kept.
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) return Unavailable("cannot replace " + path);
  return Status::Ok();
}

int RunMqttCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
    (argv.empty() ? err : out) << kUsage;
    return argv.empty() ? 2 : 0;
  }
  if (argv[0] == "acl") return RunAcl(argv, out, err);
  if (argv[0] == "passwd") return RunPasswd(argv, out, err);
  err << "meterhub mqtt: unknown command \"" << argv[0] << "\"\n" << kUsage;
  return 2;
}

}  // namespace mh::app
