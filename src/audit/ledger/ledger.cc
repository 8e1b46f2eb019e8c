#include "audit/ledger/ledger.h"

#include <map>
#include <tuple>

#include "core/meter_id.h"
#include "crypto/ed25519.h"

namespace mh::audit::ledger {
namespace {

constexpr char kHeadDomain[] = "meterhub-ledger-sth-v1";
constexpr uint8_t kEntryFormat = 0x01;

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}
void PutBytes(std::string& out, std::string_view bytes) {
  PutU32(out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
}

std::string KeyText(const EntryKey& key) {
  return "(" + key.meter_id + ", window " + std::to_string(key.window) + ", seq " + std::to_string(key.seq) + ")";
}

store::LedgerKey StoreKey(const EntryKey& key) { return store::LedgerKey{key.meter_id, key.window, key.seq}; }

Entry EntryOf(const store::LedgerLeaf& leaf) {
  return Entry{EntryKey{leaf.key.meter_id, leaf.key.window, leaf.key.seq}, leaf.kind, leaf.payload};
}


Result<std::string> RawPublicKey(std::string_view public_key) {
  if (public_key.size() == crypto::kEd25519PublicKeySize) return std::string(public_key);
  if (public_key.size() == 2 * crypto::kEd25519PublicKeySize) {
    Result<crypto::Bytes> bytes = crypto::HexDecode(public_key);
    if (bytes.ok()) return std::string(bytes->begin(), bytes->end());
  }
  return InvalidArgument("ledger: a public key is 32 bytes or 64 hex chars");
}

bool IsKindChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

Result<std::vector<Hash>> StoreNodeReader::ReadNodes(std::span<const NodeId> ids) {
  std::vector<store::LedgerNodeId> wanted;
  wanted.reserve(ids.size());
  for (const NodeId& id : ids) wanted.push_back(store::LedgerNodeId{id.level, id.index});
  MH_ASSIGN_OR_RETURN(std::vector<std::string> hashes, store_.ReadNodes(wanted));
  std::vector<Hash> out;
  out.reserve(hashes.size());
  for (size_t i = 0; i < hashes.size(); ++i) {
    Result<Hash> hash = HashFromBytes(hashes[i]);
    if (!hash.ok()) {
      return Internal("ledger: stored node level " + std::to_string(ids[i].level) + " index " +
                      std::to_string(ids[i].index) + ": " + hash.status().message());
    }
    out.push_back(*hash);
  }
  return out;
}

Status CheckEntry(const Entry& entry) {
  if (!IsValidMeterId(entry.key.meter_id)) {
    return InvalidArgument("meter_id '" + entry.key.meter_id + "' is not 1-32 chars of [A-Za-z0-9_-]");
  }
  if (entry.key.window < 0) return InvalidArgument("window " + std::to_string(entry.key.window) + " is negative");
  if (entry.key.seq < 0) return InvalidArgument("seq " + std::to_string(entry.key.seq) + " is negative");
  if (entry.kind.empty() || entry.kind.size() > kMaxKindBytes) {
    return InvalidArgument("kind must be 1-" + std::to_string(kMaxKindBytes) + " chars");
  }
  for (char c : entry.kind) {
    if (!IsKindChar(c)) return InvalidArgument("kind '" + entry.kind + "' has a char outside [A-Za-z0-9_.-]");
  }
  if (entry.payload.size() > kMaxPayloadBytes) {
    return InvalidArgument("payload of " + std::to_string(entry.payload.size()) + " bytes is over the limit of " +
                           std::to_string(kMaxPayloadBytes));
  }
  return Status::Ok();
}

std::string EntryBytes(const Entry& entry) {
  std::string out;
  out.reserve(1 + 4 + entry.key.meter_id.size() + 16 + 4 + entry.kind.size() + 4 + entry.payload.size());
  out.push_back(static_cast<char>(kEntryFormat));
  PutBytes(out, entry.key.meter_id);
  PutU64(out, static_cast<uint64_t>(entry.key.window));
  PutU64(out, static_cast<uint64_t>(entry.key.seq));
  PutBytes(out, entry.kind);
  PutBytes(out, entry.payload);
  return out;
}

Hash EntryLeafHash(const Entry& entry) { return HashLeaf(crypto::AsBytes(EntryBytes(entry))); }

std::string HeadSignatureInput(int64_t size, std::string_view root_hash, int64_t timestamp_ms) {
  std::string out(kHeadDomain);
  out.push_back('\0');
  PutU64(out, static_cast<uint64_t>(size));
  PutU64(out, static_cast<uint64_t>(timestamp_ms));
  out.append(root_hash);
  return out;
}

Status VerifyHead(const SignedTreeHead& head, std::string_view public_key) {
  const std::string name = "tree head of size " + std::to_string(head.size);
  MH_ASSIGN_OR_RETURN(std::string key, RawPublicKey(public_key));
  if (head.size < 0) return InvalidArgument(name + ": negative size");
  if (head.root_hash.size() != 32) return InvalidArgument(name + ": root hash is not 32 bytes");
  if (head.signature.size() != crypto::kEd25519SignatureSize) return InvalidArgument(name + ": signature is not 64 bytes");
  const std::string input = HeadSignatureInput(head.size, head.root_hash, head.timestamp_ms);
  const Status status = crypto::Ed25519Verify(crypto::AsBytes(key), crypto::AsBytes(input), crypto::AsBytes(head.signature));
  if (!status.ok()) return Unauthenticated(name + ": signature does not verify");
  return Status::Ok();
}

Result<std::unique_ptr<Ledger>> Ledger::Open(store::LedgerStore& store, const Clock& clock,
                                             std::string_view private_key) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes public_bytes, crypto::Ed25519PublicKey(crypto::AsBytes(private_key)));
  std::string public_key(public_bytes.begin(), public_bytes.end());
  MH_ASSIGN_OR_RETURN(std::optional<std::string> recorded, store.GetMeta("public_key"));
  if (recorded && *recorded != public_key) {
    return FailedPrecondition("ledger: the store's heads are signed with public key " +
                              crypto::HexEncode(crypto::AsBytes(*recorded)) + ", not this key's " +
                              crypto::HexEncode(public_bytes));
  }
  if (!recorded) MH_RETURN_IF_ERROR(store.PutMeta("public_key", public_key));
  std::unique_ptr<Ledger> ledger(new Ledger(store, clock, std::string(private_key), std::move(public_key)));
  {
    std::lock_guard<std::mutex> lock(ledger->mutex_);
    MH_RETURN_IF_ERROR(ledger->LoadRange());
    MH_ASSIGN_OR_RETURN(std::optional<store::LedgerTreeHead> head, store.LatestHead());
    if (head && head->size > ledger->range_.size()) {
      return FailedPrecondition("ledger: the store holds " + std::to_string(ledger->range_.size()) +
                                " entries but its latest signed head covers " + std::to_string(head->size) +
                                ": entries were deleted");
    }
  }
  return ledger;
}

