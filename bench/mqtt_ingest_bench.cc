// MQTT-path ingest throughput: a real Mosquitto (own, loopback), the daemon in-process on SQLite
// (synchronous=full), and a publisher sending a simulated fleet's readings at QoS 1, K readings per
// message. Prints readings/s from the first publish until every reading is stored.
//   mqtt_ingest_bench [readings=1000000] [per_message=96] [dir=/tmp/meterhub-mqtt-bench]
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "app/daemon.h"
#include "app/local_broker.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "sim/fleet.h"
#include "sim/load_model.h"

int main(int argc, char** argv) {
  using namespace mh;
  const int64_t target = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const size_t per_message = argc > 2 ? static_cast<size_t>(std::atoll(argv[2])) : 96;
  const std::string dir = argc > 3 ? argv[3] : "/tmp/meterhub-mqtt-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  app::LocalBroker broker;
  if (!broker.Start(dir + "/broker").ok()) {
    std::fprintf(stderr, "mosquitto did not start\n");
    return 1;
  }
  app::Config config;
  config.store.path = dir + "/meterhub.db";
  config.mqtt.broker = broker.address();
  config.http.listen = "127.0.0.1:0";
  config.ingest.auto_register = true;
  config.log.level = "warn";
  app::Daemon daemon(config);
  if (Status s = daemon.Start(); !s.ok()) {
    std::fprintf(stderr, "daemon: %s\n", s.ToString().c_str());
    return 1;
  }
  while (!daemon.mqtt()->connected()) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // Readings first, so that generating them is not timed.
  sim::FleetOptions fo;
  fo.meters = 1000;
  fo.electricity_share = 1.0;
  const int64_t start = 1590940800;  // 2020-06-01
  sim::Fleet fleet(sim::DefaultLoadModel(), fo, start);
  std::vector<std::pair<std::string, std::string>> messages;  // topic, payload
  std::map<std::string, std::vector<Reading>> pending;
  int64_t generated = 0;
  auto flush = [&](const std::string& id, std::vector<Reading>& rs) {
    std::string payload = "[";
    for (size_t i = 0; i < rs.size(); ++i) payload += (i ? "," : "") + codec::ReadingToJson(rs[i]);
    payload += "]";
    messages.emplace_back("meters/" + std::to_string(ShardOf(id)) + "/" + id + "/readings", std::move(payload));
    rs.clear();
  };
  for (int64_t t = start; generated < target; t += 86400) {
    fleet.AdvanceTo(t + 86400, [&](const Reading& r) {
      if (generated >= target) return;
      ++generated;
      auto& rs = pending[r.meter_id];
      rs.push_back(r);
      if (rs.size() >= per_message) flush(r.meter_id, rs);
    });
  }
  for (auto& [id, rs] : pending)
    if (!rs.empty()) flush(id, rs);

  mosquitto_lib_init();
  struct mosquitto* pub = mosquitto_new("bench-publisher", true, nullptr);
  std::atomic<int64_t> acked{0};
  mosquitto_user_data_set(pub, &acked);
  mosquitto_publish_callback_set(pub, [](struct mosquitto*, void* a, int) { ++*static_cast<std::atomic<int64_t>*>(a); });
  mosquitto_max_inflight_messages_set(pub, 500);
  mosquitto_connect(pub, "127.0.0.1", broker.port(), 30);
  mosquitto_loop_start(pub);

  auto t0 = std::chrono::steady_clock::now();
  int64_t sent = 0;
  for (const auto& [topic, payload] : messages) {
    while (sent - acked > 5000) std::this_thread::sleep_for(std::chrono::microseconds(200));
    mosquitto_publish(pub, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    ++sent;
  }
  const auto& c = daemon.pipeline()->counters();
  while (c.accepted.load() + c.duplicates.load() + c.quarantined[1].load() + c.quarantined[2].load() +
             c.quarantined[3].load() < generated)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mqtt_ingest: %lld readings in %zu messages (%zu per message) stored in %.2f s = %.0f readings/s "
              "(%.0f messages/s, commits %lld)\n",
              static_cast<long long>(generated), messages.size(), per_message, secs, generated / secs,
              messages.size() / secs, static_cast<long long>(c.commits.load()));
  mosquitto_disconnect(pub);
  mosquitto_loop_stop(pub, false);
  mosquitto_destroy(pub);
  daemon.Stop();
  return 0;
}
