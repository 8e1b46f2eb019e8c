#include "sim/audit_link.h"

#include <mosquitto.h>

#include <chrono>
#include <thread>

#include "audit/audit_service.h"
#include "core/meter_id.h"

namespace mh::sim {

AuditMqttLink::~AuditMqttLink() {
  if (mosq_) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
}

Status AuditMqttLink::Connect(int port, const std::string& client_id) {
  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id.c_str(), true, this);
  if (!mosq_) return Internal("mosquitto_new failed");
  mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) { static_cast<AuditMqttLink*>(self)->acked_++; });
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
  while (sent_ - acked_ > 1000 && std::chrono::steady_clock::now() < until) {
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
  return Publish(meter_id, "audit/segments", audit::SegmentsMessage(fixed_image, dynamic_text, compare_text));
}

bool AuditMqttLink::WaitAcked(double timeout_s) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (acked_ < sent_) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace mh::sim
