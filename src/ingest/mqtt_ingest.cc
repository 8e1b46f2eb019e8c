#include "ingest/mqtt_ingest.h"

#include <mosquitto.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "ingest/device_topics.h"
#include "store/commit_fence.h"

namespace mh::ingest {
namespace {

std::once_flag g_lib_init;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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

// One shard's persistent session. Everything but `up` belongs to its I/O thread.
struct MqttIngest::Session {
  MqttIngest* owner = nullptr;
  int shard = 0;
  std::string client_id;
  std::vector<std::string> topics;
  struct mosquitto* mosq = nullptr;
  std::atomic<bool> up{false};  // connected and the subscription acknowledged
  bool open = false;            // a socket exists (connecting or connected)
  bool had_session = false;     // connected before in this process: the broker should keep a session
  int subscribe_mid = -1;
  std::vector<Message> inbox;   // read since the last commit; their PUBACKs are queued, unsent
  int64_t next_connect_ms = 0;
  int backoff_ms = 0;
  int64_t last_misc_ms = 0;
};

// What one I/O round stores.
struct MqttIngest::Batch {
  std::vector<Reading> readings;
};

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
    : pipeline_(pipeline), options_(std::move(options)), group_(pipeline, GroupCommitter::kMaxReadingsPerCommit, options_.commit_linger) {
  std::call_once(g_lib_init, [] { mosquitto_lib_init(); });
}

MqttIngest::~MqttIngest() { Stop(); }

bool MqttIngest::connected() const {
  if (sessions_.empty()) return false;
  for (const auto& s : sessions_)
    if (!s->up && Owned(*s)) return false;
  return true;
}

void MqttIngest::AddHandler(const std::string& suffix, TopicHandler handler) {
  // A suffix outside the device topic list would be refused by the broker's ACL in production.
  if (!IsUplinkSuffix(suffix) || suffix == "readings") {
    throw std::logic_error("MqttIngest::AddHandler: \"" + suffix + "\" is not a device uplink topic (device_topics.h)");
  }
  handlers_[suffix] = std::move(handler);
}

void MqttIngest::AddReadingsHandler(const std::string& suffix, ReadingsHandler handler) {
  if (!IsUplinkSuffix(suffix) || suffix == "readings") {
    throw std::logic_error("MqttIngest::AddReadingsHandler: \"" + suffix + "\" is not a device uplink topic (device_topics.h)");
  }
  readings_handlers_[suffix] = std::move(handler);
}

Status MqttIngest::Start() {
  MH_RETURN_IF_ERROR(CheckMqttTls(options_.tls));
  std::vector<int> shards = options_.shards;
  if (shards.empty())
    for (int shard = 0; shard < kShardCount; ++shard) shards.push_back(shard);
  for (int shard : shards) {
    if (shard < 0 || shard >= kShardCount) return InvalidArgument("mqtt: no shard " + std::to_string(shard));
    auto s = std::make_unique<Session>();
    s->owner = this;
    s->shard = shard;
    s->client_id = options_.client_id + "-" + std::to_string(shard);
    s->topics.push_back("meters/" + std::to_string(shard) + "/+/readings");
    for (const auto& [suffix, handler] : handlers_) s->topics.push_back("meters/" + std::to_string(shard) + "/+/" + suffix);
    for (const auto& [suffix, handler] : readings_handlers_)
      s->topics.push_back("meters/" + std::to_string(shard) + "/+/" + suffix);
    sessions_.push_back(std::move(s));
  }
  MH_RETURN_IF_ERROR(StartPublisher());
  const size_t n = std::clamp<size_t>(static_cast<size_t>(std::max(1, options_.io_threads)), 1, sessions_.size());
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this, i, n] { IoLoop(i, n); });
  return Status::Ok();
}

