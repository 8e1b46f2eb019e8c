// A witness of the ledger (in the way of Certificate Transparency's gossip, RFC 9162 8.2): it keeps
// every signed tree head it has seen in a directory and checks, each round, that the newest head
// the ledger serves extends every one of them (a consistency proof per kept head) and carries the
// operator's signature. A rewritten history is then caught by anyone who kept an earlier head,
// not only by the holder of the operator's public key.
//
// `meterhub ledger witness --keep DIR (--db PATH | --url URL --token T)`: DIR holds heads.jsonl
// (the heads kept, in the heads.jsonl format of docs/formats/ledger.md, by size) and public_key
// (the key pinned at the first round, or given with --public-key).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/ledger/merkle.h"
#include "base/status.h"
#include "store/ledger_store.h"

namespace mh::audit::ledger {

// Where a witness reads heads and proofs. Unavailable means "cannot reach it now" (the round
// stops); any other error about a head or a proof is evidence against the ledger.
class HeadSource {
 public:
  virtual ~HeadSource() = default;
  // The latest signed head (a daemon signs one covering every entry first); nullopt when none.
  virtual Result<std::optional<store::LedgerTreeHead>> Latest() = 0;
  // Heads of size >= since, by size, at most `limit`.
  virtual Result<std::vector<store::LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) = 0;
  virtual Result<ConsistencyProof> Consistency(int64_t old_size, int64_t new_size) = 0;
  // The key the ledger says it signs with (32 raw bytes): pinned at the first round.
  virtual Result<std::string> PublicKey() = 0;
};

// A ledger database file (the daemon's meterhub.db), read-only: heads from its ledger_heads,
// proofs from its stored subtree hashes. InvalidArgument when it holds no ledger.
Result<std::unique_ptr<HeadSource>> OpenDatabaseHeadSource(const std::string& path);

struct WitnessRound {
  int64_t newest_size = 0;
  int kept = 0;    // heads kept after the round
  int added = 0;   // of which new this round
  // "inconsistent kept=SIZE newest=SIZE", "bad-signature size=SIZE"; empty: consistent.
  std::vector<std::string> failures;
};

// One round against `source`, keeping heads in `keep_dir` (created when missing). `public_key_hex`
// (64 hex) overrides the pinned key. Errors (exit 2): an unreadable keep directory or source, a
// malformed kept file, a bad --public-key.
Result<WitnessRound> RunWitnessRound(HeadSource& source, const std::string& keep_dir,
                                     const std::optional<std::string>& public_key_hex);

// The head as one heads.jsonl line (no newline), and back; InvalidArgument naming the field.
std::string HeadLine(const store::LedgerTreeHead& head);
Result<store::LedgerTreeHead> ParseHeadLine(const std::string& line);

}  // namespace mh::audit::ledger
