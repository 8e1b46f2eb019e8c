#include "app/broker_auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "app/config.h"
#include "app/dynsec.h"
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
    "       meterhub mqtt passwd --config FILE (--user ID [--password P] [--service] | --users IDS.txt)\n"
    "       meterhub mqtt passwd --dynsec-file DYNSEC.json (--user ID [--password P] | --users IDS.txt)\n"
    "       meterhub mqtt revoke --config FILE (--user ID | --users IDS.txt)\n"
    "Writes Mosquitto's ACL (each device: its own uplink topics and commands only; service users:\n"
    "meters/#) and adds or replaces users in a Mosquitto password file. A generated password is\n"
    "printed once as ID,PASSWORD. Send the broker SIGHUP to reload both files.\n"
    "With --config and [mqtt] provisioning = \"dynsec\", devices are added to and revoked from the\n"
    "broker's dynamic-security plugin at run time instead (no file, no signal). --dynsec-file writes\n"
    "devices into the plugin's JSON config while the broker is stopped (a large fleet's first load).\n";

// A usage error of `meterhub mqtt <verb>`: the message and the usage, exit 2.
int UsageError(std::ostream& err, const char* verb, const std::string& message) {
  err << "meterhub mqtt " << verb << ": " << message << "\n" << kUsage;
  return 2;
}

