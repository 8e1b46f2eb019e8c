// The ledger's figures (SPEC 4.6), printed side by side in one run:
//  1. append throughput (entries/s) with fsync'd batches of 1, 100 and 1000 entries: the Ledger over
//     SQLite (WAL, synchronous=FULL) next to the same rows inserted into a plain SQLite table with
//     the same durability and key (what the tamper evidence costs);
//  2. with --big: a log of 10^7 entries (or --big-size N): inclusion and consistency proof sizes
//     (bytes) and their generation and verification times.
// Usage: ledger_bench [--dir DIR] [--scale F] [--big] [--big-size N] [--big-store memory|sqlite]
//   --scale multiplies the number of entries of part 1 (default 1);
//   --big-store sqlite builds the big log through the Ledger into SQLite (slow: tens of minutes)
//   and reads proofs from it; memory (default) keeps every complete subtree in RAM (2 hashes/leaf).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "audit/ledger/ledger.h"
#include "audit/ledger/merkle.h"
#include "base/clock.h"
#include "store/sqlite/sqlite_ledger_store.h"

namespace {

using namespace mh;
using namespace mh::audit::ledger;
using Clock_ = std::chrono::steady_clock;

double Seconds(Clock_::time_point since) { return std::chrono::duration<double>(Clock_::now() - since).count(); }

// A first-monitoring-time record's size: a few start/stop times and labels.
std::string Payload(int64_t i) {
  std::string p = "{\"start\":" + std::to_string(1700000000 + i * 60) + ",\"stop\":" + std::to_string(1700000030 + i * 60) + ",\"label\":\"\"}";
  p.resize(64, ' ');
  return p;
}

Entry EntryAt(int64_t i) {
  return Entry{EntryKey{"M" + std::to_string(i % 5000), i / 5000, i}, "first-time", Payload(i)};
}

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
    std::exit(1);
  }
}

double LedgerAppends(const std::string& path, int batch, int64_t total) {
  std::filesystem::remove(path);
  store::SqliteLedgerOptions options;
  options.path = path;
  options.synchronous = "full";
  auto store = store::OpenSqliteLedgerStore(options);
  Check(store.ok(), store.status().ToString());
  SimulatedClock clock(0);
  auto key = crypto::HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto ledger = Ledger::Open(**store, clock, std::string(key->begin(), key->end()));
  Check(ledger.ok(), ledger.status().ToString());
  const auto start = Clock_::now();
  for (int64_t i = 0; i < total; i += batch) {
    std::vector<Entry> entries;
    for (int64_t j = i; j < std::min(total, i + batch); ++j) entries.push_back(EntryAt(j));
    auto r = (*ledger)->AppendBatch(entries);
    Check(r.ok(), r.status().ToString());
  }
  return static_cast<double>(total) / Seconds(start);
}

