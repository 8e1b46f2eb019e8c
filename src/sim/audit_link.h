// Audited meters' MQTT link to a `meterhub serve` (or the demo's daemon): first monitoring times
// on meters/<shard>/<id>/audit/signal as the plugin hands them over, segments on .../audit/segments
// at a cycle end or when asked, readings on .../readings (payloads: audit/messages.h and SPEC 0.2),
// and the meters' commands from .../commands handed to a callback (on the link's network thread).
// QoS 1, counted when the broker acknowledges them. One connection serves any number of meters.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "ingest/mqtt_tls.h"
#include "meter/audit/plugin.h"

struct mosquitto;

namespace mh::sim {

class AuditMqttLink final : public meter::audit::Uploader {
 public:
  AuditMqttLink() = default;
  AuditMqttLink(const AuditMqttLink&) = delete;
  AuditMqttLink& operator=(const AuditMqttLink&) = delete;
  ~AuditMqttLink() override;

  // Connects to the broker on 127.0.0.1:`port` (blocking; over TLS when `tls` is set) and starts
  // the network thread.
  Status Connect(int port, const std::string& client_id, const ingest::MqttTls& tls = {});
  // The plugin's real-time upload: a failed publish is counted in failures(), not thrown.
  void Upload(const meter::audit::SignalEvent& event) override;
  Status PublishSegments(const std::string& meter_id, std::string_view fixed_image, std::string_view dynamic_text,
                         std::string_view compare_text);
  // Cumulative register readings (SPEC 0.2) as (t, value), in one message (a JSON array).
  Status PublishReadings(const std::string& meter_id, const std::vector<std::pair<int64_t, double>>& readings);
  Status Publish(const std::string& meter_id, const std::string& suffix, std::string_view payload);

  // Commands for the meters subscribed below go to `handler(meter_id, payload)`, called on the
  // link's network thread (set it before subscribing).
  using CommandHandler = std::function<void(const std::string& meter_id, const std::string& payload)>;
  void SetCommandHandler(CommandHandler handler);
  // Subscribes to meters/<shard>/<id>/commands (QoS 1).
  Status SubscribeCommands(const std::string& meter_id);
  // Waits (bounded) until the broker acknowledged every subscription; false on timeout.
  bool WaitSubscribed(double timeout_s) const;
  // Waits (bounded) until the broker acknowledged everything sent; false on timeout.
  bool WaitAcked(double timeout_s) const;

  int64_t sent() const { return sent_; }
  int64_t acked() const { return acked_; }
  int64_t signals() const { return signals_; }  // first monitoring times published
  int64_t readings() const { return readings_; }  // readings published
  int64_t failures() const { return failures_; }

 private:
  void OnMessage(const std::string& topic, const std::string& payload);

  struct mosquitto* mosq_ = nullptr;
  std::mutex handler_mu_;
  CommandHandler handler_;  // guarded by handler_mu_
  std::atomic<int64_t> subscribed_{0}, subacked_{0};
  std::atomic<int64_t> sent_{0}, acked_{0};
  int64_t signals_ = 0, failures_ = 0;
  std::atomic<int64_t> readings_{0};
};

}  // namespace mh::sim
