#include "ingest/mqtt_ingest.h"

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ingest/device_topics.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"

namespace mh::ingest {
namespace {

std::once_flag g_lib_init;

// meters/<shard>/<meter_id>/<rest> → meter id, shard and rest; empty when the topic is not of
// that shape.
std::string MeterOfTopic(const std::string& topic, std::string* shard, std::string* rest) {
  const std::string prefix = "meters/";
  if (topic.rfind(prefix, 0) != 0) return {};
  size_t a = prefix.size();
  size_t b = topic.find('/', a);
  if (b == std::string::npos) return {};
  size_t c = topic.find('/', b + 1);
  if (c == std::string::npos) return {};
  *shard = topic.substr(a, b - a);
  *rest = topic.substr(c + 1);
  return topic.substr(b + 1, c - b - 1);
}

}  // namespace

Status ParseBrokerAddress(const std::string& address, std::string* host, int* port) {
  auto colon = address.rfind(':');
  *host = colon == std::string::npos ? address : address.substr(0, colon);
  *port = 1883;
  if (colon != std::string::npos) {
    try {
      *port = std::stoi(address.substr(colon + 1));
    } catch (...) {
      return InvalidArgument("mqtt.broker: bad port in '" + address + "'");
    }
  }
  if (host->empty() || *port <= 0 || *port > 65535) return InvalidArgument("mqtt.broker: bad address '" + address + "'");
  return Status::Ok();
}

MqttIngest::MqttIngest(Pipeline* pipeline, MqttOptions options)
    : pipeline_(pipeline), options_(std::move(options)), group_(pipeline) {
  std::call_once(g_lib_init, [] { mosquitto_lib_init(); });
}

MqttIngest::~MqttIngest() { Stop(); }

bool MqttIngest::connected() const {
  if (connections_.empty()) return false;
  for (const auto& c : connections_)
    if (!c->connected) return false;
  return true;
}

Status MqttIngest::Start() {
  const int n = std::clamp(options_.connections, 1, kShardCount);
  for (int i = 0; i < n; ++i) {
    auto c = std::make_unique<Connection>();
    c->owner = this;
    c->index = i;
    for (int shard = i; shard < kShardCount; shard += n) {
      c->topics.push_back("meters/" + std::to_string(shard) + "/+/readings");
      for (const auto& [suffix, handler] : handlers_)
        c->topics.push_back("meters/" + std::to_string(shard) + "/+/" + suffix);
    }
    std::string id = options_.client_id + "-" + std::to_string(i) + "of" + std::to_string(n);
    c->mosq = mosquitto_new(id.c_str(), /*clean_session=*/false, c.get());
    if (c->mosq == nullptr) return Internal("mosquitto_new failed");
    if (!options_.username.empty())
      mosquitto_username_pw_set(c->mosq, options_.username.c_str(), options_.password.c_str());
    mosquitto_connect_callback_set(c->mosq, &MqttIngest::OnConnect);
    mosquitto_subscribe_callback_set(c->mosq, &MqttIngest::OnSubscribe);
    mosquitto_disconnect_callback_set(c->mosq, &MqttIngest::OnDisconnect);
    mosquitto_message_callback_set(c->mosq, &MqttIngest::OnMessage);
    mosquitto_reconnect_delay_set(c->mosq, 1, 30, true);
    // Threaded mode is what keeps the PUBACK behind the commit (see the header).
    int rc = mosquitto_loop_start(c->mosq);
    if (rc != MOSQ_ERR_SUCCESS) return Internal(std::string("mosquitto_loop_start: ") + mosquitto_strerror(rc));
    rc = mosquitto_connect_async(c->mosq, options_.host.c_str(), options_.port, options_.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS && i == 0) {
      spdlog::warn("mqtt: cannot connect to {}:{} yet ({}); retrying in the background", options_.host, options_.port,
                   mosquitto_strerror(rc));
    }
    connections_.push_back(std::move(c));
  }
  return Status::Ok();
}

void MqttIngest::Stop() {
  if (connections_.empty()) return;
  stopping_ = true;
  for (auto& c : connections_) mosquitto_disconnect(c->mosq);
  for (auto& c : connections_) {
    mosquitto_loop_stop(c->mosq, false);
    mosquitto_destroy(c->mosq);
  }
  connections_.clear();
  group_.Stop();
}

Status MqttIngest::Publish(const std::string& topic, const std::string& payload) {
  if (connections_.empty()) return FailedPrecondition("mqtt not started");
  int rc = mosquitto_publish(connections_.front()->mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) return Unavailable(std::string("mqtt publish: ") + mosquitto_strerror(rc));
  return Status::Ok();
}

void MqttIngest::OnConnect(struct mosquitto* m, void* conn_ptr, int rc) {
  auto* c = static_cast<Connection*>(conn_ptr);
  if (rc != 0) {
    spdlog::error("mqtt: broker refused connection {}: {}", c->index, mosquitto_connack_string(rc));
    return;
  }
  // One SUBSCRIBE for all of this connection's topics. The connection counts as up only once the
  // broker has acknowledged it (OnSubscribe): before that, what meters publish is not routed to
  // our session — on the very first start the broker would drop it.
  std::vector<char*> topics;
  for (const auto& topic : c->topics) topics.push_back(const_cast<char*>(topic.c_str()));
  int mid = 0;
  int sub = mosquitto_subscribe_multiple(m, &mid, static_cast<int>(topics.size()), topics.data(), 1, 0, nullptr);
  if (sub != MOSQ_ERR_SUCCESS) {
    spdlog::error("mqtt: subscribing connection {} failed: {}", c->index, mosquitto_strerror(sub));
    return;
  }
  c->subscribe_mid = mid;
}

void MqttIngest::OnSubscribe(struct mosquitto*, void* conn_ptr, int mid, int count, const int* granted) {
  auto* c = static_cast<Connection*>(conn_ptr);
  if (mid != c->subscribe_mid) return;
  for (int i = 0; i < count; ++i) {
    if (granted[i] > 1) {  // 0x80: refused (e.g. by an ACL)
      spdlog::error("mqtt: the broker refused subscription {} of connection {}", i, c->index);
      return;
    }
  }
  c->connected = true;
  if (c->owner->connected())
    spdlog::info("mqtt: connected to {}:{} ({} connections over the 64 shards)", c->owner->options_.host,
                 c->owner->options_.port, c->owner->connections_.size());
}

void MqttIngest::OnDisconnect(struct mosquitto*, void* conn_ptr, int rc) {
  auto* c = static_cast<Connection*>(conn_ptr);
  c->connected = false;
  if (!c->owner->stopping_) spdlog::warn("mqtt: connection {} lost ({}); reconnecting", c->index, mosquitto_strerror(rc));
}

void MqttIngest::OnMessage(struct mosquitto*, void* conn_ptr, const struct mosquitto_message* msg) {
  auto* c = static_cast<Connection*>(conn_ptr);
  c->owner->HandleMessage(msg->topic, static_cast<const char*>(msg->payload), msg->payloadlen);
}

void MqttIngest::RecordBadMessage(const std::string& topic, const std::string& meter_id, const std::string& reason,
                                  const char* payload, int len) {
  ++bad_messages_;
  spdlog::warn("mqtt: rejected message on {}: {}", topic, reason);
  // Keep the bad message where someone can see it: as an event on the meter it names.
  store::IngestBatch batch;
  store::ReadingEvent ev;
  ev.meter_id = IsValidMeterId(meter_id) ? meter_id : "_invalid";
  ev.kind = "rejected_message";
  nlohmann::json detail{{"topic", topic}, {"reason", reason},
                        {"payload", std::string(payload, payload + std::min(len, 2048))}};
  ev.detail = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  batch.events.push_back(std::move(ev));
  if (Status s = pipeline_->RecordRejected(std::move(batch)); !s.ok()) {
    // The store is down: the log is then the only place the message stays visible.
    spdlog::error("mqtt: could not record the rejected message on {} ({}): {}", topic, s.ToString(),
                  std::string(payload, payload + std::min(len, 2048)));
  }
}

void MqttIngest::AddHandler(const std::string& suffix, TopicHandler handler) {
  // A suffix outside the device topic list would be refused by the broker's ACL in production.
  if (!IsUplinkSuffix(suffix) || suffix == "readings") {
    throw std::logic_error("MqttIngest::AddHandler: \"" + suffix + "\" is not a device uplink topic (device_topics.h)");
  }
  handlers_[suffix] = std::move(handler);
}

void MqttIngest::HandleMessage(const std::string& topic, const char* payload, int len) {
  ++messages_;
  std::string shard, rest;
  std::string meter = MeterOfTopic(topic, &shard, &rest);
  auto handler = handlers_.find(rest);
  if (meter.empty() || !IsValidMeterId(meter) || (rest != "readings" && handler == handlers_.end())) {
    RecordBadMessage(topic, meter, "topic is not meters/<shard>/<meter_id>/readings (or a device topic) with a valid meter id",
                     payload, len);
    return;
  }
  if (shard != std::to_string(ShardOf(meter))) {
    RecordBadMessage(topic, meter, "wrong shard " + shard + " for meter " + meter + " (expected " +
                                       std::to_string(ShardOf(meter)) + ")", payload, len);
    return;
  }
  if (len > options_.max_payload_bytes) {
    RecordBadMessage(topic, meter, "payload of " + std::to_string(len) + " bytes exceeds the limit", payload, len);
    return;
  }
  if (handler != handlers_.end()) {
    HandleDeviceMessage(handler->second, topic, meter, payload, len);
    return;
  }
  auto parsed = codec::ParseReadingsJson(std::string_view(payload, static_cast<size_t>(len)), meter);
  if (!parsed.ok()) {
    RecordBadMessage(topic, meter, parsed.status().message(), payload, len);
    return;
  }
  for (const auto& issue : parsed->issues) {
    RecordBadMessage(topic, meter, "element " + std::to_string(issue.line) + ": " + issue.field + ": " + issue.message,
                     payload, len);
  }
  if (parsed->readings.empty()) return;
  // Commit before returning: only then may libmosquitto write the PUBACK it has queued.
  for (int attempt = 1;; ++attempt) {
    auto result = group_.Submit(parsed->readings, "mqtt");
    if (result.ok()) return;
    spdlog::error("mqtt: storing readings of {} failed (attempt {}): {}", meter, attempt, result.status().ToString());
    if (stopping_) {
      // Never acknowledge what was not stored: leave without letting the PUBACK out.
      spdlog::critical("mqtt: shutting down with an unstored message; exiting so the broker redelivers it");
      std::_Exit(75);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 100 * attempt)));
  }
}

// Same acknowledgement rule as readings: return (and so let the PUBACK out) only once the
// handler has either done its work or refused the message for good.
void MqttIngest::HandleDeviceMessage(const TopicHandler& handler, const std::string& topic, const std::string& meter,
                                     const char* payload, int len) {
  for (int attempt = 1;; ++attempt) {
    Status s = handler(meter, std::string_view(payload, static_cast<size_t>(len)));
    if (s.ok()) return;
    if (s.code() != StatusCode::kUnavailable && s.code() != StatusCode::kStorageFull &&
        s.code() != StatusCode::kInternal) {
      RecordBadMessage(topic, meter, s.message(), payload, len);
      return;
    }
    spdlog::error("mqtt: handling {} failed (attempt {}): {}", topic, attempt, s.ToString());
    if (stopping_) {
      spdlog::critical("mqtt: shutting down with an unhandled message; exiting so the broker redelivers it");
      std::_Exit(75);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5000, 100 * attempt)));
  }
}

}  // namespace mh::ingest