Status MqttIngest::StartPublisher() {
  publisher_ = mosquitto_new((options_.client_id + "-cmd").c_str(), /*clean_session=*/true, nullptr);
  if (publisher_ == nullptr) return Internal("mosquitto_new failed");
  MH_RETURN_IF_ERROR(ApplyMqttTls(publisher_, options_.tls));
  if (!options_.username.empty())
    mosquitto_username_pw_set(publisher_, options_.username.c_str(), options_.password.c_str());
  mosquitto_reconnect_delay_set(publisher_, 1, 30, true);
  int rc = mosquitto_loop_start(publisher_);
  if (rc != MOSQ_ERR_SUCCESS) return Internal(std::string("mosquitto_loop_start: ") + mosquitto_strerror(rc));
  rc = mosquitto_connect_async(publisher_, options_.host.c_str(), options_.port, options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("mqtt: cannot connect to {}:{} yet ({}); retrying in the background", options_.host, options_.port,
                 mosquitto_strerror(rc));
  }
  return Status::Ok();
}

void MqttIngest::Stop() {
  if (sessions_.empty() && publisher_ == nullptr) return;
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  // What the sessions read but did not store is not acknowledged: destroying a client closes its
  // socket without writing, and the broker keeps those messages for the next start.
  for (auto& s : sessions_) {
    if (s->mosq != nullptr) mosquitto_destroy(s->mosq);
    s->mosq = nullptr;
  }
  sessions_.clear();
  if (publisher_ != nullptr) {
    mosquitto_disconnect(publisher_);
    mosquitto_loop_stop(publisher_, false);
    mosquitto_destroy(publisher_);
    publisher_ = nullptr;
  }
  group_.Stop();
}

Status MqttIngest::Publish(const std::string& topic, const std::string& payload) {
  if (publisher_ == nullptr) return FailedPrecondition("mqtt not started");
  int rc = mosquitto_publish(publisher_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1,
                             false);
  if (rc != MOSQ_ERR_SUCCESS) return Unavailable(std::string("mqtt publish: ") + mosquitto_strerror(rc));
  return Status::Ok();
}

// --- a session's life, on its I/O thread -------------------------------------------------------

void MqttIngest::Connect(Session& s) {
  s.mosq = mosquitto_new(s.client_id.c_str(), /*clean_session=*/false, &s);
  if (s.mosq == nullptr) {
    s.next_connect_ms = NowMs() + 1000;
    return;
  }
  // Our own loop decides when queued packets (the PUBACKs) are written.
  mosquitto_threaded_set(s.mosq, true);
  if (Status tls = ApplyMqttTls(s.mosq, options_.tls); !tls.ok()) {  // checked in Start(): not expected
    spdlog::error("mqtt: shard {}: {}", s.shard, tls.message());
    mosquitto_destroy(s.mosq);
    s.mosq = nullptr;
    s.next_connect_ms = NowMs() + 30000;
    return;
  }
  if (!options_.username.empty()) mosquitto_username_pw_set(s.mosq, options_.username.c_str(), options_.password.c_str());
  mosquitto_connect_with_flags_callback_set(s.mosq, &MqttIngest::OnConnect);
  mosquitto_subscribe_callback_set(s.mosq, &MqttIngest::OnSubscribe);
  mosquitto_disconnect_callback_set(s.mosq, &MqttIngest::OnDisconnect);
  mosquitto_message_callback_set(s.mosq, &MqttIngest::OnMessage);
  const int rc = mosquitto_connect_async(s.mosq, options_.host.c_str(), options_.port, options_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    if (s.backoff_ms == 0 && !s.had_session)
      spdlog::warn("mqtt: shard {}: cannot connect to {}:{} ({}); retrying", s.shard, options_.host, options_.port,
                   mosquitto_strerror(rc));
    mosquitto_destroy(s.mosq);
    s.mosq = nullptr;
    s.backoff_ms = std::min(30000, std::max(250, s.backoff_ms * 2));
    s.next_connect_ms = NowMs() + s.backoff_ms;
    return;
  }
  s.open = true;
  s.last_misc_ms = NowMs();
}

