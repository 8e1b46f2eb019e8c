#include "audit/ledger/offline_ledger.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "audit/ledger/ledger.h"
#include "base/tool_args.h"
#include "store/store_open.h"

namespace mh::audit::ledger {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kOk = 0;
constexpr int kProblems = 1;
constexpr int kUsage = 2;

constexpr char kUsageText[] =
    "usage:\n"
    "  meterhub ledger verify --ledger DB_OR_DIR [--public-key HEX]\n"
    "  meterhub ledger export --ledger DB --out DIR\n"
    "  meterhub ledger witness --keep DIR (--db PATH | --url URL --token T) [--public-key HEX]\n";

// Leaves are read from SQLite in chunks so a 10^7-entry ledger never sits in memory as rows.
constexpr int64_t kChunk = 65536;
// A hole this long is not a few deleted rows but a forged index: stop there rather than fill it.
constexpr int64_t kMaxGap = int64_t{1} << 20;

struct Options {
  std::string ledger, out;
  std::optional<std::string> public_key;
};

std::string Hex(std::string_view bytes) { return crypto::HexEncode(crypto::AsBytes(bytes)); }

Result<std::string> Unhex(const std::string& hex, const char* field) {
  Result<crypto::Bytes> bytes = crypto::HexDecode(hex);
  if (!bytes.ok()) return InvalidArgument(std::string(field) + ": " + bytes.status().message());
  return std::string(bytes->begin(), bytes->end());
}

std::string KeyText(const store::LedgerKey& key) {
  return "(" + key.meter_id + ", window " + std::to_string(key.window) + ", seq " + std::to_string(key.seq) + ")";
}

// --- the checks, fed leaf by leaf ---

class Checker {
 public:
  // `where` names the leaf's origin for messages (a file line), or is empty.
  void AddLeaf(const store::LedgerLeaf& leaf, const std::string& where) {
    const std::string at = where.empty() ? "" : " (" + where + ")";
    if (leaf.index < tree_.size()) {
      Problem("entry " + std::to_string(leaf.index) + at + ": out of order or repeated");
      return;
    }
    if (leaf.index - tree_.size() > kMaxGap) {
      Problem("entry " + std::to_string(leaf.index) + " " + KeyText(leaf.key) + at + ": index jumps from " + std::to_string(tree_.size()) +
              ", not checked");
      return;
    }
    if (leaf.index - tree_.size() > 1) {
      Problem("entries " + std::to_string(tree_.size()) + ".." + std::to_string(leaf.index - 1) + ": missing");
    } else if (leaf.index - tree_.size() == 1) {
      Problem("entry " + std::to_string(tree_.size()) + ": missing");
    }
    while (tree_.size() < leaf.index) tree_.Append(Hash{});  // stand-ins: later indices stay put
    const Entry entry{EntryKey{leaf.key.meter_id, leaf.key.window, leaf.key.seq}, leaf.kind, leaf.payload};
    const std::string name = "entry " + std::to_string(leaf.index) + " " + KeyText(leaf.key) + at;
    if (Status s = CheckEntry(entry); !s.ok()) Problem(name + ": " + s.message());
    const Hash hash = EntryLeafHash(entry);
    if (!leaf.leaf_hash.empty() && leaf.leaf_hash != HashBytes(hash)) {
      Problem(name + ": stored leaf hash does not match the entry's bytes");
    }
    tree_.Append(hash);
  }