Status Ledger::LoadRange() {
  MH_ASSIGN_OR_RETURN(int64_t size, store_.Size());
  StoreNodeReader nodes(store_);
  const std::vector<NodeId> ids = RangeNodes(0, size);
  MH_ASSIGN_OR_RETURN(std::vector<Hash> hashes, nodes.ReadNodes(ids));
  range_ = CompactRange(size, std::move(hashes));
  return Status::Ok();
}

int64_t Ledger::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return range_.size();
}

Result<int64_t> Ledger::Append(const Entry& entry) {
  MH_ASSIGN_OR_RETURN(std::vector<int64_t> indices, AppendBatch({entry}));
  return indices[0];
}

Result<std::vector<int64_t>> Ledger::AppendBatch(const std::vector<Entry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    MH_RETURN_IF_ERROR(CheckEntry(entries[i]).WithContext("ledger: entry " + std::to_string(i) + " " +
                                                          KeyText(entries[i].key)));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Result<std::vector<int64_t>> result = TryAppend(entries);
  if (result.ok() || result.status().code() != StatusCode::kFailedPrecondition) return result;
  // Another writer appended to the store: catch up with it once and try again.
  MH_RETURN_IF_ERROR(LoadRange());
  return TryAppend(entries);
}

Result<std::vector<int64_t>> Ledger::TryAppend(const std::vector<Entry>& entries) {
  store::LedgerAppend batch;
  std::vector<int64_t> out(entries.size(), -1);
  CompactRange range = range_;
  std::map<std::tuple<std::string, int64_t, int64_t>, size_t> in_batch;  // key -> entry position
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const auto key = std::make_tuple(e.key.meter_id, e.key.window, e.key.seq);
    if (auto it = in_batch.find(key); it != in_batch.end()) {
      const Entry& first = entries[it->second];
      if (first.kind != e.kind || first.payload != e.payload) {
        return AlreadyExists("ledger: entry " + KeyText(e.key) + " twice in one batch with other bytes");
      }
      out[i] = out[it->second];
      continue;
    }
    in_batch[key] = i;
    MH_ASSIGN_OR_RETURN(std::optional<store::LedgerLeaf> existing, store_.FindByKey(StoreKey(e.key)));
    if (existing) {
      if (existing->kind != e.kind || existing->payload != e.payload) {
        return AlreadyExists("ledger: entry " + KeyText(e.key) + " already at index " + std::to_string(existing->index) +
                             " with other bytes");
      }
      out[i] = existing->index;
      continue;
    }
    store::LedgerLeaf leaf;
    leaf.index = range.size();
    leaf.key = StoreKey(e.key);
    leaf.kind = e.kind;
    leaf.payload = e.payload;
    const Hash hash = EntryLeafHash(e);
    leaf.leaf_hash = HashBytes(hash);
    out[i] = leaf.index;
    batch.leaves.push_back(std::move(leaf));
    range.Append(hash, [&batch](const NodeId& id, const Hash& node) {
      if (id.level > 0) batch.nodes.push_back(store::LedgerNode{id.level, id.index, HashBytes(node)});
    });
  }
  if (batch.leaves.empty()) return out;
  MH_ASSIGN_OR_RETURN(std::vector<int64_t> stored, store_.Append(batch));
  for (size_t i = 0; i < stored.size(); ++i) {
    if (stored[i] != batch.leaves[i].index) {
      return Internal("ledger: the store put entry " + KeyText(entries[i].key) + " at index " +
                      std::to_string(stored[i]) + ", not " + std::to_string(batch.leaves[i].index));
    }
  }
  range_ = std::move(range);
  return out;
}