// Closes the session's socket without writing anything queued (unstored messages stay unacked)
// and schedules a reconnect.
void MqttIngest::Cut(Session& s, const std::string& why) {
  if (!stopping_) spdlog::warn("mqtt: shard {}: {}; reconnecting", s.shard, why);
  if (s.mosq != nullptr) mosquitto_destroy(s.mosq);
  s.mosq = nullptr;
  s.open = false;
  s.up = false;
  s.inbox.clear();
  s.backoff_ms = std::min(30000, std::max(250, s.backoff_ms * 2));
  s.next_connect_ms = NowMs() + s.backoff_ms;
}

bool MqttIngest::Owned(const Session& s) const { return !options_.owns || options_.owns(s.shard); }

void MqttIngest::HandOver(Session& s) {
  spdlog::info("mqtt: shard {} is no longer this worker's: session closed, the broker queues its messages for the next owner",
               s.shard);
  if (s.mosq != nullptr) mosquitto_destroy(s.mosq);
  s.mosq = nullptr;
  s.open = false;
  s.up = false;
  s.inbox.clear();
  s.backoff_ms = 0;
  s.next_connect_ms = 0;
}

void MqttIngest::OnConnect(struct mosquitto* m, void* ptr, int rc, int flags) {
  auto* s = static_cast<Session*>(ptr);
  if (rc != 0) {
    spdlog::error("mqtt: shard {}: the broker refused the connection: {}", s->shard, mosquitto_connack_string(rc));
    return;
  }
  const bool session_present = (flags & 1) != 0;
  if (s->had_session && !session_present) {
    // The broker forgot this session (restarted without persistence, or expired it): what it held
    // for us — acknowledged to the meters, not yet stored here — is lost.
    ++s->owner->sessions_lost_;
    spdlog::error("mqtt: shard {}: the broker lost session {} (no session present on reconnect): messages it "
                  "held for it are gone — check its persistence (docs/mqtt.md)",
                  s->shard, s->client_id);
  }
  s->had_session = true;
  s->backoff_ms = 0;
  // The session counts as up only once the broker acknowledged the subscription: before, what
  // meters publish is not routed to it (on a first start the broker would drop it).
  std::vector<char*> topics;
  for (const auto& topic : s->topics) topics.push_back(const_cast<char*>(topic.c_str()));
  int mid = 0;
  if (int sub = mosquitto_subscribe_multiple(m, &mid, static_cast<int>(topics.size()), topics.data(), 1, 0, nullptr);
      sub != MOSQ_ERR_SUCCESS) {
    spdlog::error("mqtt: shard {}: subscribing failed: {}", s->shard, mosquitto_strerror(sub));
    return;
  }
  s->subscribe_mid = mid;
}

void MqttIngest::OnSubscribe(struct mosquitto*, void* ptr, int mid, int count, const int* granted) {
  auto* s = static_cast<Session*>(ptr);
  if (mid != s->subscribe_mid) return;
  for (int i = 0; i < count; ++i) {
    if (granted[i] > 1) {  // 0x80: refused (e.g. by an ACL)
      spdlog::error("mqtt: shard {}: the broker refused subscription {}", s->shard, s->topics[static_cast<size_t>(i)]);
      return;
    }
  }
  s->up = true;
  if (s->owner->connected())
    spdlog::info("mqtt: connected to {}:{} ({} shard sessions)", s->owner->options_.host, s->owner->options_.port,
                 s->owner->sessions_.size());
}

void MqttIngest::OnDisconnect(struct mosquitto*, void* ptr, int) { static_cast<Session*>(ptr)->up = false; }

void MqttIngest::OnMessage(struct mosquitto*, void* ptr, const struct mosquitto_message* msg) {
  auto* s = static_cast<Session*>(ptr);
  s->inbox.push_back({msg->topic, std::string(static_cast<const char*>(msg->payload),
                                              static_cast<size_t>(std::max(0, msg->payloadlen)))});
}