  // Compares every stored complete-subtree hash with the recomputed tree.
  void CheckStoredNodes(store::LedgerStore& store) {
    for (int level = 1; (tree_.size() >> level) > 0; ++level) {
      const int64_t count = tree_.size() >> level;
      for (int64_t begin = 0; begin < count; begin += kChunk) {
        std::vector<store::LedgerNodeId> ids;
        for (int64_t i = begin; i < std::min(count, begin + kChunk); ++i) ids.push_back({level, i});
        Result<std::vector<std::string>> stored = store.ReadNodes(ids);
        for (size_t k = 0; k < ids.size(); ++k) {
          const std::string name =
              "node level " + std::to_string(level) + " index " + std::to_string(ids[k].index);
          std::optional<std::string> hash;
          if (stored.ok()) {
            hash = (*stored)[k];
          } else {  // find which ones are missing, one by one
            Result<std::vector<std::string>> one = store.ReadNodes({ids[k]});
            if (!one.ok()) {
              Problem(name + ": " + (one.status().code() == StatusCode::kNotFound ? std::string("missing")
                                                                                 : one.status().message()));
              continue;
            }
            hash = (*one)[0];
          }
          const Hash* want = tree_.Node(NodeId{level, ids[k].index});
          if (want == nullptr || *hash != HashBytes(*want)) Problem(name + ": does not match the entries");
        }
      }
    }
  }

  void CheckHeads(const std::vector<store::LedgerTreeHead>& heads, const std::string& public_key) {
    const int64_t n = tree_.size();
    const store::LedgerTreeHead* previous = nullptr;
    for (const store::LedgerTreeHead& head : heads) {
      const std::string name = "head " + std::to_string(head.size);
      const SignedTreeHead sth{head.size, head.root_hash, head.timestamp_ms, head.signature};
      if (Status s = VerifyHead(sth, public_key); !s.ok()) {
        Problem(name + ": " + (s.code() == StatusCode::kUnauthenticated ? std::string("signature does not verify")
                                                                         : s.message()));
      }
      if (head.size > n) {
        Problem(name + ": covers " + std::to_string(head.size) + " entries, only " + std::to_string(n) + " present");
        continue;
      }
      Result<Hash> root = ComputeRoot(tree_, head.size);
      if (!root.ok() || HashBytes(*root) != head.root_hash) {
        Problem(name + ": root " + Hex(head.root_hash) + " does not match the entries (" +
                (root.ok() ? HashHex(*root) : root.status().message()) + ")");
      }
      if (previous != nullptr) {
        const std::string pair = "heads " + std::to_string(previous->size) + " -> " + std::to_string(head.size);
        if (head.timestamp_ms < previous->timestamp_ms) Problem(pair + ": timestamp goes back");
        Result<ConsistencyProof> proof = MakeConsistencyProof(tree_, previous->size, head.size);
        Result<Hash> old_root = HashFromBytes(previous->root_hash);
        Result<Hash> new_root = HashFromBytes(head.root_hash);
        if (!proof.ok() || !old_root.ok() || !new_root.ok() ||
            !VerifyConsistency(*proof, *old_root, *new_root).ok()) {
          Problem(pair + ": not consistent");
        }
      }
      previous = &head;
    }
    if (heads.empty() && n > 0) Problem("no signed tree head covers the " + std::to_string(n) + " entries");
  }

  void Problem(std::string line) { problems_.push_back(std::move(line)); }
  const std::vector<std::string>& problems() const { return problems_; }
  int64_t size() const { return tree_.size(); }

 private:
  MemoryTree tree_;
  std::vector<std::string> problems_;
};

// --- the directory format ---

json LeafJson(const store::LedgerLeaf& leaf) {
  return json{{"index", leaf.index},          {"meter_id", leaf.key.meter_id}, {"window", leaf.key.window},
              {"seq", leaf.key.seq},          {"kind", leaf.kind},             {"payload", Hex(leaf.payload)},
              {"leaf_hash", Hex(leaf.leaf_hash)}};
}

json HeadJson(const store::LedgerTreeHead& head) {
  return json{{"size", head.size},
              {"root_hash", Hex(head.root_hash)},
              {"timestamp_ms", head.timestamp_ms},
              {"signature", Hex(head.signature)}};
}

template <typename T>
Result<T> Field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return InvalidArgument(std::string("field '") + name + "' missing");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return InvalidArgument(std::string("field '") + name + "' has the wrong type");
  }
}