double PlainAppends(const std::string& path, int batch, int64_t total) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  sqlite3* db = nullptr;
  Check(sqlite3_open(path.c_str(), &db) == SQLITE_OK, "open plain");
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                     "CREATE TABLE plain (idx INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, window_no INTEGER NOT NULL,"
                     " seq INTEGER NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL,"
                     " UNIQUE (meter_id, window_no, seq))",
                     nullptr, nullptr, nullptr) == SQLITE_OK,
        sqlite3_errmsg(db));
  sqlite3_stmt* insert = nullptr;
  Check(sqlite3_prepare_v2(db, "INSERT INTO plain VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &insert, nullptr) == SQLITE_OK,
        "prepare");
  const auto start = Clock_::now();
  for (int64_t i = 0; i < total; i += batch) {
    Check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK, "begin");
    for (int64_t j = i; j < std::min(total, i + batch); ++j) {
      const Entry e = EntryAt(j);
      sqlite3_bind_int64(insert, 1, j);
      sqlite3_bind_text(insert, 2, e.key.meter_id.data(), static_cast<int>(e.key.meter_id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 3, e.key.window);
      sqlite3_bind_int64(insert, 4, e.key.seq);
      sqlite3_bind_text(insert, 5, e.kind.data(), static_cast<int>(e.kind.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(insert, 6, e.payload.data(), static_cast<int>(e.payload.size()), SQLITE_TRANSIENT);
      Check(sqlite3_step(insert) == SQLITE_DONE, sqlite3_errmsg(db));
      sqlite3_reset(insert);
    }
    Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK, "commit");
  }
  const double rate = static_cast<double>(total) / Seconds(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return rate;
}

size_t ProofBytes(size_t hashes) { return hashes * 32; }

// Proof sizes and times on a log of `size` entries, proofs read from `nodes`.
void ProofFigures(NodeReader& nodes, int64_t size, const Hash& root, const std::vector<Hash>* leaf_hashes) {
  std::mt19937_64 rng(42);
  constexpr int kProofs = 2000;
  // Inclusion.
  size_t bytes_min = SIZE_MAX, bytes_max = 0, bytes_sum = 0;
  double make_s = 0, verify_s = 0;
  for (int k = 0; k < kProofs; ++k) {
    const int64_t index = static_cast<int64_t>(rng() % static_cast<uint64_t>(size));
    auto t0 = Clock_::now();
    auto proof = MakeInclusionProof(nodes, index, size);
    make_s += Seconds(t0);
    Check(proof.ok(), proof.status().ToString());
    const Hash leaf = leaf_hashes != nullptr ? (*leaf_hashes)[index] : EntryLeafHash(EntryAt(index));
    t0 = Clock_::now();
    const Status ok = VerifyInclusion(leaf, *proof, root);
    verify_s += Seconds(t0);
    Check(ok.ok(), ok.ToString());
    const size_t b = ProofBytes(proof->path.size());
    bytes_min = std::min(bytes_min, b);
    bytes_max = std::max(bytes_max, b);
    bytes_sum += b;
  }
  std::printf("inclusion proof, tree of %lld: %zu-%zu bytes (mean %.0f); make %.1f us, verify %.1f us (mean of %d)\n",
              static_cast<long long>(size), bytes_min, bytes_max, static_cast<double>(bytes_sum) / kProofs,
              1e6 * make_s / kProofs, 1e6 * verify_s / kProofs, kProofs);
  // Consistency: from random older sizes, the old roots computed from the same nodes.
  bytes_min = SIZE_MAX;
  bytes_max = 0;
  bytes_sum = 0;
  make_s = verify_s = 0;
  for (int k = 0; k < kProofs; ++k) {
    const int64_t old_size = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(size - 1));
    auto old_root = ComputeRoot(nodes, old_size);
    Check(old_root.ok(), old_root.status().ToString());
    auto t0 = Clock_::now();
    auto proof = MakeConsistencyProof(nodes, old_size, size);
    make_s += Seconds(t0);
    Check(proof.ok(), proof.status().ToString());
    t0 = Clock_::now();
    const Status ok = VerifyConsistency(*proof, *old_root, root);
    verify_s += Seconds(t0);
    Check(ok.ok(), ok.ToString());
    const size_t b = ProofBytes(proof->path.size());
    bytes_min = std::min(bytes_min, b);
    bytes_max = std::max(bytes_max, b);
    bytes_sum += b;
  }
  std::printf("consistency proof to %lld: %zu-%zu bytes (mean %.0f); make %.1f us, verify %.1f us (mean of %d)\n",
              static_cast<long long>(size), bytes_min, bytes_max, static_cast<double>(bytes_sum) / kProofs,
              1e6 * make_s / kProofs, 1e6 * verify_s / kProofs, kProofs);
}

// Reads nodes through a LedgerStore, as the Ledger does.
class StoreNodes final : public NodeReader {
 public:
  explicit StoreNodes(store::LedgerStore& store) : store_(store) {}
  Result<std::vector<Hash>> ReadNodes(std::span<const NodeId> ids) override {
    std::vector<store::LedgerNodeId> wanted;
    for (const NodeId& id : ids) wanted.push_back({id.level, id.index});
    MH_ASSIGN_OR_RETURN(std::vector<std::string> hashes, store_.ReadNodes(wanted));
    std::vector<Hash> out;
    for (const std::string& h : hashes) out.push_back(*HashFromBytes(h));
    return out;
  }

 private:
  store::LedgerStore& store_;
};

void Big(const std::string& dir, int64_t size, const std::string& where) {
  std::printf("\n-- a log of %lld entries (%s) --\n", static_cast<long long>(size), where.c_str());
  const auto start = Clock_::now();
  if (where == "memory") {
    MemoryTree tree;
    std::vector<Hash> leaves;
    leaves.reserve(size);
    for (int64_t i = 0; i < size; ++i) {
      leaves.push_back(EntryLeafHash(EntryAt(i)));
      tree.Append(leaves.back());
    }
    std::printf("built in %.1f s (hashing every entry and subtree)\n", Seconds(start));
    ProofFigures(tree, size, tree.Root(), &leaves);
    return;
  }
  const std::string path = dir + "/big.db";
  store::SqliteLedgerOptions options;
  options.path = path;
  options.synchronous = "normal";
  auto store = store::OpenSqliteLedgerStore(options);
  Check(store.ok(), store.status().ToString());
  SimulatedClock clock(0);
  auto key = crypto::HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto ledger = Ledger::Open(**store, clock, std::string(key->begin(), key->end()));
  Check(ledger.ok(), ledger.status().ToString());
  for (int64_t i = (*ledger)->size(); i < size; i += 10000) {  // resumes a partly built file
    std::vector<Entry> entries;
    for (int64_t j = i; j < std::min(size, i + 10000); ++j) entries.push_back(EntryAt(j));
    auto r = (*ledger)->AppendBatch(entries);
    Check(r.ok(), r.status().ToString());
    if ((i / 10000) % 100 == 0) std::fprintf(stderr, "\r%lld entries, %.0f s", static_cast<long long>(i), Seconds(start));
  }
  std::fprintf(stderr, "\n");
  std::printf("built in %.1f s (batches of 10000, synchronous=normal)\n", Seconds(start));
  auto head = (*ledger)->Head();
  Check(head.ok(), head.status().ToString());
  StoreNodes nodes(**store);
  ProofFigures(nodes, size, *HashFromBytes(head->root_hash), nullptr);
  const auto t0 = Clock_::now();
  auto verified = (*ledger)->VerifiedEntriesOf("M42", *head);
  Check(verified.ok(), verified.status().ToString());
  std::printf("VerifiedEntriesOf one meter (%zu entries, with the whole-log deletion check): %.2f s\n",
              verified->size(), Seconds(t0));
  // What the audit server's pass does for every further meter: the whole-log check is done.
  constexpr int kMeters = 20;
  const auto t1 = Clock_::now();
  for (int m = 0; m < kMeters; ++m) {
    auto more = (*ledger)->VerifiedEntriesOf("M" + std::to_string(100 + m), *head);
    Check(more.ok(), more.status().ToString());
  }
  std::printf("VerifiedEntriesOf, each further meter of the same pass (mean of %d): %.4f s\n", kMeters,
              Seconds(t1) / kMeters);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/meterhub-ledger-bench";
  double scale = 1;
  bool big = false;
  int64_t big_size = 10000000;
  std::string big_store = "memory";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ledger_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = value();
    } else if (a == "--scale") {
      scale = std::atof(value().c_str());
    } else if (a == "--big") {
      big = true;
    } else if (a == "--big-size") {
      big_size = std::atoll(value().c_str());
      big = true;
    } else if (a == "--big-store") {
      big_store = value();
    } else {
      std::fprintf(stderr, "usage: ledger_bench [--dir DIR] [--scale F] [--big] [--big-size N] [--big-store memory|sqlite]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  std::printf("-- appends, every batch one fsync'd commit (WAL, synchronous=FULL), 64-byte payloads --\n");
  std::printf("%-6s %10s %16s %16s %8s\n", "batch", "entries", "ledger/s", "plain sqlite/s", "ratio");
  const std::pair<int, int64_t> runs[] = {{1, 300}, {100, 20000}, {1000, 100000}};
  for (const auto& [batch, base_total] : runs) {
    const int64_t total = std::max<int64_t>(batch, static_cast<int64_t>(base_total * scale));
    const double plain = PlainAppends(dir + "/plain.db", batch, total);
    const double ledger = LedgerAppends(dir + "/ledger.db", batch, total);
    std::printf("%-6d %10lld %16.0f %16.0f %8.2f\n", batch, static_cast<long long>(total), ledger, plain, ledger / plain);
    std::fflush(stdout);
  }
  if (big) Big(dir, big_size, big_store);
  return 0;
}
