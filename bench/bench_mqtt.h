// The MQTT benches' publisher side (mqtt_ingest_bench, pg_workers_bench): one reading per QoS 1
// message from N distinct meters' topics, time-interleaved (every meter's reading of interval t is
// published before any of t + 1), kPublishers connections keeping kInFlightPerPublisher messages
// in flight each.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "ingest/mqtt_tls.h"

namespace mh::bench {

constexpr int kPublishers = 6;
constexpr int kInFlightPerPublisher = 50;
constexpr int64_t kStart = 1590940800;  // 2020-06-01T00:00Z
constexpr int64_t kInterval = 900;

struct Message {
  std::string topic, payload;
};

inline std::string MeterId(int64_t i) {
  char id[24];  // "E" and up to 19 digits
  std::snprintf(id, sizeof id, "E%07" PRId64, i);
  return id;
}

// Interval `k` of every meter, in meter order (a head-end's arrival order within a time step).
inline std::vector<Message> Interval(int64_t meters, int64_t k) {
  std::vector<Message> out;
  out.reserve(static_cast<size_t>(meters));
  for (int64_t i = 0; i < meters; ++i) {
    const std::string id = MeterId(i);
    mh::Reading r;
    r.meter_id = id;
    r.ts = kStart + (k + 1) * kInterval;
    r.value = 1000.0 + static_cast<double>(i % 977) + 0.25 * static_cast<double>(k);
    out.push_back({"meters/" + std::to_string(mh::ShardOf(id)) + "/" + id + "/readings", mh::codec::ReadingToJson(r)});
  }
  return out;
}

// kPublishers connections, each sending every kPublishers-th message with at most
// kInFlightPerPublisher unacknowledged; returns when the broker has acknowledged all of them.
inline void Publish(int port, const std::vector<Message>& messages, const std::string& name, const mh::ingest::MqttTls& tls) {
  std::vector<std::thread> threads;
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      std::atomic<int64_t> acked{0};
      mosquitto* m = mosquitto_new((name + "-pub-" + std::to_string(p)).c_str(), true, &acked);
      mosquitto_publish_callback_set(m, [](mosquitto*, void* a, int) { ++*static_cast<std::atomic<int64_t>*>(a); });
      mosquitto_max_inflight_messages_set(m, kInFlightPerPublisher);
      (void)mh::ingest::ApplyMqttTls(m, tls);
      mosquitto_connect(m, "127.0.0.1", port, 60);
      mosquitto_loop_start(m);
      int64_t sent = 0;
      for (size_t i = static_cast<size_t>(p); i < messages.size(); i += kPublishers) {
        while (sent - acked.load() >= kInFlightPerPublisher) std::this_thread::sleep_for(std::chrono::microseconds(50));
        const Message& msg = messages[i];
        while (mosquitto_publish(m, nullptr, msg.topic.c_str(), static_cast<int>(msg.payload.size()), msg.payload.data(),
                                 1, false) != MOSQ_ERR_SUCCESS)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++sent;
      }
      while (acked.load() < sent) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      mosquitto_disconnect(m);
      mosquitto_loop_stop(m, false);
      mosquitto_destroy(m);
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace mh::bench