Result<store::LedgerLeaf> LeafFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  store::LedgerLeaf leaf;
  MH_ASSIGN_OR_RETURN(leaf.index, Field<int64_t>(j, "index"));
  MH_ASSIGN_OR_RETURN(leaf.key.meter_id, Field<std::string>(j, "meter_id"));
  MH_ASSIGN_OR_RETURN(leaf.key.window, Field<int64_t>(j, "window"));
  MH_ASSIGN_OR_RETURN(leaf.key.seq, Field<int64_t>(j, "seq"));
  MH_ASSIGN_OR_RETURN(leaf.kind, Field<std::string>(j, "kind"));
  MH_ASSIGN_OR_RETURN(std::string payload, Field<std::string>(j, "payload"));
  MH_ASSIGN_OR_RETURN(leaf.payload, Unhex(payload, "field 'payload'"));
  if (j.contains("leaf_hash")) {
    MH_ASSIGN_OR_RETURN(std::string hash, Field<std::string>(j, "leaf_hash"));
    MH_ASSIGN_OR_RETURN(leaf.leaf_hash, Unhex(hash, "field 'leaf_hash'"));
  }
  return leaf;
}

Result<store::LedgerTreeHead> HeadFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  store::LedgerTreeHead head;
  MH_ASSIGN_OR_RETURN(head.size, Field<int64_t>(j, "size"));
  MH_ASSIGN_OR_RETURN(std::string root, Field<std::string>(j, "root_hash"));
  MH_ASSIGN_OR_RETURN(head.root_hash, Unhex(root, "field 'root_hash'"));
  MH_ASSIGN_OR_RETURN(head.timestamp_ms, Field<int64_t>(j, "timestamp_ms"));
  MH_ASSIGN_OR_RETURN(std::string signature, Field<std::string>(j, "signature"));
  MH_ASSIGN_OR_RETURN(head.signature, Unhex(signature, "field 'signature'"));
  return head;
}

// Calls `each(json, line number)` for every non-blank line; a line that is not JSON is a problem.
bool ForEachJsonLine(const fs::path& file, Checker& checker, const std::function<void(const json&, int)>& each) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      checker.Problem(file.filename().string() + " line " + std::to_string(number) + ": not valid JSON");
      continue;
    }
    each(j, number);
  }
  return true;
}

std::string ReadText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Reads a ledger directory into `checker`; returns the heads and the directory's public key.
// A missing entries.jsonl is bad usage (2): this is not a ledger directory.
Result<std::vector<store::LedgerTreeHead>> LoadDirectory(const fs::path& dir, Checker& checker,
                                                        std::optional<std::string>& public_key) {
  const fs::path entries = dir / "entries.jsonl";
  if (!fs::exists(entries)) return InvalidArgument(dir.string() + ": no entries.jsonl: not a ledger directory");
  ForEachJsonLine(entries, checker, [&](const json& j, int line) {
    const std::string where = "entries.jsonl line " + std::to_string(line);
    Result<store::LedgerLeaf> leaf = LeafFromJson(j);
    if (!leaf.ok()) {
      checker.Problem(where + ": " + leaf.status().message());
      return;
    }
    checker.AddLeaf(*leaf, where);
  });
  std::vector<store::LedgerTreeHead> heads;
  const fs::path all_heads = dir / "heads.jsonl";
  const fs::path latest = dir / "head.json";
  auto add_head = [&](const json& j, const std::string& where) {
    Result<store::LedgerTreeHead> head = HeadFromJson(j);
    if (!head.ok()) {
      checker.Problem(where + ": " + head.status().message());
      return;
    }
    heads.push_back(*head);
  };
  if (fs::exists(all_heads)) {
    ForEachJsonLine(all_heads, checker,
                    [&](const json& j, int line) { add_head(j, "heads.jsonl line " + std::to_string(line)); });
  }
  if (fs::exists(latest)) {
    const json j = json::parse(ReadText(latest), nullptr, false);
    if (j.is_discarded()) {
      checker.Problem("head.json: not valid JSON");
    } else if (Result<store::LedgerTreeHead> head = HeadFromJson(j); !head.ok()) {
      checker.Problem("head.json: " + head.status().message());
    } else {
      // head.json repeats the last line of heads.jsonl; it must agree with it.
      const bool listed = !heads.empty() && heads.back().size == head->size;
      if (listed && (heads.back().root_hash != head->root_hash || heads.back().signature != head->signature ||
                     heads.back().timestamp_ms != head->timestamp_ms)) {
        checker.Problem("head " + std::to_string(head->size) + ": head.json differs from heads.jsonl");
      }
      if (!listed) heads.push_back(*head);
    }
  }
  std::sort(heads.begin(), heads.end(),
            [](const store::LedgerTreeHead& a, const store::LedgerTreeHead& b) { return a.size < b.size; });
  if (fs::exists(dir / "public_key")) public_key = ReadText(dir / "public_key");
  return heads;
}

