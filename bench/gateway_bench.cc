// The TCP gateway (issue 16) against simulated devices on 127.0.0.1 (src/sim/protocol_devices.h,
// answers with no line delay): polled meters per DTU per minute, DTUs per gateway before the poll
// interval is missed, DLMS pushes/s, memory per connected DTU. The sink only counts: what is
// measured is the gateway, not the broker or the store (bench/mqtt_ingest_bench has that path).
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "codec/meter/keys_file.h"
#include "gateway/gateway.h"
#include "sim/protocol_devices.h"

namespace mh {
namespace {

struct CountingSink : gateway::ReadingSink {
  std::atomic<int64_t> readings{0};
  Status Deliver(const std::vector<Reading>& r) override {
    readings += static_cast<int64_t>(r.size());
    return Status::Ok();
  }
  Status Reject(const std::string&, std::string_view, std::span<const uint8_t>) override { return Status::Ok(); }
};

struct MapDirectory : gateway::MeterDirectory {
  std::map<std::string, std::vector<gateway::GatewayMeter>> behind;
  std::map<std::string, gateway::GatewayMeter> by_address;
  Result<std::vector<gateway::GatewayMeter>> MetersBehind(const std::string& id) override { return behind[id]; }
  Result<std::optional<gateway::GatewayMeter>> MeterByAddress(const std::string&, const std::string& address) override {
    auto it = by_address.find(address);
    if (it == by_address.end()) return std::optional<gateway::GatewayMeter>();
    return std::optional<gateway::GatewayMeter>(it->second);
  }
};

// Both ends of every connection live in this process.
void RaiseFdLimit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

std::string Address(int dtu, int meter) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06d%06d", dtu, meter);
  return buf;
}

// DTUs of `meters` DL/T 645 meters each, polled every `interval_s`, run for `seconds`.
void RunPolling(benchmark::State& state, int dtus, int meters, int64_t interval_s, double seconds) {
  spdlog::set_level(spdlog::level::warn);
  RaiseFdLimit();
  MapDirectory dir;
  CountingSink sink;
  gateway::GatewayOptions o;
  o.listen = "127.0.0.1:0";
  o.poll_interval_s = interval_s;
  // Each simulated DTU probes the port once before it connects (SimDtu::Start): room for both.
  o.max_connections = 2 * dtus + 10;
  std::vector<std::unique_ptr<sim::SimDtu>> sims;
  for (int d = 0; d < dtus; ++d) {
    std::vector<sim::SimProtocolMeter> sm;
    for (int m = 0; m < meters; ++m) {
      gateway::GatewayMeter g{"M" + Address(d, m), "dlt645", Address(d, m), interval_s, {}};
      dir.behind["DTU" + std::to_string(d)].push_back(g);
      sm.push_back({"dlt645", Address(d, m), 100, 0.01, sim::MeterBehaviour::kAnswer});
    }
    sims.push_back(std::make_unique<sim::SimDtu>("DTU" + std::to_string(d) + "\n", std::move(sm)));
  }
  gateway::Gateway gw(o, &dir, &sink);
  if (!gw.Start().ok()) return state.SkipWithError("gateway did not start");
  for (auto& s : sims) {
    if (!s->Start("127.0.0.1", gw.port()).ok()) return state.SkipWithError("DTU did not connect");
  }
  for (auto _ : state) {
    // The first round starts at registration; count from then.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const int64_t polls0 = gw.counters().polls.load(), late0 = gw.counters().late.load();
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double polls = static_cast<double>(gw.counters().polls.load() - polls0);
    state.counters["polls_per_s"] = polls / elapsed;
    state.counters["polled_meters_per_dtu_per_min"] = polls / elapsed * 60 / dtus;
    state.counters["due_polls_per_s"] = static_cast<double>(dtus) * meters / static_cast<double>(interval_s);
    state.counters["late_polls"] = static_cast<double>(gw.counters().late.load() - late0);
    state.counters["silent"] = static_cast<double>(gw.counters().silent.load());
  }
  for (auto& s : sims) s->Stop();
  gw.Stop();
}

// One DTU, its line always busy (interval 1 s, more meters than one second can read): the most
// meters a DTU's polling reads per minute with a zero-latency line.
void BM_PolledMetersPerDtu(benchmark::State& state) { RunPolling(state, 1, 5000, 1, 5); }
BENCHMARK(BM_PolledMetersPerDtu)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// N DTUs of 16 meters each read every 2 s: late_polls > 0 once the gateway falls behind.
void BM_DtusPerGateway(benchmark::State& state) { RunPolling(state, static_cast<int>(state.range(0)), 16, 2, 6); }
BENCHMARK(BM_DtusPerGateway)->Arg(10)->Arg(100)->Arg(500)->Arg(1000)->Arg(2000)->Arg(3000)->Arg(4000)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

// DLMS pushes/s through the gateway: `state.range(0)` meters pushing back to back, in clear or
// (`state.range(1)` = 1) ciphered with AES-128-GCM, deciphered with the keys the gateway was given.
void BM_DlmsPushes(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const int meters = static_cast<int>(state.range(0));
  const bool ciphered = state.range(1) != 0;
  constexpr int kPushes = 20000;
  constexpr char kKey[] = "000102030405060708090A0B0C0D0E0F", kAuth[] = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
  MapDirectory dir;
  CountingSink sink;
  auto keys = std::make_shared<codec::DecodeKeys>();
  gateway::GatewayOptions o;
  o.dlms_listen = "127.0.0.1:0";
  std::vector<std::vector<std::vector<uint8_t>>> pdus(static_cast<size_t>(meters));  // per meter, built before the clock starts
  for (int m = 0; m < meters; ++m) {
    const std::string name = "MHU00000000" + std::to_string(10000 + m), title = "4D485500000" + std::to_string(10000 + m);
    const std::string address = ciphered ? title : name;
    dir.by_address[address] = gateway::GatewayMeter{"D" + std::to_string(m), "dlms", address, 900, {}};
    if (ciphered) keys->by_address[title] = {*codec::ParseAesKey(kKey), *codec::ParseAesKey(kAuth)};
    for (int i = 0; i < kPushes / meters; ++i) {
      const uint32_t wh = 1000 + static_cast<uint32_t>(i);
      pdus[static_cast<size_t>(m)].push_back(ciphered ? *sim::DlmsCipheredPush(name, wh, title, kKey, kAuth, static_cast<uint32_t>(i))
                                                      : sim::DlmsPush(name, wh));
    }
  }
  gateway::Gateway gw(o, &dir, &sink, SystemClock::Instance(), keys);
  if (!gw.Start().ok()) return state.SkipWithError("gateway did not start");
  for (auto _ : state) {
    const int64_t before = gw.counters().dlms_pushes.load();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pushers;
    for (int m = 0; m < meters; ++m) {
      pushers.emplace_back([&, m] { (void)sim::SendPdus("127.0.0.1", gw.dlms_port(), pdus[static_cast<size_t>(m)], 0); });
    }
    for (auto& t : pushers) t.join();
    while (gw.counters().dlms_pushes.load() - before < kPushes &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["pushes_per_s"] = static_cast<double>(gw.counters().dlms_pushes.load() - before) / elapsed;
  }
  gw.Stop();
}
BENCHMARK(BM_DlmsPushes)->Args({1, 0})->Args({16, 0})->Args({1, 1})->Args({16, 1})->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

int64_t RssKb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    int64_t kb = 0;
    if (key == "VmRSS:" && status >> kb) return kb;
    std::string rest;
    std::getline(status, rest);
  }
  return -1;
}

