#include "audit/ledger_view.h"

#include "crypto/crypto.h"

namespace mh::audit {
namespace {

std::string LeafHash(const LedgerEntry& e) {
  std::string bytes = e.key.meter_id + '\0' + std::to_string(e.key.window) + '\0' + std::to_string(e.key.seq) + '\0' +
                      e.kind + '\0' + e.payload;
  return crypto::HexEncode(crypto::Sha256(bytes));
}

}  // namespace

Status InMemoryLedger::AppendAll(const std::vector<LedgerEntry>& entries) {
  for (const LedgerEntry& e : entries) {
    auto it = entries_.find(e.key);
    if (it != entries_.end() && !(it->second.entry == e)) return Append(e);  // the AlreadyExists, nothing written
  }
  for (const LedgerEntry& e : entries) MH_RETURN_IF_ERROR(Append(e));
  return Status::Ok();
}

Status InMemoryLedger::Append(const LedgerEntry& entry) {
  auto it = entries_.find(entry.key);
  if (it != entries_.end()) {
    if (it->second.entry == entry) return Status::Ok();
    return AlreadyExists("ledger: another entry already holds (" + entry.key.meter_id + ", " +
                         std::to_string(entry.key.window) + ", " + std::to_string(entry.key.seq) + ")");
  }
  entries_.emplace(entry.key, Stored{entry, LeafHash(entry)});
  return Status::Ok();
}

Result<std::vector<LedgerRecord>> InMemoryLedger::RecordsOf(const std::string& meter_id) {
  std::vector<LedgerRecord> out;
  for (auto it = entries_.lower_bound(EntryKey{meter_id, INT64_MIN, INT64_MIN});
       it != entries_.end() && it->first.meter_id == meter_id; ++it) {
    const Stored& s = it->second;
    if (verify_ && LeafHash(s.entry) != s.leaf_hash) {
      return Status(kLedgerIntegrityError, "ledger: entry (" + meter_id + ", " + std::to_string(it->first.window) + ", " +
                                               std::to_string(it->first.seq) + ") does not match its leaf hash");
    }
    MH_ASSIGN_OR_RETURN(LedgerRecord r, DecodeEntry(s.entry));
    out.push_back(std::move(r));
  }
  return out;
}

bool InMemoryLedger::Tamper(const EntryKey& key, std::string payload) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  it->second.entry.payload = std::move(payload);
  return true;
}

std::vector<LedgerEntry> InMemoryLedger::EntriesOf(const std::string& meter_id) const {
  std::vector<LedgerEntry> out;
  for (auto it = entries_.lower_bound(EntryKey{meter_id, INT64_MIN, INT64_MIN});
       it != entries_.end() && it->first.meter_id == meter_id; ++it) {
    out.push_back(it->second.entry);
  }
  return out;
}

void LedgerUploader::Upload(const meter::audit::SignalEvent& event) {
  if (!ledger_->Append(EncodeSignalEvent(event)).ok()) ++failures_;
}

}  // namespace mh::audit
