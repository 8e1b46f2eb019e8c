// The live MQTT path at a fleet's shape, side by side with its peer in the same run (issue 12):
// one reading per QoS 1 message from N distinct meters' topics, time-interleaved (every meter's
// reading of interval t is published before any of t + 1), 6 publishers keeping 50 messages in
// flight each, against one real Mosquitto (own, loopback).
//   MosquittoRelay — the peer: the same messages relayed to plain QoS 1 subscribers, one persistent
//     session per shard (the 64 sessions MeterHub uses, the same shard split), counting them;
//   MeterHub — the daemon in-process on SQLite (synchronous=full, PUBACK only after the commit),
//     until every reading is stored;
//   MeterHubTls — the same with the broker's listener on TLS (a throw-away CA, P-256 certificate)
//     and every publisher and shard session over it: the cost of TLS on the MQTT path (issue 18).
// The meters are registered (one untimed warm-up interval) before the timed intervals start.
// Counters: readings_per_s, bytes written to storage per reading (this process's /proc/self/io
// write_bytes over the timed part: the daemon's database and WAL), the process's peak RSS.
//   mqtt_ingest_bench [--benchmark_filter=...]   (bench/run.sh runs it)
#include <benchmark/benchmark.h>
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "app/daemon.h"
#include "app/huge_pages.h"
#include "app/local_broker.h"
#include "app/tls_setup.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "bench_mqtt.h"

namespace {

using namespace mh::bench;
using Clock = std::chrono::steady_clock;

int64_t ProcField(const char* file, const char* key) {  // a "key: N" line of /proc/self/<file>
  std::ifstream in(std::string("/proc/self/") + file);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + std::strlen(key));
  return 0;
}

