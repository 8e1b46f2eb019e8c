#include "audit/verified_ledger.h"

#include "base/secret_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/ledger/merkle.h"
#include "crypto/crypto.h"
#include "crypto/ed25519.h"
#include "store/memory/memory_ledger_store.h"
#include "store/store_open.h"

namespace mh::audit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ledger::Hash;

std::string Hex(std::string_view bytes) { return crypto::HexEncode(crypto::AsBytes(bytes)); }

std::string KeyText(const store::LedgerKey& k) {
  return "(" + k.meter_id + ", window " + std::to_string(k.window) + ", seq " + std::to_string(k.seq) + ")";
}

ledger::Entry EntryOfLeaf(const store::LedgerLeaf& leaf) {
  return ledger::Entry{ledger::EntryKey{leaf.key.meter_id, leaf.key.window, leaf.key.seq}, leaf.kind, leaf.payload};
}

Result<std::vector<LedgerRecord>> Decode(const std::vector<ledger::Entry>& entries) {
  std::vector<LedgerEntry> mapped;
  mapped.reserve(entries.size());
  for (const ledger::Entry& e : entries) mapped.push_back(FromLedger(e));
  return DecodeEntries(std::move(mapped));
}


// A LedgerStore whose rows can be rewritten behind the ledger's back (the simulator's and the
// tests' "altered ledger row"): reads return the altered payload, the stored leaf hash stays.
class TamperableStore final : public store::LedgerStore {
 public:
  explicit TamperableStore(std::unique_ptr<store::LedgerStore> inner) : inner_(std::move(inner)) {}
  Result<std::vector<int64_t>> Append(const store::LedgerAppend& batch) override { return inner_->Append(batch); }
  Result<int64_t> Size() override { return inner_->Size(); }
  Result<std::optional<store::LedgerLeaf>> FindByKey(const store::LedgerKey& key) override {
    MH_ASSIGN_OR_RETURN(std::optional<store::LedgerLeaf> leaf, inner_->FindByKey(key));
    if (leaf) Apply(*leaf);
    return leaf;
  }
  Result<store::LedgerLeaf> ReadLeaf(int64_t index) override {
    MH_ASSIGN_OR_RETURN(store::LedgerLeaf leaf, inner_->ReadLeaf(index));
    Apply(leaf);
    return leaf;
  }
  Result<std::vector<store::LedgerLeaf>> ReadLeaves(int64_t begin, int64_t end) override {
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, inner_->ReadLeaves(begin, end));
    for (auto& l : leaves) Apply(l);
    return leaves;
  }
  Result<std::vector<store::LedgerLeaf>> LeavesOfMeter(const std::string& meter_id, int64_t below) override {
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, inner_->LeavesOfMeter(meter_id, below));
    for (auto& l : leaves) Apply(l);
    return leaves;
  }
  Result<std::vector<int64_t>> MissingLeaves(int64_t begin, int64_t end, int64_t limit) override {
    return inner_->MissingLeaves(begin, end, limit);
  }
  Result<std::vector<std::string>> ReadNodes(const std::vector<store::LedgerNodeId>& ids) override {
    return inner_->ReadNodes(ids);
  }
  Status PutHead(const store::LedgerTreeHead& head) override { return inner_->PutHead(head); }
  Result<std::optional<store::LedgerTreeHead>> LatestHead() override { return inner_->LatestHead(); }
  Result<std::vector<store::LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    return inner_->HeadsSince(since, limit);
  }
  Status PutMeta(const std::string& name, const std::string& value) override { return inner_->PutMeta(name, value); }
  Result<std::optional<std::string>> GetMeta(const std::string& name) override { return inner_->GetMeta(name); }

  bool Tamper(const EntryKey& key, std::string payload) {
    auto found = inner_->FindByKey(store::LedgerKey{key.meter_id, key.window, key.seq});
    if (!found.ok() || !found->has_value()) return false;
    if ((*found)->payload == payload) {
      altered_.erase(key);
    } else {
      altered_[key] = std::move(payload);
    }
    return true;
  }

 private:
  void Apply(store::LedgerLeaf& leaf) const {
    if (altered_.empty()) return;
    auto it = altered_.find(EntryKey{leaf.key.meter_id, leaf.key.window, leaf.key.seq});
    if (it != altered_.end()) leaf.payload = it->second;
  }
  std::unique_ptr<store::LedgerStore> inner_;
  std::map<EntryKey, std::string> altered_;
};

