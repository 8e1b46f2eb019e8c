// MQTT ingestion (SPEC 0.2): subscribes to meters/+/+/readings at QoS 1 on a real broker and feeds
// every message through the Pipeline, acknowledging only what is durably stored.
//
// Why this is safe with libmosquitto 2.0.11 (Debian 12), which sends the QoS 1 PUBACK itself:
// handle__publish() queues the PUBACK *before* calling on_message (lib/handle_publish.c), and in
// threaded mode (mosquitto_loop_start) packet__queue() only queues — the network thread writes
// queued packets in mosquitto_loop_write(), after the read handler (and so our on_message) has
// returned (lib/packet_mosq.c, lib/loop.c). We therefore wait inside on_message until the
// readings are committed: the PUBACK reaches the socket only after the commit. If the store fails
// we never return normally from on_message (retry, or exit without acknowledging), so the broker
// redelivers. Sessions are persistent (clean_session=false, fixed client ids), so messages
// published while the daemon is down, or in flight when it died, are redelivered; the store's
// idempotent upserts make the redelivery harmless. tests/mqtt_ingest_test pins this with SIGKILL.
//
// Throughput: one connection can only have one message waiting for its commit, so we open
// `connections` connections, each subscribed to a fixed subset of the 64 shards (shard mod N).
// A meter's messages always travel on one connection, in order; the connections' waiting
// messages share one commit through the GroupCommitter (one fsync for up to N messages).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/group_commit.h"
#include "ingest/pipeline.h"

struct mosquitto;
struct mosquitto_message;

namespace mh::ingest {

struct MqttOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id = "meterhub-ingest";  // prefix of the fixed ids: sessions survive restarts
  int connections = 8;                          // keep it fixed for a broker: sessions are per id
  std::string username;
  std::string password;
  int keepalive_s = 30;
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

  // Connects (asynchronously; reconnects by itself) and starts the network thread.
  Status Start();
  void Stop();
  // All connections are up and their subscriptions acknowledged by the broker.
  bool connected() const;

  // Messages on meters/<shard>/<meter_id>/<suffix> (e.g. "relay/forward") go to `handler`, with
  // the same acknowledgement rule as readings: OK → acked; Unavailable/Internal → retried, never
  // acked while failing; any other error → recorded as a rejected message and acked. Call
  // before Start().
  using TopicHandler = std::function<Status(const std::string& meter_id, std::string_view payload)>;
  void AddHandler(const std::string& suffix, TopicHandler handler);

  // Publishes on the first connection (commands to meters). QoS 1.
  Status Publish(const std::string& topic, const std::string& payload);

  int64_t messages() const { return messages_.load(); }
  int64_t bad_messages() const { return bad_messages_.load(); }

 private:
  struct Connection {
    MqttIngest* owner = nullptr;
    int index = 0;
    struct mosquitto* mosq = nullptr;
    std::vector<std::string> topics;
    std::atomic<int> subscribe_mid{-1};
    std::atomic<bool> connected{false};  // connected and the subscription acknowledged
  };
  static void OnConnect(struct mosquitto*, void* conn, int rc);
  static void OnSubscribe(struct mosquitto*, void* conn, int mid, int count, const int* granted);
  static void OnDisconnect(struct mosquitto*, void* conn, int rc);
  static void OnMessage(struct mosquitto*, void* conn, const struct mosquitto_message* msg);
  void HandleMessage(const std::string& topic, const char* payload, int len);
  void HandleDeviceMessage(const TopicHandler& handler, const std::string& topic, const std::string& meter,
                           const char* payload, int len);
  void RecordBadMessage(const std::string& topic, const std::string& meter_id, const std::string& reason,
                        const char* payload, int len);

  Pipeline* const pipeline_;
  const MqttOptions options_;
  GroupCommitter group_;
  std::map<std::string, TopicHandler> handlers_;  // constant once started
  std::vector<std::unique_ptr<Connection>> connections_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> messages_{0};
  std::atomic<int64_t> bad_messages_{0};
};

}  // namespace mh::ingest
