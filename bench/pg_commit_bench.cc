// PgStore's commit rate next to `psql \copy` of the same rows, side by side in one run, on a
// PostgreSQL this program starts (store/postgres/local_postgres: initdb + postgres in a temp dir,
// fsync on, as an unprivileged user when root):
//   - PgStoreCommit/<meters>/<batch>/<deferred>: readings/s through Store::Commit — batches of
//     <batch> time-ordered readings (one per meter and interval), each batch one transaction
//     (COPY into the staging table + INSERT … ON CONFLICT); deferred=1 is the import path
//     (asynchronous commits, one synchronous Pack at the end), deferred=0 the live path (every
//     commit fsync'd);
//   - PsqlCopy/<meters>: the same rows as CSV through `psql -c "\copy …"` into an equivalent table
//     (same key, same types), one transaction, fsync'd at its commit.
// Each case gets a fresh database. Usage: pg_commit_bench [--benchmark_filter=…]; the row count is
// meters × 10 intervals (MH_BENCH_INTERVALS overrides).
#include <libpq-fe.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_pg.h"
#include "store/postgres/local_postgres.h"
#include "store/postgres/pg_store.h"

namespace {

using namespace mh;
using bench::GetPgServer;
using bench::NewDatabase;
using Server = bench::PgServer;

int Intervals() {
  const char* v = std::getenv("MH_BENCH_INTERVALS");
  return v != nullptr ? std::atoi(v) : 10;
}

// Time order, as a head-end receives them: every meter's reading of one interval, then the next.
std::vector<store::StoredReading> Rows(int meters) {
  std::vector<store::StoredReading> rows;
  const int intervals = Intervals();
  rows.reserve(static_cast<size_t>(meters) * intervals);
  for (int k = 0; k < intervals; ++k) {
    for (int m = 0; m < meters; ++m) {
      store::StoredReading r;
      r.meter_id = "M" + std::to_string(m);
      r.ts = 1700000100 + 900 * k;
      r.value = 1000 + m * 0.001 + k * 0.25;
      r.consumption = k == 0 ? 0 : 0.25;
      r.source = "import";
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

void PgStoreCommit(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int meters = static_cast<int>(state.range(0));
  const size_t batch = static_cast<size_t>(state.range(1));
  const bool deferred = state.range(2) != 0;
  const std::vector<store::StoredReading> rows = Rows(meters);
  for (auto _ : state) {
    state.PauseTiming();
    auto opened = store::OpenPostgresStore(store::PostgresStoreOptions{NewDatabase(*server)});
    if (!opened.ok()) return state.SkipWithError(opened.status().ToString().c_str());
    std::unique_ptr<store::Store> st = std::move(opened).value();
    state.ResumeTiming();
    for (size_t at = 0; at < rows.size(); at += batch) {
      store::IngestBatch b;
      b.deferred = deferred;
      b.accepted.assign(rows.begin() + at, rows.begin() + std::min(rows.size(), at + batch));
      if (Status s = st->Commit(b); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    }
    if (Status s = st->Pack(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
  }
  state.counters["readings/s"] = benchmark::Counter(static_cast<double>(rows.size()) * state.iterations(),
                                                    benchmark::Counter::kIsRate);
}

void PsqlCopy(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int meters = static_cast<int>(state.range(0));
  const std::vector<store::StoredReading> rows = Rows(meters);
  const std::string csv = server->dir + "/rows_" + std::to_string(meters) + ".csv";
  {
    std::ofstream out(csv);
    for (const store::StoredReading& r : rows) {
      // A quoted "" is an empty string in CSV (an unquoted empty field would be NULL).
      out << r.meter_id << ",\"\"," << r.ts << "," << r.value << "," << r.consumption << "," << r.source << ",\"\",1,f\n";
    }
  }
  const std::string psql = store::pg::FindPostgresBinaries() + "/psql";
  for (auto _ : state) {
    state.PauseTiming();
    const std::string url = NewDatabase(*server);
    const std::string create = psql + " -q " + url +
                               " -c 'CREATE TABLE readings (meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL,"
                               " value DOUBLE PRECISION NOT NULL, consumption DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,"
                               " quality TEXT NOT NULL, version INTEGER NOT NULL, estimated BOOLEAN NOT NULL,"
                               " PRIMARY KEY (meter_id, channel, ts))'";
    if (std::system(create.c_str()) != 0) return state.SkipWithError("psql: CREATE TABLE failed");
    state.ResumeTiming();
    const std::string copy = psql + " -q " + url + " -c \"\\copy readings FROM '" + csv + "' CSV\"";
    if (std::system(copy.c_str()) != 0) return state.SkipWithError("psql: \\copy failed");
  }
  state.counters["readings/s"] = benchmark::Counter(static_cast<double>(rows.size()) * state.iterations(),
                                                    benchmark::Counter::kIsRate);
}

// Meters × 10 intervals: 20,000 meters = 200,000 rows. Batches: 1,000 (a live group commit) and
// 20,000 (an import batch).
BENCHMARK(PgStoreCommit)->ArgsProduct({{20000}, {1000, 20000}, {0, 1}})->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(PsqlCopy)->Arg(20000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
