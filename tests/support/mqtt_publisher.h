// A plain MQTT client for the integration tests: publishes at QoS 1 to a real broker and counts
// the PUBACKs (every reading the broker acknowledged must end up stored).
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <string>

#include <gtest/gtest.h>

#include "core/meter_id.h"

namespace mh::testing {

class Publisher {
 public:
  explicit Publisher(int port, const std::string& client_id = "test-publisher") {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(client_id.c_str(), true, this);
    mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) {
      static_cast<Publisher*>(self)->acked++;
    });
    EXPECT_EQ(mosquitto_connect(mosq_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    mosquitto_loop_start(mosq_);
  }
  ~Publisher() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // To the meter's readings topic (meters/<shard>/<meter>/readings).
  void Publish(const std::string& meter, const std::string& payload) {
    std::string topic = "meters/" + std::to_string(ShardOf(meter)) + "/" + meter + "/readings";
    PublishRaw(topic, payload);
  }
  void PublishRaw(const std::string& topic, const std::string& payload) {
    ASSERT_EQ(mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false),
              MOSQ_ERR_SUCCESS);
    ++sent;
  }
  std::atomic<int> sent{0}, acked{0};

 private:
  struct mosquitto* mosq_;
};

}  // namespace mh::testing