Result<SignedTreeHead> Ledger::Head() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Another writer may have appended to the same store: sign what is there.
  MH_ASSIGN_OR_RETURN(int64_t stored, store_.Size());
  if (stored != range_.size()) MH_RETURN_IF_ERROR(LoadRange());
  MH_ASSIGN_OR_RETURN(std::optional<store::LedgerTreeHead> latest, store_.LatestHead());
  if (latest && latest->size == range_.size()) {
    return SignedTreeHead{latest->size, latest->root_hash, latest->timestamp_ms, latest->signature};
  }
  if (latest && latest->size > range_.size()) {
    return FailedPrecondition("ledger: the latest signed head covers " + std::to_string(latest->size) +
                              " entries, more than the " + std::to_string(range_.size()) + " stored");
  }
  SignedTreeHead head;
  head.size = range_.size();
  head.root_hash = HashBytes(range_.Root());
  head.timestamp_ms = clock_.NowMillis();
  // Heads are ordered by size; keep their times in the same order even if the clock steps back.
  if (latest && head.timestamp_ms < latest->timestamp_ms) head.timestamp_ms = latest->timestamp_ms;
  const std::string input = HeadSignatureInput(head.size, head.root_hash, head.timestamp_ms);
  MH_ASSIGN_OR_RETURN(crypto::Bytes signature,
                      crypto::Ed25519Sign(crypto::AsBytes(private_key_), crypto::AsBytes(input)));
  head.signature.assign(signature.begin(), signature.end());
  MH_RETURN_IF_ERROR(store_.PutHead(store::LedgerTreeHead{head.size, head.root_hash, head.timestamp_ms, head.signature}));
  return head;
}

Result<InclusionProof> Ledger::ProveInclusion(int64_t index, int64_t tree_size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (tree_size > range_.size()) {
    return InvalidArgument("ledger: tree size " + std::to_string(tree_size) + " is beyond the " +
                           std::to_string(range_.size()) + " entries");
  }
  StoreNodeReader nodes(store_);
  return MakeInclusionProof(nodes, index, tree_size);
}

Result<ConsistencyProof> Ledger::ProveConsistency(int64_t old_size, int64_t new_size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (new_size > range_.size()) {
    return InvalidArgument("ledger: tree size " + std::to_string(new_size) + " is beyond the " +
                           std::to_string(range_.size()) + " entries");
  }
  StoreNodeReader nodes(store_);
  return MakeConsistencyProof(nodes, old_size, new_size);
}

void Ledger::RecheckAllRows() {
  std::lock_guard<std::mutex> lock(mutex_);
  present_below_ = 0;
}

Result<std::vector<Entry>> Ledger::VerifiedEntriesOf(const std::string& meter_id, const SignedTreeHead& head) {
  MH_RETURN_IF_ERROR(VerifyHead(head, public_key_));
  MH_ASSIGN_OR_RETURN(Hash root, HashFromBytes(head.root_hash));
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string in_head = " (tree head of size " + std::to_string(head.size) + ")";
  if (head.size > range_.size()) {
    return Unauthenticated("ledger: only " + std::to_string(range_.size()) + " entries stored" + in_head);
  }
  // A deleted row is invisible to a per-meter read: look for holes in the log first.
  if (head.size > present_below_) {
    MH_ASSIGN_OR_RETURN(std::vector<int64_t> missing, store_.MissingLeaves(present_below_, head.size, 1));
    if (!missing.empty()) {
      present_below_ = 0;
      return Unauthenticated("ledger: entry at index " + std::to_string(missing[0]) + " is missing" + in_head);
    }
    present_below_ = head.size;
  }
  MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store_.LeavesOfMeter(meter_id, head.size));
  StoreNodeReader nodes(store_);
  std::vector<Entry> out;
  out.reserve(leaves.size());
  for (store::LedgerLeaf& leaf : leaves) {
    Entry entry = EntryOf(leaf);
    const std::string name = "ledger: entry at index " + std::to_string(leaf.index) + " " + KeyText(entry.key);
    Result<InclusionProof> proof = MakeInclusionProof(nodes, leaf.index, head.size);
    if (!proof.ok()) return Unauthenticated(name + ": no inclusion proof: " + proof.status().message() + in_head);
    if (!VerifyInclusion(EntryLeafHash(entry), *proof, root).ok()) {
      return Unauthenticated(name + " does not match the signed tree" + in_head);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace mh::audit::ledger
