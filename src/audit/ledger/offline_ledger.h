// The offline `meterhub ledger` tools: `verify` checks a whole ledger history (every leaf from its
// entry bytes, every signed head's root and signature, consistency between consecutive heads) in
// a SQLite database or an exported directory; `export` writes the directory format
// (docs/formats/ledger.md).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mh::audit::ledger {

// argv = the command line after `meterhub ledger`; argv[0] is the verb, options are "--opt value"
// or "--opt=value".
//   verify --ledger PATH [--public-key HEX]: prints `ok <size> <root hex>` (the latest signed
//     head) and returns 0, or prints one line per problem and returns 1.
//   export --ledger DB --out DIR: writes entries.jsonl, heads.jsonl, head.json, public_key.
// Bad usage or an unreadable ledger: a message on `err` naming the option or file, return 2.
int RunLedgerCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

const char* LedgerUsage();

}  // namespace mh::audit::ledger
