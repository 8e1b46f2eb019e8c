// MQTT ingestion (SPEC 0.2): one persistent session per shard on a real broker, subscribed at
// QoS 1 to meters/<shard>/+/readings (and the device topics the method areas handle), feeding
// every message through the Pipeline and acknowledging only what is durably stored.
//
// Why one session per shard: a meter's messages always travel on its shard's session, in order,
// so one consumer judges them in order; a shard's messages queue in the broker (persistent
// session, fixed client id <client_id>-<shard>) while nobody consumes it; and the scale-out
// (SPEC 7) hands shards, hence sessions, from worker to worker.
//
// Why the PUBACK waits for the commit, and how: libmosquitto (Debian 12: 2.0.11) queues the QoS 1
// PUBACK itself when a PUBLISH arrives, before calling on_message (lib/handle_publish.c). With
// mosquitto_threaded_set(true) and our own loop, a queued packet reaches the socket only when we
// call mosquitto_loop_write (lib/packet_mosq.c: packet__queue writes at once only when unthreaded).
// So each I/O thread reads everything its sessions have (many messages per session, up to the
// broker's max_inflight_messages), stores them all in ONE durable commit (shared through the
// GroupCommitter with the other threads' batches), and only then writes the queued PUBACKs.
// If the commit fails, the sessions of that batch are cut without writing: the broker redelivers
// (the store's idempotent writes make that harmless). tests/mqtt_ingest_test pins it with SIGKILL.
//
// A lost session — a CONNACK without "session present" on a reconnect of a session that had one,
// i.e. a broker restarted without its persistence — is logged and counted: what the broker held
// for it is gone (docs/mqtt.md: the broker settings the durability contract needs).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/status.h"
#include "ingest/group_commit.h"
#include "ingest/mqtt_tls.h"
#include "ingest/pipeline.h"

struct mosquitto;
struct mosquitto_message;

namespace mh::ingest {

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id = "meterhub-ingest";  // sessions are <client_id>-<shard>, fixed: they survive restarts
  int io_threads = 8;                           // threads driving the shard sessions
  std::vector<int> shards;                      // the shards to consume; empty = all 64
  // Scale-out (SPEC 7): set = of those, only the shards it says this worker owns now are
  // connected; a shard it stops owning is closed (its session kept: the broker queues for the
  // next owner). Asked on the I/O threads, often: must be cheap.
  std::function<bool(int shard)> owns;
  std::string username;
  std::string password;
  MqttTls tls;                                  // every connection (shard sessions, commands) over TLS when set
  int keepalive_s = 30;
  // How long a commit of the sessions' readings waits for more rounds to share it (see
  // GroupCommitter); 0 = commit at once.
  std::chrono::microseconds commit_linger{0};
  int64_t max_payload_bytes = 4 << 20;          // larger messages are rejected (and recorded)
};

// "host:port" → host and port (port 1883 when omitted).
Status ParseBrokerAddress(const std::string& address, std::string* host, int* port);

class MqttIngest {
 public:
  // "*pipeline" must outlive this object.
  MqttIngest(Pipeline* pipeline, MqttOptions options);
  ~MqttIngest();
  MqttIngest(const MqttIngest&) = delete;
  MqttIngest& operator=(const MqttIngest&) = delete;

  // Starts the I/O threads; sessions connect (and reconnect) by themselves.
  Status Start();
  void Stop();
  // Every session (of an owned shard) is up and its subscription acknowledged by the broker.
  bool connected() const;

  // Messages on meters/<shard>/<meter_id>/<suffix> (e.g. "relay/forward") go to `handler`, with
  // the same acknowledgement rule as readings: OK → acked; Unavailable/Internal → not acked (the
  // session is cut and the broker redelivers); any other error → recorded as a rejected message
  // and acked. Call before Start().
  using TopicHandler = std::function<Status(const std::string& meter_id, std::string_view payload)>;
  void AddHandler(const std::string& suffix, TopicHandler handler);
  // Messages on meters/<shard>/<device_id>/<suffix> that carry readings in another form (raw
  // protocol frames): `handler` turns the payload into readings, which join the round's readings
  // (same commit, PUBACK after it). Its errors are treated as a TopicHandler's. Call before Start().
  using ReadingsHandler = std::function<Result<std::vector<Reading>>(const std::string& device_id, std::string_view payload)>;
  void AddReadingsHandler(const std::string& suffix, ReadingsHandler handler);

  // Publishes at QoS 1 on the command session (commands to meters).
  Status Publish(const std::string& topic, const std::string& payload);

  int64_t messages() const { return messages_.load(); }
  int64_t bad_messages() const { return bad_messages_.load(); }
  int64_t sessions_lost() const { return sessions_lost_.load(); }
  int64_t batches() const { return batches_.load(); }

 private:
  struct Message {
    std::string topic;
    std::string payload;
  };
  struct Session;
  struct Batch;

  static void OnConnect(struct mosquitto*, void* session, int rc, int flags);
  static void OnSubscribe(struct mosquitto*, void* session, int mid, int count, const int* granted);
  static void OnDisconnect(struct mosquitto*, void* session, int rc);
  static void OnMessage(struct mosquitto*, void* session, const struct mosquitto_message* msg);

  void IoLoop(size_t thread_index, size_t stride);
  void Connect(Session& s);
  void Cut(Session& s, const std::string& why);
  // Closes a shard this worker no longer owns, like Cut, without scheduling a reconnect.
  void HandOver(Session& s);
  bool Owned(const Session& s) const;
  // Stores what the sessions read; false when nothing may be acknowledged.
  bool Process(std::vector<Session*>& sessions);
  // Handles one message into `batch`: readings collected, device messages run, bad ones recorded.
  // Returns false when the message must not be acknowledged (a handler failed transiently).
  bool Handle(const Message& m, Batch& batch);
  // A handler's error: false (not acknowledged) when the store is at fault, else recorded.
  bool HandlerFailed(const Message& m, const std::string& meter, const Status& s);
  void RecordBadMessage(const std::string& topic, const std::string& meter_id, const std::string& reason,
                        std::string_view payload);
  Status StartPublisher();

  Pipeline* const pipeline_;
  const MqttOptions options_;
  GroupCommitter group_;
  std::map<std::string, TopicHandler> handlers_;  // constant once started
  std::map<std::string, ReadingsHandler> readings_handlers_;  // constant once started
  std::vector<std::unique_ptr<Session>> sessions_;  // constant once started
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  struct mosquitto* publisher_ = nullptr;  // the command session (threaded libmosquitto loop)
  std::atomic<int64_t> messages_{0}, bad_messages_{0}, sessions_lost_{0}, batches_{0};
};

}  // namespace mh::ingest
