// The offline `meterhub audit` tools (SPEC 4, fixed contract):
//   meterhub audit verify --ledger LEDGER_DIR_OR_DB --meter ID --code FIXED.bin --dynamic DYNAMIC.txt
//                         --compare TABLE.txt [--tolerance 1] [--explain]
// prints `pass`, or one line per alarm (`code-alarm line N`, `time-alarm window W`, and
// `ledger-alarm` when the ledger's own check fails); exit 0 pass, 1 alarm, 2 bad usage or input.
//   meterhub audit example --out DIR [--attack none|code|replay|bypass|ledger]
// writes a worked example (the seed's metering day among others) to try `verify` on.
//   meterhub audit export --meter ID --out DIR [--config FILE | --db PATH [--key-file PATH]]
// writes the meter's segments (FIXED.bin, DYNAMIC.txt, TABLE.txt) and the ledger snapshot
// (DIR/ledger/) from a running or stopped daemon's database, so `verify` runs on DIR offline.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"

namespace mh::audit {

// Where a daemon keeps the audit: its database file and ledger key file (may not exist).
struct AuditFiles {
  std::string db;
  std::string key_file;
};
// Reads a daemon config file (`--config`); main.cc supplies it (the config lives in the app).
using AuditConfigResolver = std::function<Result<AuditFiles>(const std::string& config_path)>;

// argv = the command line after `meterhub audit`; argv[0] is the verb.
int RunAuditCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                    const AuditConfigResolver& resolve_config = {});

const char* AuditUsage();

}  // namespace mh::audit
