// The offline `meterhub audit` tools (SPEC 4, fixed contract):
//   meterhub audit verify --ledger LEDGER_DIR_OR_DB --meter ID --code FIXED.bin --dynamic DYNAMIC.txt
//                         --compare TABLE.txt [--tolerance 1] [--explain]
// prints `pass`, or one line per alarm (`code-alarm line N`, `time-alarm window W`, and
// `ledger-alarm` when the ledger's own check fails); exit 0 pass, 1 alarm, 2 bad usage or input.
//   meterhub audit example --out DIR [--attack none|code|replay|bypass|ledger]
// writes a worked example (the seed's metering day among others) to try `verify` on.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mh::audit {

// argv = the command line after `meterhub audit`; argv[0] is the verb.
int RunAuditCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

const char* AuditUsage();

}  // namespace mh::audit