int RunAcl(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::string service_users = "meterhub";
  std::optional<std::string> out_path;
  CLI::App app;
  app.add_option("--service-users", service_users);
  app.add_option("--out", out_path);
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) {
    return UsageError(err, "acl", s.message());
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

// The users of --user ID or --users LIST (one per line, # comments): device ids unless `service`.
Result<std::vector<std::string>> UsersOf(const std::optional<std::string>& user, const std::optional<std::string>& list_path,
                                         bool service) {
  if (user.has_value() == list_path.has_value()) return InvalidArgument("give exactly one of --user and --users");
  std::vector<std::string> users;
  auto add = [&](const std::string& name, const std::string& where) -> Status {
    if (Status s = CheckUserName(name); !s.ok()) return s.WithContext(where);
    if (!service && !IsValidMeterId(name)) {
      return InvalidArgument(where + ": \"" + name + "\" is not a valid device id (use --service for a service user)");
    }
    users.push_back(name);
    return Status::Ok();
  };
  if (user) {
    MH_RETURN_IF_ERROR(add(*user, "--user"));
    return users;
  }
  std::ifstream list(*list_path);
  if (!list) return InvalidArgument("cannot open " + *list_path);
  std::string line;
  for (int number = 1; std::getline(list, line); ++number) {
    const std::string name(TrimBlanks(line));
    if (name.empty() || name[0] == '#') continue;
    MH_RETURN_IF_ERROR(add(name, *list_path + ":" + std::to_string(number)));
  }
  return users;
}

// The dynsec connection of `--config FILE` (whose [mqtt] provisioning must be "dynsec").
Result<std::unique_ptr<DynsecClient>> DynsecOfConfig(const std::string& path) {
  MH_ASSIGN_OR_RETURN(Config config, LoadConfig(path));
  if (config.mqtt.provisioning != "dynsec") {
    return InvalidArgument(path + ": mqtt.provisioning is \"" + config.mqtt.provisioning +
                           "\", not \"dynsec\" (file mode: meterhub mqtt passwd --file)");
  }
  MH_ASSIGN_OR_RETURN(DynsecOptions options, DynsecOptionsOf(config));
  return DynsecClient::Connect(options);
}

int RunPasswd(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::optional<std::string> file, config, dynsec_file, user_option, password_option, users_option;
  bool service = false;
  CLI::App app;
  app.add_option("--file", file);
  app.add_option("--dynsec-file", dynsec_file);
  app.add_option("--config", config);
  app.add_option("--user", user_option);
  app.add_option("--password", password_option);
  app.add_option("--users", users_option);
  app.add_flag("--service", service);
  auto usage = [&](const std::string& message) { return UsageError(err, "passwd", message); };
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) return usage(s.message());
  if (!file && !config && !dynsec_file) return usage("missing required option --file");
  if ((file ? 1 : 0) + (config ? 1 : 0) + (dynsec_file ? 1 : 0) > 1) {
    return usage(dynsec_file ? "give --file (password file), --config (dynsec) or --dynsec-file, only one"
                             : "give --file (password file) or --config (dynsec), not both");
  }
  if (dynsec_file && service) return usage("--service goes with --config (the plugin's service role), not --dynsec-file");
  if (password_option && users_option) return usage("--password goes with --user, not --users");
  Result<std::vector<std::string>> names = UsersOf(user_option, users_option, service);
  if (!names.ok()) return usage(names.status().message());

  // (user, password) in input order; generated passwords are printed.
  std::vector<std::pair<std::string, std::string>> users;
  std::vector<bool> generated;
  for (const std::string& name : *names) {
    users.emplace_back(name, password_option.value_or(""));
    generated.push_back(users.back().second.empty());
    if (!generated.back()) continue;
    auto fresh = NewDevicePassword();
    if (!fresh.ok()) {
      err << "meterhub mqtt passwd: " << fresh.status().message() << "\n";
      return 1;
    }
    users.back().second = *fresh;
  }
  Status written;
  if (dynsec_file) {
    written = WriteDynsecDevices(*dynsec_file, users);
  } else if (config) {
    auto dynsec = DynsecOfConfig(*config);
    if (!dynsec.ok()) {
      err << "meterhub mqtt passwd: " << dynsec.status().message() << "\n";
      return dynsec.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    written = service ? (*dynsec)->AddServiceUser(users.front().first, users.front().second) : (*dynsec)->AddDevices(users);
    for (size_t i = 1; service && written.ok() && i < users.size(); ++i) {
      written = (*dynsec)->AddServiceUser(users[i].first, users[i].second);
    }
  } else {
    std::vector<std::pair<std::string, std::string>> hashes;
    for (const auto& [user, password] : users) {
      auto salt = crypto::RandomBytes(12);
      auto hash = salt.ok() ? MosquittoPasswordHash(password, *salt) : Result<std::string>(salt.status());
      if (!hash.ok()) {
        err << "meterhub mqtt passwd: " << hash.status().message() << "\n";
        return 1;
      }
      hashes.emplace_back(user, *hash);
    }
    written = UpsertPasswordFile(*file, hashes);
  }
  if (!written.ok()) {
    err << "meterhub mqtt passwd: " << written.message() << "\n";
    return written.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  for (size_t i = 0; i < users.size(); ++i) {
    if (generated[i]) out << users[i].first << "," << users[i].second << "\n";
  }
  return 0;
}

int RunRevoke(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  std::string config;
  std::optional<std::string> user_option, users_option;
  CLI::App app;
  app.add_option("--config", config)->required();
  app.add_option("--user", user_option);
  app.add_option("--users", users_option);
  auto usage = [&](const std::string& message) { return UsageError(err, "revoke", message); };
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) return usage(s.message());
  Result<std::vector<std::string>> names = UsersOf(user_option, users_option, false);
  if (!names.ok()) return usage(names.status().message());
  auto dynsec = DynsecOfConfig(config);
  Status revoked = dynsec.ok() ? (*dynsec)->RevokeDevices(*names) : dynsec.status();
  if (!revoked.ok()) {
    err << "meterhub mqtt revoke: " << revoked.message() << "\n";
    return revoked.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  out << "revoked " << names->size() << " device" << (names->size() == 1 ? "" : "s") << "\n";
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
  if (argv[0] == "revoke") return RunRevoke(argv, out, err);
  err << "meterhub mqtt: unknown command \"" << argv[0] << "\"\n" << kUsage;
  return 2;
}

}  // namespace mh::app
