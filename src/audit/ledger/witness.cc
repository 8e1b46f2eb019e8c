#include "audit/ledger/witness.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/ledger/ledger.h"
#include "crypto/crypto.h"
#include "store/store_open.h"

namespace mh::audit::ledger {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int64_t kPage = 1000;

std::string Hex(std::string_view bytes) { return crypto::HexEncode(crypto::AsBytes(bytes)); }

Result<std::string> Unhex(const json& j, const char* name, size_t size) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return InvalidArgument(std::string("field '") + name + "' missing or not a string");
  Result<crypto::Bytes> bytes = crypto::HexDecode(it->get<std::string>());
  if (!bytes.ok() || bytes->size() != size) {
    return InvalidArgument(std::string("field '") + name + "' is not " + std::to_string(2 * size) + " hex chars");
  }
  return std::string(bytes->begin(), bytes->end());
}

class DatabaseHeadSource final : public HeadSource {
 public:
  explicit DatabaseHeadSource(std::unique_ptr<store::LedgerStore> store) : store_(std::move(store)) {}
  Result<std::optional<store::LedgerTreeHead>> Latest() override { return store_->LatestHead(); }
  Result<std::vector<store::LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    return store_->HeadsSince(since, limit);
  }
  Result<ConsistencyProof> Consistency(int64_t old_size, int64_t new_size) override {
    StoreNodeReader nodes(*store_);
    return MakeConsistencyProof(nodes, old_size, new_size);
  }
  Result<std::string> PublicKey() override {
    MH_ASSIGN_OR_RETURN(std::optional<std::string> key, store_->GetMeta("public_key"));
    if (!key) return InvalidArgument("the ledger holds no public key");
    return *key;
  }

 private:
  std::unique_ptr<store::LedgerStore> store_;
};

std::string ReadText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The kept heads by size; InvalidArgument naming FILE:LINE for a malformed one.
Result<std::map<int64_t, store::LedgerTreeHead>> LoadKept(const fs::path& file) {
  std::map<int64_t, store::LedgerTreeHead> kept;
  if (!fs::exists(file)) return kept;
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgument("cannot read " + file.string());
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<store::LedgerTreeHead> head = ParseHeadLine(line);
    if (!head.ok()) return head.status().WithContext(file.string() + ":" + std::to_string(n));
    kept.emplace(head->size, *head);  // the first seen of a size stays
  }
  return kept;
}

Status WriteKept(const fs::path& file, const std::map<int64_t, store::LedgerTreeHead>& kept) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    for (const auto& [size, head] : kept) out << HeadLine(head) << "\n";
    out.close();
    if (!out) return InvalidArgument("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return InvalidArgument("cannot replace " + file.string() + ": " + ec.message());
  return Status::Ok();
}

// The key to check signatures with: given, else pinned in the directory, else the source's
// (pinned now: trust on first use, as with an SSH host key).
Result<std::string> PinnedKey(HeadSource& source, const fs::path& dir, const std::optional<std::string>& given) {
  const fs::path file = dir / "public_key";
  std::string hex;
  if (given) {
    hex = *given;
  } else if (fs::exists(file)) {
    hex = ReadText(file);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.pop_back();
  } else {
    MH_ASSIGN_OR_RETURN(std::string key, source.PublicKey());
    hex = Hex(key);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << hex << "\n";
  }
  Result<crypto::Bytes> key = crypto::HexDecode(hex);
  if (!key.ok() || key->size() != 32) {
    return InvalidArgument((given ? std::string("--public-key") : file.string()) + ": not 64 hex chars (an Ed25519 public key)");
  }
  return std::string(key->begin(), key->end());
}

bool Signed(const store::LedgerTreeHead& h, const std::string& key) {
  return VerifyHead(SignedTreeHead{h.size, h.root_hash, h.timestamp_ms, h.signature}, key).ok();
}

std::string Inconsistent(int64_t kept, int64_t newest) {
  return "inconsistent kept=" + std::to_string(kept) + " newest=" + std::to_string(newest);
}