// --- snapshots ---

Result<std::string> ReadText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument("cannot open '" + file.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> Unhex(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return InvalidArgument(where + ": field '" + name + "' missing or not a string");
  Result<crypto::Bytes> bytes = crypto::HexDecode(it->get<std::string>());
  if (!bytes.ok()) return InvalidArgument(where + ": field '" + name + "' is not hex");
  return std::string(bytes->begin(), bytes->end());
}

Result<int64_t> Int(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return InvalidArgument(where + ": field '" + name + "' missing or not an integer");
  return it->get<int64_t>();
}

Result<std::string> Str(const json& j, const char* name, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return InvalidArgument(where + ": field '" + name + "' missing or not a string");
  return it->get<std::string>();
}

Result<store::LedgerTreeHead> HeadFrom(const json& j, const std::string& where) {
  if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
  store::LedgerTreeHead h;
  MH_ASSIGN_OR_RETURN(h.size, Int(j, "size", where));
  MH_ASSIGN_OR_RETURN(h.root_hash, Unhex(j, "root_hash", where));
  MH_ASSIGN_OR_RETURN(h.timestamp_ms, Int(j, "timestamp_ms", where));
  MH_ASSIGN_OR_RETURN(h.signature, Unhex(j, "signature", where));
  return h;
}

class SnapshotView final : public LedgerView {
 public:
  // A ledger database (SQLite file or PostgreSQL URL): proofs from its stored nodes.
  static Result<std::unique_ptr<SnapshotView>> FromDatabase(const std::string& path,
                                                            const std::optional<std::string>& key_hex) {
    const store::StoreLocation at{path};
    Result<std::unique_ptr<store::LedgerStore>> opened = store::OpenLedgerStore(at, /*read_only=*/true);
    if (!opened.ok()) return InvalidArgument(store::Describe(at) + ": " + opened.status().message());
    auto v = std::unique_ptr<SnapshotView>(new SnapshotView());
    v->where_ = store::Describe(at);
    v->store_ = std::move(*opened);
    MH_ASSIGN_OR_RETURN(std::optional<store::LedgerTreeHead> head, v->store_->LatestHead());
    MH_ASSIGN_OR_RETURN(std::optional<std::string> key, v->store_->GetMeta("public_key"));
    if (key) v->public_key_ = *key;
    if (head) v->head_ = *head;
    v->has_head_ = head.has_value();
    MH_RETURN_IF_ERROR(v->SetKey(key_hex));
    return v;
  }

  // A directory written by `meterhub ledger export`: proofs from a tree of its leaf hashes (the
  // stored ones when present, so only the rows that were changed fail their proofs).
  static Result<std::unique_ptr<SnapshotView>> FromDirectory(const fs::path& dir,
                                                             const std::optional<std::string>& key_hex) {
    auto v = std::unique_ptr<SnapshotView>(new SnapshotView());
    v->where_ = dir.string();
    const fs::path entries = dir / "entries.jsonl";
    if (!fs::exists(entries)) {
      return InvalidArgument("'" + dir.string() + "' is not a ledger directory: no entries.jsonl (write one with `meterhub ledger export`)");
    }
    std::ifstream in(entries, std::ios::binary);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = entries.string() + ":" + std::to_string(n);
      json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
      store::LedgerLeaf leaf;
      MH_ASSIGN_OR_RETURN(leaf.index, Int(j, "index", where));
      MH_ASSIGN_OR_RETURN(leaf.key.meter_id, Str(j, "meter_id", where));
      MH_ASSIGN_OR_RETURN(leaf.key.window, Int(j, "window", where));
      MH_ASSIGN_OR_RETURN(leaf.key.seq, Int(j, "seq", where));
      MH_ASSIGN_OR_RETURN(leaf.kind, Str(j, "kind", where));
      MH_ASSIGN_OR_RETURN(leaf.payload, Unhex(j, "payload", where));
      if (j.contains("leaf_hash")) {
        MH_ASSIGN_OR_RETURN(leaf.leaf_hash, Unhex(j, "leaf_hash", where));
        if (leaf.leaf_hash.size() != 32) return InvalidArgument(where + ": field 'leaf_hash' is not 32 bytes");
      }
      if (leaf.index != static_cast<int64_t>(v->leaves_.size())) {
        // Evidence, not bad input: reported by RecordsOf as a ledger alarm.
        if (v->problem_.ok()) {
          v->problem_ = Status(kLedgerIntegrityError, where + ": entry index " + std::to_string(leaf.index) + " where " +
                                                          std::to_string(v->leaves_.size()) + " was expected (an entry is missing)");
        }
        continue;
      }
      if (leaf.leaf_hash.empty()) leaf.leaf_hash = ledger::HashBytes(ledger::EntryLeafHash(EntryOfLeaf(leaf)));
      MH_ASSIGN_OR_RETURN(Hash h, ledger::HashFromBytes(leaf.leaf_hash));
      v->tree_.Append(h);
      v->leaves_.push_back(std::move(leaf));
    }
    const fs::path head_file = dir / "head.json";
    if (fs::exists(head_file)) {
      MH_ASSIGN_OR_RETURN(std::string text, ReadText(head_file));
      json j = json::parse(text, nullptr, false);
      MH_ASSIGN_OR_RETURN(v->head_, HeadFrom(j, head_file.string()));
      v->has_head_ = true;
    }
    const fs::path key_file = dir / "public_key";
    if (fs::exists(key_file)) {
      MH_ASSIGN_OR_RETURN(std::string text, ReadText(key_file));
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
      Result<crypto::Bytes> key = crypto::HexDecode(text);
      if (!key.ok() || key->size() != 32) return InvalidArgument(key_file.string() + ":1: not 64 hex chars");
      v->public_key_.assign(key->begin(), key->end());
    }
    MH_RETURN_IF_ERROR(v->SetKey(key_hex));
    return v;
  }

  Result<std::vector<LedgerRecord>> RecordsOf(const std::string& meter_id) override {
    if (!has_head_) return InvalidArgument(where_ + ": the ledger has no signed tree head");
    MH_RETURN_IF_ERROR(problem_);
    if (public_key_.empty()) return InvalidArgument(where_ + ": no public key (give --public-key)");
    MH_RETURN_IF_ERROR(ledger::VerifyHead(ledger::SignedTreeHead{head_.size, head_.root_hash, head_.timestamp_ms,
                                                                 head_.signature},
                                          public_key_));
    MH_ASSIGN_OR_RETURN(Hash root, ledger::HashFromBytes(head_.root_hash));
    const std::string in_head = " (tree head of size " + std::to_string(head_.size) + ")";
    std::vector<store::LedgerLeaf> mine;
    ledger::NodeReader* nodes = &tree_;
    std::optional<ledger::StoreNodeReader> store_nodes;
    if (store_) {
      MH_ASSIGN_OR_RETURN(std::vector<int64_t> missing, store_->MissingLeaves(0, head_.size, 1));
      if (!missing.empty()) {
        return Status(kLedgerIntegrityError, "ledger: entry at index " + std::to_string(missing[0]) + " is missing" + in_head);
      }
      MH_ASSIGN_OR_RETURN(mine, store_->LeavesOfMeter(meter_id, head_.size));
      store_nodes.emplace(*store_);
      nodes = &*store_nodes;
    } else {
      if (static_cast<int64_t>(leaves_.size()) < head_.size) {
        return Status(kLedgerIntegrityError, "ledger: only " + std::to_string(leaves_.size()) + " entries" + in_head);
      }
      for (int64_t i = 0; i < head_.size; ++i) {
        if (leaves_[i].key.meter_id == meter_id) mine.push_back(leaves_[i]);
      }
    }
    std::vector<ledger::Entry> verified;
    for (const store::LedgerLeaf& leaf : mine) {
      ledger::Entry entry = EntryOfLeaf(leaf);
      const std::string name = "ledger: entry at index " + std::to_string(leaf.index) + " " + KeyText(leaf.key);
      Result<ledger::InclusionProof> proof = ledger::MakeInclusionProof(*nodes, leaf.index, head_.size);
      if (!proof.ok()) {
        return Status(kLedgerIntegrityError, name + ": no inclusion proof: " + proof.status().message() + in_head);
      }
      if (!ledger::VerifyInclusion(ledger::EntryLeafHash(entry), *proof, root).ok()) {
        return Status(kLedgerIntegrityError, name + " does not match the signed tree" + in_head);
      }
      verified.push_back(std::move(entry));
    }
    return Decode(verified);
  }

 private:
  SnapshotView() = default;
  Status SetKey(const std::optional<std::string>& key_hex) {
    if (!key_hex) return Status::Ok();
    Result<crypto::Bytes> key = crypto::HexDecode(*key_hex);
    if (!key.ok() || key->size() != 32) return InvalidArgument("--public-key is not 64 hex chars");
    public_key_.assign(key->begin(), key->end());
    return Status::Ok();
  }

  std::string where_;
  std::unique_ptr<store::LedgerStore> store_;  // a database
  std::vector<store::LedgerLeaf> leaves_;      // a directory
  ledger::MemoryTree tree_;                    // a directory: over its leaf hashes
  store::LedgerTreeHead head_;
  bool has_head_ = false;
  std::string public_key_;
  Status problem_ = Status::Ok();  // a directory with an entry missing
};

}  // namespace

