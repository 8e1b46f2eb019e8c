// Query latencies at a fleet's size through the REST API (issue 12), p50 and p99 per request: the
// daemon in-process on an existing database (bench/run.sh builds them with `meterhub import`),
// requests over loopback HTTP with an admin token, one at a time.
//   MeterYear        GET /api/v1/meters/{id}/readings?from=&to=&limit=100000 — one meter's year
//   ConsumptionDay   GET /api/v1/consumption?date=&limit=1000&after= — successive pages of one day
//                    of all meters (wrapping to the first page at the end)
//   Quarantine       GET /api/v1/quarantine?limit=1000 — a page of 1000 abnormal readings of the
//                    fleet, and one meter's (?meter=)
// Environment: MH_BENCH_YEAR_DB (+ MH_BENCH_METER, MH_BENCH_YEAR = first day, YYYY-MM-DD) for the
// first and the last, MH_BENCH_FLEET_DB (+ MH_BENCH_DATE) for the second; a benchmark without its
// database is skipped.
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/auth.h"
#include "app/daemon.h"
#include "core/time.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

// A daemon on `db` (no MQTT, no background work that writes) and an admin token for it.
struct Served {
  std::unique_ptr<mh::app::Daemon> daemon;
  std::unique_ptr<httplib::Client> client;
  httplib::Headers auth;
};

mh::Result<Served> Serve(const std::string& db) {
  mh::app::Config config;
  config.store.path = db;
  config.http.listen = "127.0.0.1:0";
  config.mqtt.broker = "";
  config.log.level = "warn";
  Served s;
  s.daemon = std::make_unique<mh::app::Daemon>(config);
  MH_RETURN_IF_ERROR(s.daemon->Start());
  MH_ASSIGN_OR_RETURN(std::string token, mh::api::CreateToken(*s.daemon->store(), mh::api::Role::kAdmin, "bench", ""));
  s.client = std::make_unique<httplib::Client>("127.0.0.1", s.daemon->http_port());
  s.client->set_read_timeout(300, 0);
  s.auth = {{"Authorization", "Bearer " + token}};
  return s;
}

// Times `path(i)` once per iteration; reports p50/p99 in ms and the mean body size.
template <typename Path>
void Measure(benchmark::State& state, Served& s, Path path) {
  std::vector<double> ms;
  double bytes = 0;
  int64_t i = 0;
  for (auto _ : state) {
    const std::string p = path(i++);
    const auto t0 = Clock::now();
    auto r = s.client->Get(p.c_str(), s.auth);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!r || r->status != 200) return state.SkipWithError(("GET " + p + " failed").c_str());
    state.SetIterationTime(secs);
    ms.push_back(secs * 1000);
    bytes += static_cast<double>(r->body.size());
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))]; };
  state.counters["p50_ms"] = pct(0.50);
  state.counters["p99_ms"] = pct(0.99);
  state.counters["body_KiB"] = bytes / static_cast<double>(ms.size()) / 1024.0;
}

void BM_MeterYear(benchmark::State& state) {
  const std::string db = Env("MH_BENCH_YEAR_DB");
  if (db.empty()) return state.SkipWithError("MH_BENCH_YEAR_DB not set");
  auto s = Serve(db);
  if (!s.ok()) return state.SkipWithError(s.status().ToString().c_str());
  auto from = mh::ParseTimestamp(Env("MH_BENCH_YEAR", "2020-06-01"));
  if (!from.ok()) return state.SkipWithError("MH_BENCH_YEAR: not a date");
  const std::string meter = Env("MH_BENCH_METER", "E000001");
  const std::string path = "/api/v1/meters/" + meter + "/readings?from=" + std::to_string(*from) +
                           "&to=" + std::to_string(*from + 365 * 86400) + "&limit=100000";
  auto first = s->client->Get(path.c_str(), s->auth);
  if (!first || first->status != 200) return state.SkipWithError("the year query failed");
  state.counters["readings"] = static_cast<double>(nlohmann::json::parse(first->body)["readings"].size());
  Measure(state, *s, [&](int64_t) { return path; });
  s->daemon->Stop();
}

void BM_ConsumptionDay(benchmark::State& state) {
  const std::string db = Env("MH_BENCH_FLEET_DB");
  if (db.empty()) return state.SkipWithError("MH_BENCH_FLEET_DB not set");
  auto s = Serve(db);
  if (!s.ok()) return state.SkipWithError(s.status().ToString().c_str());
  const std::string date = Env("MH_BENCH_DATE", "2020-06-01");
  // The cursors of every page, collected untimed first (a full sweep), then pages in turn.
  std::vector<std::string> cursors{""};
  const auto sweep0 = Clock::now();
  for (;;) {
    auto r = s->client->Get(("/api/v1/consumption?date=" + date + "&limit=1000&after=" + cursors.back()).c_str(), s->auth);
    if (!r || r->status != 200) return state.SkipWithError("the consumption sweep failed");
    auto next = nlohmann::json::parse(r->body)["next"];
    if (next.is_null()) break;
    cursors.push_back(next.get<std::string>());
  }
  state.counters["pages"] = static_cast<double>(cursors.size());
  state.counters["full_sweep_s"] = std::chrono::duration<double>(Clock::now() - sweep0).count();
  Measure(state, *s, [&](int64_t i) {
    return "/api/v1/consumption?date=" + date + "&limit=1000&after=" + cursors[static_cast<size_t>(i) % cursors.size()];
  });
  s->daemon->Stop();
}

void BM_Quarantine(benchmark::State& state) {
  const std::string db = Env("MH_BENCH_YEAR_DB");
  if (db.empty()) return state.SkipWithError("MH_BENCH_YEAR_DB not set");
  auto s = Serve(db);
  if (!s.ok()) return state.SkipWithError(s.status().ToString().c_str());
  const std::string path = state.range(0) == 0 ? std::string("/api/v1/quarantine?limit=1000")
                                               : "/api/v1/quarantine?limit=1000&meter=" + Env("MH_BENCH_METER", "E000001");
  auto first = s->client->Get(path.c_str(), s->auth);
  if (!first || first->status != 200) return state.SkipWithError("the quarantine query failed");
  state.counters["rows"] = static_cast<double>(nlohmann::json::parse(first->body)["quarantine"].size());
  Measure(state, *s, [&](int64_t) { return path; });
  s->daemon->Stop();
}

BENCHMARK(BM_MeterYear)->Iterations(50)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConsumptionDay)->Iterations(200)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Quarantine)->Arg(0)->Arg(1)->Iterations(100)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
