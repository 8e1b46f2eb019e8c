#include "sim/audit_link.h"

#include <mosquitto.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/messages.h"
#include "core/meter_id.h"
#include "core/time.h"

namespace mh::sim {
namespace {

// Set on the link's network thread while a command is handled: a publish from there (an answer)
// must not wait for acks that only that thread can process.
thread_local bool t_in_callback = false;

// Until the broker acknowledged as many as were sent (bounded); false on timeout.
bool WaitUntilAll(const std::atomic<int64_t>& done, const std::atomic<int64_t>& wanted, double timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (done < wanted) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

AuditMqttLink::~AuditMqttLink() {
  if (mosq_) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
}

Status AuditMqttLink::Connect(int port, const std::string& client_id, const ingest::MqttTls& tls) {
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.c_str(), true, this);
  if (!mosq_) return Internal("mosquitto_new failed");
  MH_RETURN_IF_ERROR(ingest::ApplyMqttTls(mosq_, tls));
  mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) { static_cast<AuditMqttLink*>(self)->acked_++; });
  mosquitto_subscribe_callback_set(mosq_, [](struct mosquitto*, void* self, int, int, const int*) {
    static_cast<AuditMqttLink*>(self)->subacked_++;
  });
  mosquitto_message_callback_set(mosq_, [](struct mosquitto*, void* self, const struct mosquitto_message* m) {
    static_cast<AuditMqttLink*>(self)->OnMessage(m->topic ? m->topic : "",
                                                 std::string(static_cast<const char*>(m->payload), m->payloadlen));
  });
  mosquitto_max_inflight_messages_set(mosq_, 200);
  if (int rc = mosquitto_connect(mosq_, "127.0.0.1", port, 30); rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("audit meters: cannot connect to the broker on port " + std::to_string(port) + ": " +
                       mosquitto_strerror(rc));
  }
  if (int rc = mosquitto_loop_start(mosq_); rc != MOSQ_ERR_SUCCESS) {
    return Internal(std::string("audit meters: mosquitto_loop_start: ") + mosquitto_strerror(rc));
  }
  return Status::Ok();
}

Status AuditMqttLink::Publish(const std::string& meter_id, const std::string& suffix, std::string_view payload) {
  if (!mosq_) return FailedPrecondition("audit meters: not connected");
  // Keep the broker's queue for us short: the daemon appends each signal durably before its ack.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!t_in_callback && sent_ - acked_ > 1000 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::string topic = "meters/" + std::to_string(ShardOf(meter_id)) + "/" + meter_id + "/" + suffix;
  const int rc =
      mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) return Unavailable("publish on " + topic + ": " + mosquitto_strerror(rc));
  ++sent_;
  return Status::Ok();
}

void AuditMqttLink::Upload(const meter::audit::SignalEvent& e) {
  if (Publish(e.meter_id, "audit/signal", audit::SignalMessage(e)).ok()) {
    ++signals_;
  } else {
    ++failures_;
  }
}

Status AuditMqttLink::PublishSegments(const std::string& meter_id, std::string_view fixed_image,
                                      std::string_view dynamic_text, std::string_view compare_text) {
  return Publish(meter_id, "audit/segments",
                 audit::FormatSegmentsMessage({std::string(fixed_image), std::string(dynamic_text), std::string(compare_text), ""}));
}

Status AuditMqttLink::PublishReadings(const std::string& meter_id, const std::vector<std::pair<int64_t, double>>& readings) {
  if (readings.empty()) return Status::Ok();
  nlohmann::json batch = nlohmann::json::array();
  for (const auto& [t, value] : readings) batch.push_back({{"meter", meter_id}, {"ts", FormatIsoUtc(t)}, {"value", value}});
  MH_RETURN_IF_ERROR(Publish(meter_id, "readings", batch.dump()));
  readings_ += static_cast<int64_t>(readings.size());
  return Status::Ok();
}

void AuditMqttLink::SetCommandHandler(CommandHandler handler) {
  std::lock_guard lock(handler_mu_);
  handler_ = std::move(handler);
}

Status AuditMqttLink::SubscribeCommands(const std::string& meter_id) {
  if (!mosq_) return FailedPrecondition("audit meters: not connected");
  const std::string topic = "meters/" + std::to_string(ShardOf(meter_id)) + "/" + meter_id + "/commands";
  if (int rc = mosquitto_subscribe(mosq_, nullptr, topic.c_str(), 1); rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("subscribe to " + topic + ": " + mosquitto_strerror(rc));
  }
  ++subscribed_;
  return Status::Ok();
}

bool AuditMqttLink::WaitSubscribed(double timeout_s) const { return WaitUntilAll(subacked_, subscribed_, timeout_s); }

void AuditMqttLink::OnMessage(const std::string& topic, const std::string& payload) {
  // meters/<shard>/<id>/commands
  const size_t a = topic.find('/'), b = a == std::string::npos ? a : topic.find('/', a + 1);
  const size_t c = b == std::string::npos ? b : topic.find('/', b + 1);
  if (c == std::string::npos || topic.compare(c + 1, std::string::npos, "commands") != 0) return;
  std::lock_guard lock(handler_mu_);
  t_in_callback = true;
  if (handler_) handler_(topic.substr(b + 1, c - b - 1), payload);
  t_in_callback = false;
}

bool AuditMqttLink::WaitAcked(double timeout_s) const { return WaitUntilAll(acked_, sent_, timeout_s); }

}  // namespace mh::sim