ledger::Entry ToLedger(const LedgerEntry& e) {
  return ledger::Entry{ledger::EntryKey{e.key.meter_id, e.key.window, e.key.seq}, e.kind, e.payload};
}

LedgerEntry FromLedger(const ledger::Entry& e) {
  return LedgerEntry{EntryKey{e.key.meter_id, e.key.window, e.key.seq}, e.kind, e.payload};
}

Result<std::vector<LedgerRecord>> VerifiedLedgerView::RecordsOf(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(ledger::SignedTreeHead head, ledger_.Head());
  Result<std::vector<ledger::Entry>> entries = ledger_.VerifiedEntriesOf(meter_id, head);
  if (!entries.ok()) {
    if (entries.status().code() == StatusCode::kUnauthenticated) {
      return Status(kLedgerIntegrityError, entries.status().message());
    }
    return entries.status();
  }
  return Decode(*entries);
}

Result<std::unique_ptr<AuditLedger>> AuditLedger::InMemory(const Clock& clock, std::string private_key) {
  return Over(store::NewMemoryLedgerStore(), clock, std::move(private_key));
}

Result<std::unique_ptr<AuditLedger>> AuditLedger::Over(std::unique_ptr<store::LedgerStore> store, const Clock& clock,
                                                       std::string private_key) {
  if (private_key.empty()) {
    MH_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair pair, crypto::Ed25519Generate());
    private_key.assign(pair.private_key.begin(), pair.private_key.end());
  }
  auto l = std::unique_ptr<AuditLedger>(new AuditLedger());
  l->store_ = std::make_unique<TamperableStore>(std::move(store));
  MH_ASSIGN_OR_RETURN(l->ledger_, ledger::Ledger::Open(*l->store_, clock, private_key));
  return l;
}

