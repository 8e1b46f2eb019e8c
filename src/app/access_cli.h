// `meterhub token create|list|revoke` and `meterhub user add|list|delete` (SPEC 5): API tokens and
// dashboard accounts, written straight into the configured store (the daemon may be running).
#pragma once

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace mh::app {

struct AccessArgs {
  std::string config_path;
  std::string role, name, customer, expires;  // token create; role/customer also user add
  std::string id;                             // token revoke
  std::string username;                       // user add / delete
  CLI::App* token = nullptr;                  // the parsed subcommands
  CLI::App* user = nullptr;
};

// Declares the `token` and `user` subcommands on `app`, filling `args` when parsed.
void AddAccessCommands(CLI::App& app, AccessArgs& args);
// Whether one of them was given.
bool AccessCommandGiven(const AccessArgs& args);
// Runs the parsed command; `in` gives a new user's password (its first line). Returns the exit
// code: 0 done, 2 bad usage or input, 1 store failure.
int RunAccessCommand(const AccessArgs& args, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace mh::app
