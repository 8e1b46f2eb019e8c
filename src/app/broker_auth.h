// Per-device MQTT credentials and topic rights for Mosquitto (SPEC 5): password-file lines in
// Mosquitto 2's PBKDF2-SHA512 format and an ACL that lets each device publish only on its own
// uplink topics and read only its own commands (ingest/device_topics.h), while the daemon's
// service user reads and writes every device topic. `meterhub mqtt acl|passwd` writes them.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace mh::app {

// Mosquitto 2.0's own default iteration count (mosquitto_passwd); device passwords are 192-bit
// random tokens, so the count adds nothing against guessing and only slows every connect.
inline constexpr int kMosquittoPbkdf2Iterations = 101;

// "$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512(password, salt)>", as mosquitto_passwd
// writes it. The salt is 12 bytes in mosquitto_passwd; any length is accepted here.
Result<std::string> MosquittoPasswordHash(std::string_view password, std::span<const uint8_t> salt,
                                          int iterations = kMosquittoPbkdf2Iterations);
// A fresh device password: 24 random bytes in base64 (32 characters, never ':').
Result<std::string> NewDevicePassword();

// The ACL file: `service_users` get readwrite on meters/#; every other authenticated user
// (%u = its username = its device id) gets write on meters/+/%u/<uplink> and read on
// meters/+/%u/commands — nothing else (Mosquitto denies what no line grants).
std::string MosquittoAcl(const std::vector<std::string>& service_users);

// Adds or replaces `user:hash` lines of a Mosquitto password file, keeping every other line
// as it was; written to a temporary file and renamed over, keeping the file's owner and mode
// (new files: 0640). A user name that is
// empty or holds ':' or a line break is InvalidArgument.
Status UpsertPasswordFile(const std::string& path, const std::vector<std::pair<std::string, std::string>>& user_hashes);

// `meterhub mqtt acl [--service-users a,b] [--out FILE]` and
// `meterhub mqtt passwd --file FILE (--user ID [--password P] [--service] | --users LIST.txt)`.
// Exit 0 done, 2 bad usage or input (the message names file, line or option), 1 I/O failure.
int RunMqttCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

}  // namespace mh::app