Status AuditLedger::Append(const LedgerEntry& entry) { return ledger_->Append(ToLedger(entry)).status(); }

Status AuditLedger::AppendAll(const std::vector<LedgerEntry>& entries) {
  std::vector<ledger::Entry> mapped;
  for (const LedgerEntry& e : entries) mapped.push_back(ToLedger(e));
  return ledger_->AppendBatch(mapped).status();
}

Result<std::vector<LedgerRecord>> AuditLedger::RecordsOf(const std::string& meter_id) {
  if (verify_) return VerifiedLedgerView(*ledger_).RecordsOf(meter_id);
  MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store_->LeavesOfMeter(meter_id, INT64_MAX));
  std::vector<ledger::Entry> entries;
  for (const auto& l : leaves) entries.push_back(EntryOfLeaf(l));
  return Decode(entries);
}

bool AuditLedger::Tamper(const EntryKey& key, std::string payload) {
  return static_cast<TamperableStore&>(*store_).Tamper(key, std::move(payload));
}

Result<std::vector<LedgerEntry>> AuditLedger::EntriesOf(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store_->LeavesOfMeter(meter_id, INT64_MAX));
  std::vector<LedgerEntry> out;
  for (const auto& l : leaves) out.push_back(FromLedger(EntryOfLeaf(l)));
  std::sort(out.begin(), out.end(), [](const LedgerEntry& a, const LedgerEntry& b) { return a.key < b.key; });
  return out;
}