// Memory per connected, registered DTU (each with 8 meters to poll every 15 min): the process's
// RSS growth over `state.range(0)` connections, divided by their number. The client ends are
// plain sockets (kernel memory, not RSS).
void BM_MemoryPerDtu(benchmark::State& state) {
  spdlog::set_level(spdlog::level::err);  // every DTU leaves with its request in flight
  const int n = static_cast<int>(state.range(0));
  RaiseFdLimit();
  MapDirectory dir;
  CountingSink sink;
  for (int d = 0; d < n; ++d) {
    for (int m = 0; m < 8; ++m)
      dir.behind["DTU" + std::to_string(d)].push_back({"M" + Address(d, m), "dlt645", Address(d, m), 900, {}});
  }
  gateway::GatewayOptions o;
  o.listen = "127.0.0.1:0";
  o.max_connections = n + 10;
  o.poll_timeout_ms = 3600 * 1000;  // nobody answers: the one request per DTU stays in flight
  gateway::Gateway gw(o, &dir, &sink);
  if (!gw.Start().ok()) return state.SkipWithError("gateway did not start");
  for (auto _ : state) {
    const int64_t before = RssKb();
    std::vector<int> fds;
    for (int d = 0; d < n; ++d) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(gw.port()));
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) break;
      const std::string reg = "DTU" + std::to_string(d) + "\n";
      (void)!write(fd, reg.data(), reg.size());
      fds.push_back(fd);
    }
    while (gw.counters().dtus.load() < static_cast<int64_t>(fds.size())) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    state.counters["dtus"] = static_cast<double>(gw.counters().dtus.load());
    state.counters["rss_kb_per_dtu"] = static_cast<double>(RssKb() - before) / static_cast<double>(fds.size());
    for (int fd : fds) close(fd);
  }
  gw.Stop();
}
BENCHMARK(BM_MemoryPerDtu)->Arg(1000)->Arg(5000)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace mh

BENCHMARK_MAIN();
