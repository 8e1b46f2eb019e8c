// The scale-out's figures (issue 13, docs/scale.md), side by side in one run on one PostgreSQL
// this program starts (store/postgres/local_postgres, fsync on) and one Mosquitto per case:
//   - MqttWorkers/<workers>/<meters>/<intervals>: readings/s stored by 1, 2 or 3 `meterhub serve`
//     processes (the built binary) on the MQTT path — one reading per QoS 1 message, every meter
//     once per interval, after one untimed warm-up interval that registers the meters;
//   - Import/<meters>/<intervals>: `meterhub import` of the same rows as a CSV file (validation,
//     registration, store) into a fresh database, timed as a process;
//   - HttpImport/<workers>/<meters>/<intervals>: the same rows posted as CSV to 1, 2 or 3 workers
//     (10,000-row bodies; poster k sends meters i % workers == k, in time order), each worker storing
//     its shards' part and forwarding the rest;
//   - PsqlCopy/<meters>/<intervals>: the same rows through `psql \copy` into an equivalent table
//     (the readings table's key and types), one transaction;
//   - Takeover/<lease period s>: three workers; one is SIGKILLed, then one interval is published;
//     the time from the kill to the first reading of one of its shards stored by a survivor.
// Each case gets a fresh database. Usage: pg_workers_bench [--benchmark_filter=…].
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "app/local_broker.h"
#include "bench_mqtt.h"
#include "bench_pg.h"
#include "store/postgres/local_postgres.h"