void MqttIngest::IoLoop(size_t index, size_t stride) {
  std::vector<Session*> mine;
  for (size_t i = index; i < sessions_.size(); i += stride) mine.push_back(sessions_[i].get());
  std::vector<pollfd> fds;
  std::vector<Session*> polled, read;
  while (!stopping_) {
    const int64_t now = NowMs();
    for (Session* s : mine) {
      const bool owned = Owned(*s);
      if (s->open && !owned) HandOver(*s);
      else if (!s->open && owned && now >= s->next_connect_ms) Connect(*s);
    }
    fds.clear();
    polled.clear();
    for (Session* s : mine) {
      if (!s->open) continue;
      const int fd = mosquitto_socket(s->mosq);
      if (fd < 0) {
        Cut(*s, "connection lost");
        continue;
      }
      short events = POLLIN;
      if (mosquitto_want_write(s->mosq)) events |= POLLOUT;
      fds.push_back({fd, events, 0});
      polled.push_back(s);
    }
    if (fds.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (::poll(fds.data(), fds.size(), 100) < 0) continue;
    // 1. Read everything that arrived; the PUBACKs libmosquitto queues stay unsent.
    read.clear();
    for (size_t i = 0; i < fds.size(); ++i) {
      Session* s = polled[i];
      if ((fds[i].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
      const int rc = mosquitto_loop_read(s->mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) {
        Cut(*s, std::string("connection lost (") + mosquitto_strerror(rc) +
                    (rc == MOSQ_ERR_TLS ? " — does the broker's certificate chain to mqtt.tls_ca, for this host name?" : "") + ")");
        continue;
      }
      if (!s->inbox.empty()) read.push_back(s);
    }
    // A shard lost meanwhile: what its session read is not ours to store (the fence would refuse
    // the whole shared commit); the next owner gets it from the broker.
    read.erase(std::remove_if(read.begin(), read.end(), [this](Session* s) {
                 if (Owned(*s)) return false;
                 HandOver(*s);
                 return true;
               }),
               read.end());
    // 2. Store it, durably, in one commit.
    if (!read.empty() && !Process(read)) {
      for (Session* s : read)
        if (s->open) Cut(*s, "storing its messages failed; the broker redelivers them");
    }
    for (Session* s : read) s->inbox.clear();
    // 3. Only now let the PUBACKs (and subscriptions, pings) out.
    const int64_t after = NowMs();
    for (Session* s : mine) {
      if (!s->open) continue;
      if (after - s->last_misc_ms >= 1000) {
        s->last_misc_ms = after;
        if (int rc = mosquitto_loop_misc(s->mosq); rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
          Cut(*s, std::string("keepalive: ") + mosquitto_strerror(rc));
          continue;
        }
      }
      if (mosquitto_want_write(s->mosq)) {
        if (int rc = mosquitto_loop_write(s->mosq, 1); rc != MOSQ_ERR_SUCCESS) {
          Cut(*s, std::string("writing failed (") + mosquitto_strerror(rc) + ")");
        }
      }
    }
  }
}

bool MqttIngest::Process(std::vector<Session*>& sessions) {
  Batch batch;
  bool all_handled = true;
  for (Session* s : sessions) {
    for (const Message& m : s->inbox) {
      ++messages_;
      if (!Handle(m, batch)) {
        all_handled = false;
        Cut(*s, "a handler failed on " + m.topic);
        break;
      }
    }
  }
  if (!batch.readings.empty()) {
    std::vector<int> shards;  // the commit is fenced by these sessions' leases (scale-out)
    if (options_.owns)
      for (Session* s : sessions) shards.push_back(s->shard);
    auto result = group_.Submit(batch.readings, "mqtt", shards);
    if (!result.ok()) {
      spdlog::error("mqtt: storing {} readings failed: {}", batch.readings.size(), result.status().ToString());
      return false;
    }
  }
  ++batches_;
  return all_handled;
}

bool MqttIngest::Handle(const Message& m, Batch& batch) {
  std::string shard, rest;
  const std::string meter = MeterOfTopic(m.topic, &shard, &rest);
  auto handler = handlers_.find(rest);
  auto readings_handler = readings_handlers_.find(rest);
  if (meter.empty() || !IsValidMeterId(meter) ||
      (rest != "readings" && handler == handlers_.end() && readings_handler == readings_handlers_.end())) {
    RecordBadMessage(m.topic, meter, "topic is not meters/<shard>/<meter_id>/readings (or a device topic) with a valid meter id",
                     m.payload);
    return true;
  }
  if (shard != std::to_string(ShardOf(meter))) {
    RecordBadMessage(m.topic, meter, "wrong shard " + shard + " for meter " + meter + " (expected " +
                                         std::to_string(ShardOf(meter)) + ")", m.payload);
    return true;
  }
  if (static_cast<int64_t>(m.payload.size()) > options_.max_payload_bytes) {
    RecordBadMessage(m.topic, meter, "payload of " + std::to_string(m.payload.size()) + " bytes exceeds the limit",
                     m.payload);
    return true;
  }
  if (handler != handlers_.end()) {
    // What a handler commits (a relay's forwarded batch) is what this shard's session delivered:
    // fenced by its lease, as the session's readings are.
    const std::vector<int> own{ShardOf(meter)};
    std::optional<store::FenceScope> fenced;
    if (options_.owns) fenced.emplace(own);
    Status s = handler->second(meter, m.payload);
    return s.ok() || HandlerFailed(m, meter, s);
  }
  if (readings_handler != readings_handlers_.end()) {
    Result<std::vector<Reading>> readings = readings_handler->second(meter, m.payload);
    if (!readings.ok()) return HandlerFailed(m, meter, readings.status());
    for (auto& r : *readings) batch.readings.push_back(std::move(r));
    return true;
  }
  auto parsed = codec::ParseReadingsJson(m.payload, meter);
  if (!parsed.ok()) {
    RecordBadMessage(m.topic, meter, parsed.status().message(), m.payload);
    return true;
  }
  for (const auto& issue : parsed->issues) {
    RecordBadMessage(m.topic, meter, "element " + std::to_string(issue.line) + ": " + issue.field + ": " + issue.message,
                     m.payload);
  }
  for (auto& r : parsed->readings) batch.readings.push_back(std::move(r));
  return true;
}

bool MqttIngest::HandlerFailed(const Message& m, const std::string& meter, const Status& s) {
  // The store down or full: not the message's fault, so it is retried, not recorded as bad.
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kStorageFull ||
      s.code() == StatusCode::kInternal) {
    spdlog::error("mqtt: handling {} failed: {}", m.topic, s.ToString());
    return false;
  }
  RecordBadMessage(m.topic, meter, s.message(), m.payload);
  return true;
}

void MqttIngest::RecordBadMessage(const std::string& topic, const std::string& meter_id, const std::string& reason,
                                  std::string_view payload) {
  ++bad_messages_;
  spdlog::warn("mqtt: rejected message on {}: {}", topic, reason);
  // Keep the bad message where someone can see it: as an event on the meter it names.
  store::IngestBatch batch;
  store::ReadingEvent ev;
  ev.meter_id = IsValidMeterId(meter_id) ? meter_id : "_invalid";
  ev.kind = "rejected_message";
  nlohmann::json detail{{"topic", topic}, {"reason", reason}, {"payload", std::string(payload.substr(0, 2048))}};
  ev.detail = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  batch.events.push_back(std::move(ev));
  if (Status s = pipeline_->RecordRejected(std::move(batch)); !s.ok()) {
    // The store is down: the log is then the only place the message stays visible.
    spdlog::error("mqtt: could not record the rejected message on {} ({}): {}", topic, s.ToString(),
                  std::string(payload.substr(0, 2048)));
  }
}

}  // namespace mh::ingest