template <typename Done>
void WaitFor(Done done) {
  while (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void Report(benchmark::State& state, int64_t readings, double secs, int64_t written_bytes) {
  state.SetIterationTime(secs);
  state.counters["readings"] = static_cast<double>(readings);
  state.counters["readings_per_s"] = static_cast<double>(readings) / secs;
  state.counters["bytes_written_per_reading"] = static_cast<double>(written_bytes) / static_cast<double>(readings);
  state.counters["peak_rss_MiB"] = static_cast<double>(ProcField("status", "VmHWM:")) / 1024.0;
}

// The untimed warm-up interval (every meter seen once), then `intervals` timed ones, until
// `consumed()` (messages received / readings stored) has counted them all.
template <typename Consumed>
void WarmUpThenTime(benchmark::State& state, int port, int64_t meters, int64_t intervals, Consumed consumed,
                    const mh::ingest::MqttTls& tls = {}) {
  Publish(port, Interval(meters, 0), "warm", tls);
  WaitFor([&] { return consumed() >= meters; });
  std::vector<Message> timed;
  for (int64_t k = 1; k <= intervals; ++k) {
    std::vector<Message> step = Interval(meters, k);
    std::move(step.begin(), step.end(), std::back_inserter(timed));
  }
  const int64_t target = meters * (intervals + 1);
  const auto t0 = Clock::now();
  const int64_t written0 = ProcField("io", "write_bytes:");
  Publish(port, timed, "timed", tls);
  WaitFor([&] { return consumed() >= target; });
  Report(state, meters * intervals, std::chrono::duration<double>(Clock::now() - t0).count(),
         ProcField("io", "write_bytes:") - written0);
}

// range(0) meters, range(1) timed intervals.
void BM_MosquittoRelay(benchmark::State& state) {
  const int64_t meters = state.range(0), intervals = state.range(1);
  for (auto _ : state) {
    const std::string dir = "/tmp/meterhub-mqtt-bench/relay";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    mh::app::LocalBroker broker;
    if (!broker.Start(dir + "/broker").ok()) return state.SkipWithError("mosquitto did not start");
    std::atomic<int64_t> received{0};
    std::vector<mosquitto*> subscribers;
    for (int shard = 0; shard < mh::kShardCount; ++shard) {
      mosquitto* s = mosquitto_new(("relay-sub-" + std::to_string(shard)).c_str(), false, &received);
      mosquitto_message_callback_set(s, [](mosquitto*, void* n, const mosquitto_message*) {
        ++*static_cast<std::atomic<int64_t>*>(n);
      });
      mosquitto_connect(s, "127.0.0.1", broker.port(), 60);
      mosquitto_subscribe(s, nullptr, ("meters/" + std::to_string(shard) + "/+/readings").c_str(), 1);
      mosquitto_loop_start(s);
      subscribers.push_back(s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // subscriptions in place
    WarmUpThenTime(state, broker.port(), meters, intervals, [&] { return received.load(); });
    for (mosquitto* s : subscribers) {
      mosquitto_disconnect(s);
      mosquitto_loop_stop(s, false);
      mosquitto_destroy(s);
    }
  }
}

void RunMeterHub(benchmark::State& state, bool tls) {
  const int64_t meters = state.range(0), intervals = state.range(1);
  for (auto _ : state) {
    const std::string dir = std::string("/tmp/meterhub-mqtt-bench/") + (tls ? "meterhub-tls" : "meterhub");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    mh::app::LocalBroker broker;
    mh::ingest::MqttTls client_tls;
    if (tls) {
      auto files = mh::app::MakeThrowAwayTls(dir + "/tls");
      if (!files.ok()) return state.SkipWithError(files.status().ToString().c_str());
      broker.SetTlsFiles(files->ca_file, files->cert_file, files->key_file);
      client_tls.ca_file = files->ca_file;
    }
    if (!broker.Start(dir + "/broker").ok()) return state.SkipWithError("mosquitto did not start");
    mh::app::Config config;
    config.mqtt.tls_ca = client_tls.ca_file;
    config.store.path = dir + "/meterhub.db";
    config.mqtt.broker = broker.address();
    config.http.listen = "127.0.0.1:0";
    config.ingest.auto_register = true;
    config.ingest.max_future = "3650d";
    config.log.level = "warn";
    mh::app::Daemon daemon(config);
    if (mh::Status s = daemon.Start(); !s.ok()) return state.SkipWithError(s.ToString().c_str());
    WaitFor([&] { return daemon.mqtt()->connected(); });
    const auto& c = daemon.pipeline()->counters();
    auto stored = [&c] {
      return c.accepted.load() + c.duplicates.load() + c.quarantined[1].load() + c.quarantined[2].load() +
             c.quarantined[3].load();
    };
    WarmUpThenTime(state, broker.port(), meters, intervals, stored, client_tls);
    state.counters["commits"] = static_cast<double>(c.commits.load());
    daemon.Stop();
  }
}

void BM_MeterHub(benchmark::State& state) { RunMeterHub(state, false); }
void BM_MeterHubTls(benchmark::State& state) { RunMeterHub(state, true); }

// 20,000 meters × 10 intervals, 200,000 meters × 2 and 1,000,000 meters × 1 (200,000 to 1,000,000
// timed messages, after one warm-up message per meter). The 1 M case is last: peak_rss_MiB is the
// process's high-water mark, so it reads the daemon holding a million meters.
void FleetArgs(benchmark::internal::Benchmark* b) {
  b->Args({20000, 10})->Args({200000, 2})->Args({1000000, 1})->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
}
BENCHMARK(BM_MosquittoRelay)->Apply(FleetArgs);
BENCHMARK(BM_MeterHub)->Apply(FleetArgs);
BENCHMARK(BM_MeterHubTls)->Apply(FleetArgs);

}  // namespace

int main(int argc, char** argv) {
  // As `meterhub serve` runs (app/huge_pages.h); the relay-only peer in this process gets the same.
  mh::app::ReexecWithHugePageHeap(argv);
  mh::app::TuneHeapForFleet();
  mosquitto_lib_init();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  mosquitto_lib_cleanup();
  return 0;
}
