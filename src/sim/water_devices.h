// The device side of water remote maintenance (SPEC 3.1, 3.5) as the simulators and tests drive it
// against a real broker: a terminal's MQTT link (its frames, its flowmeter's relayed through it,
// its acks; its command topic), the RLE frames both devices send, and a simulated terminal that
// applies received commands with the portable meter library (src/meter/water) and acknowledges.
//
// Topics (SPEC 0.1 shard): meters/<shard>/<terminal>/water/frame, .../water/ack, .../commands.
// Thread model: the link's network thread (mosquitto_loop_start) only queues command payloads and
// counts acknowledgements; everything else runs on the caller's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ingest/mqtt_tls.h"
#include "codec/water_frame.h"
#include "meter/water/self_maintenance.h"

struct mosquitto;

namespace mh::sim {

// One RLE flow frame: `flows` (m³/h; NaN = a missing sample) sampled every interval_s from start.
// A flowmeter's frame carries its terminal's feature code (`relayed` when sent through it).
Result<std::string> EncodeFlowFrame(codec::WaterDeviceKind kind, const std::string& feature_code,
                                    const std::string& device_id, int64_t start, int interval_s,
                                    const std::vector<double>& flows, bool relayed);

// The platform's command payload ({"type":"water_maintenance","command_id","feature_code",
// "issued_at","expires_at","parameters":{"model":"linear","a1","a2"}|{"model":"power","a","b","c"}})
// as the terminal library's command. The parameters' safety is checked by Apply, not here.
Result<meter::water::MaintenanceCommand> ParseWaterCommand(std::string_view payload);
// The ack payload: {"command_id","feature_code","applied_at"}.
std::string WaterAckJson(const meter::water::MaintenanceAck& ack);

// A water meter terminal's MQTT connection: publishes on its own topics at QoS 1 and receives its
// command topic.
class WaterDeviceLink {
 public:
  explicit WaterDeviceLink(std::string terminal_id);
  ~WaterDeviceLink();
  WaterDeviceLink(const WaterDeviceLink&) = delete;
  WaterDeviceLink& operator=(const WaterDeviceLink&) = delete;

  // Connects to the broker on 127.0.0.1:port and subscribes to the command topic (`subscribed`
  // turns true when the broker confirms; Connect does not wait for it). Over TLS when `tls` is set.
  Status Connect(int port, const ingest::MqttTls& tls = {});
  // Publishes on meters/<shard>/<terminal>/<suffix>, e.g. "water/frame".
  Status Publish(const std::string& suffix, const std::string& payload);
  // The oldest command payload received and not yet taken.
  std::optional<std::string> NextCommand();
  // Waits (bounded) until the broker acknowledged every publish; false on timeout.
  bool WaitAcked(double timeout_s) const;

  const std::string& terminal_id() const { return terminal_id_; }

  // Read from any thread.
  std::atomic<bool> subscribed{false};
  std::atomic<int> sent{0}, acked{0}, received{0};

 private:
  const std::string terminal_id_;
  const std::string base_;  // meters/<shard>/<terminal>
  struct mosquitto* mosq_ = nullptr;
  std::mutex mu_;
  std::deque<std::string> commands_;  // guarded by mu_
};

// A simulated terminal and its paired reference flowmeter behind one link: the terminal reports
// its raw flow through its self-maintenance correction, the flowmeter's frames go relayed.
class SimWaterTerminal {
 public:
  SimWaterTerminal(std::string terminal_id, std::string flowmeter_id);

  Status Connect(int port, const ingest::MqttTls& tls = {}) { return link_.Connect(port, tls); }
  // One span of samples from `start`: the flowmeter's readings `reference` (relayed through the
  // terminal) and the terminal's raw flows `raw` (reported through its correction), each cut
  // into frames of at most frame_samples (0 = one frame each), flowmeter first.
  Status PublishSpan(int64_t start, int interval_s, const std::vector<double>& reference, const std::vector<double>& raw,
                     int frame_samples = 0);

  // What became of one received command.
  struct CommandOutcome {
    std::string command_id;
    bool applied = false;     // applied (or re-acknowledged) and acked on water/ack
    std::string error;        // why it was refused (then no ack)
    meter::water::Correction correction;
  };
  // Takes every command received so far: self-maintenance applies it at `now` (device time) and the
  // ack goes out on water/ack; a refused one (unparsable, another terminal, expired, unsafe) is
  // reported and not acknowledged.
  std::vector<CommandOutcome> HandleCommands(int64_t now);

  double Report(double raw_flow) const { return terminal_.Report(raw_flow); }
  const meter::water::TerminalSelfMaintenance& maintenance() const { return terminal_; }
  WaterDeviceLink& link() { return link_; }
  const std::string& terminal_id() const { return link_.terminal_id(); }
  const std::string& flowmeter_id() const { return flowmeter_id_; }
  const std::string& feature_code() const { return terminal_.feature_code(); }

 private:
  WaterDeviceLink link_;
  const std::string flowmeter_id_;
  meter::water::TerminalSelfMaintenance terminal_;
};

}  // namespace mh::sim