// Whether `newest` extends `kept`; Unavailable passes up (the round cannot be judged).
Result<bool> Extends(HeadSource& source, const store::LedgerTreeHead& kept, const store::LedgerTreeHead& newest) {
  if (kept.size > newest.size) return false;
  Result<Hash> old_root = HashFromBytes(kept.root_hash);
  Result<Hash> new_root = HashFromBytes(newest.root_hash);
  if (!old_root.ok() || !new_root.ok()) return false;
  if (kept.size == newest.size) return *old_root == *new_root;
  if (kept.size == 0) return *old_root == EmptyRoot();
  Result<ConsistencyProof> proof = source.Consistency(kept.size, newest.size);
  if (!proof.ok()) {
    if (proof.status().code() == StatusCode::kUnavailable) return proof.status();
    return false;  // a ledger that cannot prove it extends a head it signed does not
  }
  return VerifyConsistency(*proof, *old_root, *new_root).ok();
}

}  // namespace

std::string HeadLine(const store::LedgerTreeHead& h) {
  return json{{"root_hash", Hex(h.root_hash)}, {"signature", Hex(h.signature)}, {"size", h.size}, {"timestamp_ms", h.timestamp_ms}}
      .dump();
}

Result<store::LedgerTreeHead> ParseHeadLine(const std::string& line) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  store::LedgerTreeHead h;
  auto size = j.find("size");
  auto ts = j.find("timestamp_ms");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return InvalidArgument("field 'size' missing or not a whole number >= 0");
  }
  if (ts == j.end() || !ts->is_number_integer()) return InvalidArgument("field 'timestamp_ms' missing or not an integer");
  h.size = size->get<int64_t>();
  h.timestamp_ms = ts->get<int64_t>();
  MH_ASSIGN_OR_RETURN(h.root_hash, Unhex(j, "root_hash", 32));
  MH_ASSIGN_OR_RETURN(h.signature, Unhex(j, "signature", 64));
  return h;
}

Result<std::unique_ptr<HeadSource>> OpenDatabaseHeadSource(const std::string& path) {
  if (!store::IsPostgresUrl(path) && !fs::exists(path)) return InvalidArgument("no such ledger database: " + path);
  const store::StoreLocation at{path};
  Result<std::unique_ptr<store::LedgerStore>> opened = store::OpenLedgerStore(at, /*read_only=*/true);
  if (!opened.ok()) return InvalidArgument(store::Describe(at) + ": " + opened.status().message());
  return std::unique_ptr<HeadSource>(new DatabaseHeadSource(std::move(*opened)));
}

Result<WitnessRound> RunWitnessRound(HeadSource& source, const std::string& keep_dir,
                                     const std::optional<std::string>& public_key_hex) {
  const fs::path dir(keep_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) return InvalidArgument("--keep " + keep_dir + ": cannot make the directory");
  const fs::path file = dir / "heads.jsonl";
  MH_ASSIGN_OR_RETURN(auto kept, LoadKept(file));
  MH_ASSIGN_OR_RETURN(std::string key, PinnedKey(source, dir, public_key_hex));
  WitnessRound round;
  MH_ASSIGN_OR_RETURN(std::optional<store::LedgerTreeHead> newest, source.Latest());
  if (!newest) {
    // No head at all: consistent only with having kept none.
    for (const auto& [size, head] : kept) round.failures.push_back(Inconsistent(size, 0));
    round.kept = static_cast<int>(kept.size());
    return round;
  }
  round.newest_size = newest->size;
  if (!Signed(*newest, key)) {
    round.failures.push_back("bad-signature size=" + std::to_string(newest->size));
    round.kept = static_cast<int>(kept.size());
    return round;
  }
  // Keep every new head up to the newest (each signed), then check every kept one against it.
  std::vector<store::LedgerTreeHead> fresh{*newest};
  for (int64_t since = kept.empty() ? 0 : kept.rbegin()->first; since <= newest->size;) {
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerTreeHead> page, source.HeadsSince(since, kPage));
    for (const auto& h : page) {
      if (h.size <= newest->size) fresh.push_back(h);
    }
    if (static_cast<int64_t>(page.size()) < kPage) break;
    since = page.back().size + 1;
  }
  for (const auto& h : fresh) {
    if (kept.count(h.size)) continue;
    if (!Signed(h, key)) {
      round.failures.push_back("bad-signature size=" + std::to_string(h.size));
      continue;
    }
    kept.emplace(h.size, h);
    ++round.added;
  }
  if (round.added > 0) MH_RETURN_IF_ERROR(WriteKept(file, kept));
  for (const auto& [size, head] : kept) {
    MH_ASSIGN_OR_RETURN(bool ok, Extends(source, head, *newest));
    if (!ok) round.failures.push_back(Inconsistent(size, newest->size));
  }
  round.kept = static_cast<int>(kept.size());
  return round;
}

}  // namespace mh::audit::ledger