Result<std::unique_ptr<store::LedgerStore>> OpenDatabase(const std::string& path) {
  if (!store::IsPostgresUrl(path) && !fs::exists(path)) return InvalidArgument("no such ledger: " + path);
  return store::OpenLedgerStore(store::StoreLocation{path}, /*read_only=*/true);
}

// Stops after a run of kMaxGap indices without a row (a forged huge index would otherwise mean
// millions of empty reads); `each` then sees the next leaf and reports the jump.
Status ForEachStoredLeaf(store::LedgerStore& store, const std::function<void(const store::LedgerLeaf&)>& each) {
  MH_ASSIGN_OR_RETURN(int64_t size, store.Size());
  int64_t last = -1;
  for (int64_t begin = 0; begin < size; begin += kChunk) {
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store.ReadLeaves(begin, begin + kChunk));
    for (const store::LedgerLeaf& leaf : leaves) each(leaf);
    if (!leaves.empty()) last = leaves.back().index;
    if (begin + kChunk - last > kMaxGap && begin + kChunk < size) {
      MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> tail, store.ReadLeaves(size - 1, size));
      for (const store::LedgerLeaf& leaf : tail) each(leaf);
      break;
    }
  }
  return Status::Ok();
}

int Verify(const Options& options, std::ostream& out, std::ostream& err) {
  Checker checker;
  std::optional<std::string> stored_key;
  std::vector<store::LedgerTreeHead> heads;
  std::unique_ptr<store::LedgerStore> store;
  if (fs::is_directory(options.ledger)) {
    Result<std::vector<store::LedgerTreeHead>> loaded = LoadDirectory(options.ledger, checker, stored_key);
    if (!loaded.ok()) {
      err << "meterhub ledger verify: " << loaded.status().message() << "\n";
      return kUsage;
    }
    heads = std::move(loaded).value();
  } else {
    Result<std::unique_ptr<store::LedgerStore>> opened = OpenDatabase(options.ledger);
    if (!opened.ok()) {
      err << "meterhub ledger verify: " << opened.status().message() << "\n";
      return kUsage;
    }
    store = std::move(opened).value();
    Status read = ForEachStoredLeaf(*store, [&](const store::LedgerLeaf& leaf) { checker.AddLeaf(leaf, ""); });
    Result<std::vector<store::LedgerTreeHead>> stored_heads = store->Heads();
    Result<std::optional<std::string>> key = store->GetMeta("public_key");
    if (!read.ok() || !stored_heads.ok() || !key.ok()) {
      err << "meterhub ledger verify: " << options.ledger << ": "
          << (!read.ok() ? read : !stored_heads.ok() ? stored_heads.status() : key.status()).message() << "\n";
      return kUsage;
    }
    heads = std::move(stored_heads).value();
    if (key->has_value()) stored_key = Hex(**key);
    checker.CheckStoredNodes(*store);
  }
  std::string public_key;
  if (const std::optional<std::string>& given = options.public_key) {
    public_key = *given;
  } else if (stored_key) {
    // Only as good as the ledger it came with: pass --public-key to check against a key you trust.
    public_key = *stored_key;
  } else {
    err << "meterhub ledger verify: no public key in " << options.ledger << ": pass --public-key HEX\n";
    return kUsage;
  }
  if (public_key.size() != 64 || !crypto::HexDecode(public_key).ok()) {
    err << "meterhub ledger verify: --public-key must be 64 hex chars (an Ed25519 public key)\n";
    return kUsage;
  }
  checker.CheckHeads(heads, public_key);
  if (!checker.problems().empty()) {
    for (const std::string& problem : checker.problems()) out << problem << "\n";
    return kProblems;
  }
  const int64_t signed_size = heads.empty() ? 0 : heads.back().size;
  const std::string root = heads.empty() ? HashHex(EmptyRoot()) : Hex(heads.back().root_hash);
  if (checker.size() > signed_size) {
    err << "note: " << (checker.size() - signed_size) << " entries after the latest signed head are not yet signed\n";
  }
  out << "ok " << signed_size << " " << root << "\n";
  return kOk;
}