namespace {

using namespace mh::bench;
using Server = PgServer;
using Clock = std::chrono::steady_clock;

constexpr char kLedgerKeyHex[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

std::string Binary() { return std::string(MH_BINARY_DIR) + "/src/app/meterhub"; }

// One statement on `url`; the first column of the first row ("" when none or on error).
std::string Scalar(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  PGresult* r = PQexec(c, sql.c_str());
  std::string out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(c);
  return out;
}

int64_t Count(const std::string& url, const std::string& sql) {
  const std::string v = Scalar(url, sql);
  return v.empty() ? -1 : std::atoll(v.c_str());
}

// A case's directory, database and config file (the one every worker of the case shares).
struct Case {
  std::string dir, url, config;
};

Case NewCase(Server& s, const std::string& name, const std::string& broker, int lease_s) {
  Case c;
  c.dir = s.dir + "/" + name;
  std::filesystem::remove_all(c.dir);
  std::filesystem::create_directories(c.dir);
  c.url = NewDatabase(s);
  std::ofstream(c.dir + "/ledger.key") << kLedgerKeyHex << "\n";
  std::filesystem::permissions(c.dir + "/ledger.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  c.config = c.dir + "/meterhub.toml";
  std::ofstream(c.config) << "[store]\nbackend = \"postgres\"\nurl = \"" << c.url << "\"\n[audit]\nkey_file = \"" << c.dir
                          << "/ledger.key\"\n[cluster]\nlease_period = \"" << lease_s << "s\"\n[mqtt]\nbroker = \"" << broker
                          << "\"\n[ingest]\nauto_register = true\nmax_future = \"3650d\"\n[log]\nlevel = \"warn\"\n";
  return c;
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "a", stderr);
    f = freopen(log.c_str(), "a", stdout);
    (void)f;
    std::vector<char*> argv;
    static std::string name = "meterhub";
    argv.push_back(name.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(Binary().c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// N serve workers of a case; stopped (SIGTERM) when this goes away.
struct Workers {
  std::vector<pid_t> pids;
  Workers(const Case& c, int n) {
    for (int k = 1; k <= n; ++k)
      pids.push_back(Spawn({"serve", "--config", c.config, "--worker-id", "w" + std::to_string(k), "--listen",
                            "127.0.0.1:0"},
                           c.dir + "/workers.log"));
  }
  ~Workers() {
    for (pid_t p : pids)
      if (p > 0) kill(p, SIGTERM);
    for (pid_t p : pids)
      if (p > 0) Wait(p);
  }
};

template <typename Done>
bool WaitFor(Done done, double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The 64 shards leased to `n` distinct live workers.
bool Divided(const std::string& url, int n) {
  return Count(url, "SELECT count(*) FROM shard_leases WHERE expires_at > now()") == 64 &&
         Count(url, "SELECT count(DISTINCT worker_id) FROM shard_leases WHERE expires_at > now()") == n;
}

int64_t Stored(const std::string& url) {
  return Count(url, "SELECT (SELECT count(*) FROM readings) + (SELECT count(*) FROM quarantine)");
}

std::vector<Message> Intervals(int64_t meters, int64_t from, int64_t to) {
  std::vector<Message> out;
  for (int64_t k = from; k <= to; ++k) {
    std::vector<Message> step = Interval(meters, k);
    std::move(step.begin(), step.end(), std::back_inserter(out));
  }
  return out;
}

// The broker's sessions of all 64 shards exist once every meter's warm-up reading is stored: the
// warm-up is published (and republished, a new interval each time, until it is all stored).
bool WarmUp(benchmark::State& state, int port, const std::string& url, int64_t meters) {
  for (int64_t k = 0; k < 3; ++k) {
    Publish(port, Interval(meters, -1 - k), "warm" + std::to_string(k), {});
    if (WaitFor([&] { return Stored(url) >= meters; }, 120)) return true;
  }
  state.SkipWithError("the warm-up interval was not stored (see the case's workers.log)");
  return false;
}

// range(0) workers, range(1) meters, range(2) timed intervals.
void MqttWorkers(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int workers = static_cast<int>(state.range(0));
  const int64_t meters = state.range(1), intervals = state.range(2);
  for (auto _ : state) {
    const std::string name = "mqtt" + std::to_string(workers);
    mh::app::LocalBroker broker;
    if (!broker.Start(server->dir + "/" + name + "-broker").ok()) return state.SkipWithError("mosquitto did not start");
    const Case c = NewCase(*server, name, broker.address(), 10);
    Workers w(c, workers);
    if (!WaitFor([&] { return Divided(c.url, workers); }, 120)) return state.SkipWithError("the shards were not divided");
    std::this_thread::sleep_for(std::chrono::seconds(2));  // every owner's sessions connected and subscribed
    if (!WarmUp(state, broker.port(), c.url, meters)) return;
    const int64_t before = Stored(c.url);
    const std::vector<Message> timed = Intervals(meters, 0, intervals - 1);
    const auto t0 = Clock::now();
    Publish(broker.port(), timed, "timed", {});
    WaitFor([&] { return Stored(c.url) >= before + meters * intervals; }, 3600);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(secs);
    state.counters["readings_per_s"] = static_cast<double>(meters * intervals) / secs;
  }
}

constexpr char kCsvHeader[] = "meter_id,timestamp,value\n";

// Meter i's reading of interval k (Interval's) as a MeterHub CSV line.
std::string CsvRow(int64_t i, int64_t k) {
  char line[96];
  std::snprintf(line, sizeof line, "%s,%lld,%.2f\n", MeterId(i).c_str(), static_cast<long long>(kStart + (k + 1) * kInterval),
                1000.0 + static_cast<double>(i % 977) + 0.25 * static_cast<double>(k));
  return line;
}

// The rows of Interval(meters, 0 .. intervals-1) as MeterHub CSV (meter_id,timestamp,value).
std::string WriteCsv(const std::string& dir, int64_t meters, int64_t intervals) {
  const std::string path = dir + "/rows.csv";
  std::ofstream out(path);
  out << kCsvHeader;
  for (int64_t k = 0; k < intervals; ++k)
    for (int64_t i = 0; i < meters; ++i) out << CsvRow(i, k);
  return path;
}

void Import(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int64_t meters = state.range(0), intervals = state.range(1);
  for (auto _ : state) {
    const Case c = NewCase(*server, "import", "", 10);
    const std::string csv = WriteCsv(c.dir, meters, intervals);
    const auto t0 = Clock::now();
    const int status = Wait(Spawn({"import", csv, "--config", c.config}, c.dir + "/import.log"));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return state.SkipWithError("meterhub import failed (import.log)");
    if (Stored(c.url) != meters * intervals) return state.SkipWithError("meterhub import stored another count");
    state.SetIterationTime(secs);
    state.counters["readings_per_s"] = static_cast<double>(meters * intervals) / secs;
  }
}

void PsqlCopy(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int64_t meters = state.range(0), intervals = state.range(1);
  const std::string psql = mh::store::pg::FindPostgresBinaries() + "/psql";
  for (auto _ : state) {
    const Case c = NewCase(*server, "copy", "", 10);
    // The readings table's columns (store/postgres/pg_store_sql.h), filled as the import fills them.
    const std::string path = c.dir + "/copy.csv";
    {
      std::ofstream out(path);
      char line[160];
      for (int64_t k = 0; k < intervals; ++k)
        for (int64_t i = 0; i < meters; ++i) {
          std::snprintf(line, sizeof line, "%s,\"\",%lld,%.2f,%.2f,import,\"\",1,f\n", MeterId(i).c_str(),
                        static_cast<long long>(kStart + (k + 1) * kInterval),
                        1000.0 + static_cast<double>(i % 977) + 0.25 * static_cast<double>(k), k == 0 ? 0.0 : 0.25);
          out << line;
        }
    }
    std::filesystem::permissions(c.dir, std::filesystem::perms::all);
    const std::string create = psql + " -q " + c.url +
                               " -c 'CREATE TABLE readings (meter_id TEXT NOT NULL, channel TEXT NOT NULL, ts BIGINT NOT NULL,"
                               " value DOUBLE PRECISION NOT NULL, consumption DOUBLE PRECISION NOT NULL, source TEXT NOT NULL,"
                               " quality TEXT NOT NULL, version INTEGER NOT NULL, estimated BOOLEAN NOT NULL,"
                               " PRIMARY KEY (meter_id, channel, ts))'";
    if (std::system(create.c_str()) != 0) return state.SkipWithError("psql: CREATE TABLE failed");
    const auto t0 = Clock::now();
    const std::string copy = psql + " -q " + c.url + " -c \"\\copy readings FROM '" + path + "' CSV\"";
    if (std::system(copy.c_str()) != 0) return state.SkipWithError("psql: \\copy failed");
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(secs);
    state.counters["readings_per_s"] = static_cast<double>(meters * intervals) / secs;
  }
}

// The admin token `meterhub token create` makes in the case's database ("" when it fails).
std::string AdminToken(const Case& c) {
  FILE* out = popen((Binary() + " token create --role admin --config " + c.config + " 2>/dev/null").c_str(), "r");
  if (out == nullptr) return "";
  char line[256] = {0};
  const bool got = std::fgets(line, sizeof line, out) != nullptr;
  pclose(out);
  std::string token = got ? line : "";
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

// range(0) workers, range(1) meters, range(2) intervals: the import path over HTTP. The rows of
// Import are posted as text/csv in 10,000-row bodies by one poster per worker, each poster sending
// a fixed part of the meters (i % workers) in time order and waiting for each answer — so every
// meter's readings arrive in order, as from a head-end's ordered streams. (Dealing time-ordered
// bodies round-robin instead lets a meter's later body overtake an earlier one, and every reading
// of the earlier is then judged late: 4–8× slower, measured.) A worker commits its own shards'
// part and forwards each other owner's part (api/readings_routing.h); each body's 200 means every
// part of it is stored. Timed from the first post to the last answer.
void HttpImport(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int workers = static_cast<int>(state.range(0));
  const int64_t meters = state.range(1), intervals = state.range(2);
  constexpr int64_t kRowsPerBody = 10000;
  for (auto _ : state) {
    const Case c = NewCase(*server, "http" + std::to_string(workers), "", 10);
    const std::string token = AdminToken(c);
    if (token.empty()) return state.SkipWithError("meterhub token create failed");
    // bodies[k]: poster k's, in time order, of the meters i with i % workers == k.
    std::vector<std::vector<std::string>> bodies(static_cast<size_t>(workers));
    for (int k = 0; k < workers; ++k) {
      std::string body = kCsvHeader;
      int64_t rows = 0;
      for (int64_t t = 0; t < intervals; ++t)
        for (int64_t i = k; i < meters; i += workers) {
          body += CsvRow(i, t);
          if (++rows % kRowsPerBody == 0) {
            bodies[static_cast<size_t>(k)].push_back(std::move(body));
            body = kCsvHeader;
          }
        }
      if (rows % kRowsPerBody != 0) bodies[static_cast<size_t>(k)].push_back(std::move(body));
    }
    Workers w(c, workers);
    if (!WaitFor([&] { return Divided(c.url, workers); }, 120)) return state.SkipWithError("the shards were not divided");
    std::vector<std::string> listen;
    for (int k = 1; k <= workers; ++k) {
      const std::string id = "w" + std::to_string(k);
      std::string addr;
      WaitFor([&] { return !(addr = Scalar(c.url, "SELECT listen FROM workers WHERE worker_id = '" + id + "'")).empty(); }, 30);
      if (addr.empty()) return state.SkipWithError("a worker did not record its listen address");
      listen.push_back(addr);
    }
    // Every worker's view of the owners is one lease round old (lease_period / 3): wait a round,
    // so the first bodies are not refused (503) for a division a worker has not read yet.
    std::this_thread::sleep_for(std::chrono::seconds(4));
    std::atomic<int64_t> refused{0}, failed{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> posters;
    for (int k = 0; k < workers; ++k) {
      posters.emplace_back([&, k] {
        const std::string& addr = listen[static_cast<size_t>(k)];
        httplib::Client client(addr.substr(0, addr.rfind(':')), std::stoi(addr.substr(addr.rfind(':') + 1)));
        client.set_read_timeout(120, 0);
        const httplib::Headers auth{{"Authorization", "Bearer " + token}};
        for (const std::string& body : bodies[static_cast<size_t>(k)]) {
          // 503 (a part's owner between leases) is retried, as a client should: stored rows come back as duplicates.
          for (int attempt = 0;; ++attempt) {
            auto r = client.Post("/api/v1/readings", auth, body, "text/csv");
            if (r && r->status == 200) break;
            if (attempt == 20 || (r && r->status != 503)) {
              if (failed.fetch_add(1) == 0)
                std::fprintf(stderr, "HttpImport: %s answered %s\n", addr.c_str(),
                             r ? (std::to_string(r->status) + " " + r->body.substr(0, 300)).c_str() : httplib::to_string(r.error()).c_str());
              break;
            }
            refused.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
        }
      });
    }
    for (std::thread& t : posters) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (failed.load() > 0) return state.SkipWithError("a body was not stored (workers.log)");
    if (Stored(c.url) != meters * intervals) return state.SkipWithError("the workers stored another count");
    state.SetIterationTime(secs);
    state.counters["readings_per_s"] = static_cast<double>(meters * intervals) / secs;
    state.counters["retried_503"] = static_cast<double>(refused.load());
  }
}

// range(0): the lease period in seconds. 2,000 meters, three workers; w1 is SIGKILLed, then one
// interval is published at once: the time until the first reading of one of w1's shards is stored.
void Takeover(benchmark::State& state) {
  Server* server = GetPgServer();
  if (server == nullptr) return state.SkipWithError("no PostgreSQL server binaries (scripts/install-deps.sh)");
  const int lease_s = static_cast<int>(state.range(0));
  const int64_t meters = 2000;
  for (auto _ : state) {
    const std::string name = "takeover" + std::to_string(lease_s);
    mh::app::LocalBroker broker;
    if (!broker.Start(server->dir + "/" + name + "-broker").ok()) return state.SkipWithError("mosquitto did not start");
    const Case c = NewCase(*server, name, broker.address(), lease_s);
    Workers w(c, 3);
    if (!WaitFor([&] { return Divided(c.url, 3); }, 120)) return state.SkipWithError("the shards were not divided");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    if (!WarmUp(state, broker.port(), c.url, meters)) return;
    const std::string shards = Scalar(c.url, "SELECT string_agg(shard::text, ',') FROM shard_leases WHERE worker_id = 'w1'");
    if (shards.empty()) return state.SkipWithError("w1 holds no shard");
    kill(w.pids[0], SIGKILL);
    Wait(w.pids[0]);
    w.pids[0] = -1;
    const auto t0 = Clock::now();
    Publish(broker.port(), Interval(meters, 0), "after-kill", {});
    // The interval's timestamp, on a meter of one of w1's former shards.
    std::set<int> lost;
    for (size_t at = 0; at < shards.size();) {
      const size_t comma = shards.find(',', at);
      lost.insert(std::atoi(shards.substr(at, comma - at).c_str()));
      at = comma == std::string::npos ? shards.size() : comma + 1;
    }
    std::string in;
    for (int64_t i = 0; i < meters; ++i)
      if (lost.count(mh::ShardOf(MeterId(i))) != 0) in += (in.empty() ? "'" : ",'") + MeterId(i) + "'";
    const std::string sql = "SELECT count(*) FROM readings WHERE ts = " + std::to_string(kStart + kInterval) +
                            " AND meter_id IN (" + in + ")";
    if (!WaitFor([&] { return Count(c.url, sql) > 0; }, 10.0 * lease_s + 60))
      return state.SkipWithError("no reading of w1's shards stored after the kill");
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(secs);
    state.counters["lease_period_s"] = lease_s;
    state.counters["takeover_s"] = secs;
  }
}

// 10,000 meters × 3 timed intervals (30,000 messages) through 1, 2, 3 workers; the same rows
// imported and \copy'd; takeover with the default 10 s lease and with 2 s.
BENCHMARK(MqttWorkers)->ArgsProduct({{1, 2, 3}, {10000}, {3}})->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(Import)->Args({10000, 3})->Args({10000, 96})->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(HttpImport)->Args({1, 10000, 96})->Args({2, 10000, 96})->Args({3, 10000, 96})->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kSecond);
BENCHMARK(PsqlCopy)->Args({10000, 3})->Args({10000, 96})->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(Takeover)->Arg(10)->Arg(2)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  mosquitto_lib_init();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  mosquitto_lib_cleanup();
  return 0;
}