Status WriteLedgerDirectory(store::LedgerStore& store, const std::string& dir, ledger::Ledger* sign_first) {
  if (sign_first) MH_RETURN_IF_ERROR(sign_first->Head().status());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create '" + dir + "': " + ec.message());
  const fs::path base(dir);
  MH_ASSIGN_OR_RETURN(int64_t size, store.Size());
  std::ofstream entries(base / "entries.jsonl", std::ios::binary | std::ios::trunc);
  constexpr int64_t kChunk = 65536;
  for (int64_t begin = 0; begin < size; begin += kChunk) {
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store.ReadLeaves(begin, std::min(size, begin + kChunk)));
    for (const store::LedgerLeaf& leaf : leaves) {
      entries << json{{"index", leaf.index},          {"meter_id", leaf.key.meter_id}, {"window", leaf.key.window},
                      {"seq", leaf.key.seq},          {"kind", leaf.kind},             {"payload", Hex(leaf.payload)},
                      {"leaf_hash", Hex(leaf.leaf_hash)}}
                     .dump()
              << "\n";
    }
  }
  entries.close();
  MH_ASSIGN_OR_RETURN(std::vector<store::LedgerTreeHead> heads, store.Heads());
  auto head_json = [](const store::LedgerTreeHead& h) {
    return json{{"size", h.size}, {"root_hash", Hex(h.root_hash)}, {"timestamp_ms", h.timestamp_ms},
                {"signature", Hex(h.signature)}};
  };
  std::ofstream all(base / "heads.jsonl", std::ios::binary | std::ios::trunc);
  for (const auto& h : heads) all << head_json(h).dump() << "\n";
  all.close();
  if (!heads.empty()) {
    std::ofstream(base / "head.json", std::ios::binary | std::ios::trunc) << head_json(heads.back()).dump(2) << "\n";
  }
  MH_ASSIGN_OR_RETURN(std::optional<std::string> key, store.GetMeta("public_key"));
  if (key) std::ofstream(base / "public_key", std::ios::binary | std::ios::trunc) << Hex(*key) << "\n";
  if (!entries || !all) return InvalidArgument("cannot write to '" + dir + "'");
  return Status::Ok();
}

Result<std::string> ReadLedgerKeyFile(const std::string& path) {
  MH_RETURN_IF_ERROR(CheckOwnerOnlyFile(path, "ledger key file"));
  MH_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  Result<crypto::Bytes> key = crypto::HexDecode(text);
  if (!key.ok() || key->size() != crypto::kEd25519PrivateKeySize) {
    return FailedPrecondition("ledger key file '" + path + "' does not hold 64 hex chars");
  }
  return std::string(key->begin(), key->end());
}

Result<std::unique_ptr<LedgerView>> OpenLedgerSnapshot(const std::string& path,
                                                       const std::optional<std::string>& public_key_hex) {
  if (fs::is_directory(path)) {
    MH_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotView> v, SnapshotView::FromDirectory(path, public_key_hex));
    return std::unique_ptr<LedgerView>(std::move(v));
  }
  if (!store::IsPostgresUrl(path) && !fs::exists(path)) return InvalidArgument("no such ledger: '" + path + "'");
  MH_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotView> v, SnapshotView::FromDatabase(path, public_key_hex));
  return std::unique_ptr<LedgerView>(std::move(v));
}

}  // namespace mh::audit