int Export(const Options& options, std::ostream& out, std::ostream& err) {
  Result<std::unique_ptr<store::LedgerStore>> opened = OpenDatabase(options.ledger);
  if (!opened.ok()) {
    err << "meterhub ledger export: " << opened.status().message() << "\n";
    return kUsage;
  }
  store::LedgerStore& store = **opened;
  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec) {
    err << "meterhub ledger export: cannot create " << options.out << ": " << ec.message() << "\n";
    return kUsage;
  }
  const fs::path base(options.out);
  std::ofstream entries(base / "entries.jsonl", std::ios::binary | std::ios::trunc);
  int64_t count = 0;
  Status status = ForEachStoredLeaf(store, [&](const store::LedgerLeaf& leaf) {
    entries << LeafJson(leaf).dump() << "\n";
    ++count;
  });
  entries.close();
  Result<std::vector<store::LedgerTreeHead>> heads = store.Heads();
  Result<std::optional<std::string>> key = store.GetMeta("public_key");
  if (!status.ok() || !heads.ok() || !key.ok()) {
    err << "meterhub ledger export: " << options.ledger << ": "
        << (!status.ok() ? status : !heads.ok() ? heads.status() : key.status()).message() << "\n";
    return kUsage;
  }
  std::ofstream all(base / "heads.jsonl", std::ios::binary | std::ios::trunc);
  for (const store::LedgerTreeHead& head : *heads) all << HeadJson(head).dump() << "\n";
  all.close();
  if (!heads->empty()) {
    std::ofstream(base / "head.json", std::ios::binary | std::ios::trunc) << HeadJson(heads->back()).dump(2) << "\n";
  } else {
    fs::remove(base / "head.json", ec);
  }
  if (key->has_value()) std::ofstream(base / "public_key", std::ios::binary | std::ios::trunc) << Hex(**key) << "\n";
  if (!entries || !all) {
    err << "meterhub ledger export: cannot write to " << options.out << "\n";
    return kUsage;
  }
  out << "exported " << count << " entries and " << heads->size() << " tree heads to " << options.out << "\n";
  return kOk;
}

}  // namespace

const char* LedgerUsage() { return kUsageText; }

int RunLedgerCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty()) {
    err << kUsageText;
    return kUsage;
  }
  const std::string& verb = argv[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    out << kUsageText;
    return kOk;
  }
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      out << kUsageText;
      return kOk;
    }
  }
  CLI::App app;
  Options options;
  app.add_option("--ledger", options.ledger)->required();
  if (verb == "verify") {
    app.add_option("--public-key", options.public_key);
  } else if (verb == "export") {
    app.add_option("--out", options.out)->required();
  } else {
    err << "meterhub ledger: unknown command '" << verb << "'\n" << kUsageText;
    return kUsage;
  }
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) {
    err << "meterhub ledger " << verb << ": " << s.message() << "\n" << kUsageText;
    return kUsage;
  }
  return verb == "verify" ? Verify(options, out, err) : Export(options, out, err);
}

}  // namespace mh::audit::ledger
