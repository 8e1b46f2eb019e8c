// PROVISIONAL: a ledger directory holding the audit's entries as one JSON object per line
// (records.jsonl), read through the LedgerView seam, so `meterhub audit verify` runs before the
// verified Merkle ledger is wired in. It has no proofs: nothing here detects a changed row except
// the time and code checks themselves. Format in docs/formats/audit.md.
#pragma once

#include <string>
#include <vector>

#include "audit/ledger_view.h"

namespace mh::audit {

inline constexpr char kRecordsFileName[] = "records.jsonl";

class JsonlLedger final : public LedgerView {
 public:
  // `path` is a directory holding records.jsonl, or a .jsonl file. Errors name file:line.
  static Result<JsonlLedger> Open(const std::string& path);
  Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) override;
  const std::vector<LedgerEntry>& entries() const { return entries_; }

 private:
  std::string file_;
  std::vector<LedgerEntry> entries_;
  std::vector<int> line_of_;  // the file line of each entry
};

// One line per entry: {"meter":..,"window":..,"seq":..,"kind":..,"payload":..}.
std::string FormatJsonl(const std::vector<LedgerEntry>& entries);

}  // namespace mh::audit
