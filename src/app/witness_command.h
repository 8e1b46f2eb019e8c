// `meterhub ledger witness --keep DIR (--db PATH | --url URL --token T) [--public-key HEX]`: one
// round of a ledger witness (src/audit/ledger/witness.h) against a database file or a running
// daemon's REST API (GET /api/v1/audit/ledger/head, /heads, /proofs/consistency). Prints
// `consistent size=N` (exit 0) or one line per failure (exit 1); bad usage or an unreadable source
// is exit 2 with a message.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "audit/ledger/witness.h"

namespace mh::app {

struct WitnessArgs {
  std::string keep;
  std::string db;
  std::string url;
  std::string token;
  std::string public_key;  // empty: the one pinned in --keep (or pinned now)
};

// A daemon's REST API as a head source (bearer `token`: admin, auditor or supervisor).
std::unique_ptr<audit::ledger::HeadSource> NewHttpHeadSource(const std::string& url, const std::string& token);

int RunWitness(const WitnessArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mh::app
