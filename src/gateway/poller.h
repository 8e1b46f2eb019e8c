// Polling the meters behind one transparent DTU (docs/gateway.md "Polling"): the DTU's serial
// line carries one conversation at a time, so exactly one read request is in flight; each meter
// is read on its interval — DL/T 645: one request per data identifier, follow-up frames while the
// answer says more follow; CJ/T 188: the read-data request — with a timeout and retries. The
// poller is a state machine without sockets or threads: the gateway's event loop feeds it the
// DTU's bytes and the time, and sends what it returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "core/reading.h"
#include "gateway/gateway_options.h"

namespace mh::gateway {

// A meter the gateway reads or hears from: what its registration says (store::MeterInfo).
struct GatewayMeter {
  std::string meter_id;
  std::string protocol;                // "dlt645" | "cjt188" | "dlms"
  std::string address;                 // as the decoder prints it
  int64_t interval_s = 900;            // its upload interval: the poll interval and reading stamp
  std::vector<std::string> data_ids;   // dlt645: identifiers to read (8 hex digits); empty = 00010000
};

// Where the gateway's results go. The daemon's sink publishes on the broker, so the shard's owner
// judges the readings like any other (docs/gateway.md "Delivery").
class ReadingSink {
 public:
  virtual ~ReadingSink() = default;
  // Readings of one meter from one poll or push.
  virtual Status Deliver(const std::vector<Reading>& readings) = 0;
  // A frame that did not decode, received for `device_id` (the meter polled, or the meter the
  // connection last pushed for): to be kept as a rejected message with the decoder's error.
  virtual Status Reject(const std::string& device_id, std::string_view protocol, std::span<const uint8_t> frame) = 0;
};

struct GatewayCounters {
  std::atomic<int64_t> dtus{0};              // registered DTUs connected now
  std::atomic<int64_t> dlms_connections{0};  // DLMS connections now
  std::atomic<int64_t> requests{0};          // read requests sent (retries and follow-ups included)
  std::atomic<int64_t> polls{0};             // meter reads completed (answered or not)
  std::atomic<int64_t> silent{0};            // meter reads that got no answer after every retry
  std::atomic<int64_t> corrupt{0};           // frames that did not decode (kept as rejected)
  std::atomic<int64_t> stray{0};             // valid answers to an earlier (timed-out) request, dropped
  std::atomic<int64_t> abnormal{0};          // DL/T 645 abnormal answers (the meter refused the identifier)
  std::atomic<int64_t> late{0};              // meter reads started more than one interval late
  std::atomic<int64_t> readings{0};          // readings delivered
  std::atomic<int64_t> deliver_failed{0};    // sink errors (readings not delivered)
  std::atomic<int64_t> dlms_pushes{0};       // DLMS pushes decoded
  std::atomic<int64_t> dlms_unknown{0};      // pushes of no registered meter, or undecodable before any
  std::atomic<int64_t> cut_mid_poll{0};      // DTUs that disconnected with a request in flight
};

class DtuPoller {
 public:
  DtuPoller(std::string dtu_id, const GatewayOptions& options, ReadingSink* sink, GatewayCounters* counters);

  const std::string& dtu_id() const { return dtu_id_; }
  // The meters behind the DTU; meters already known keep their schedule, new ones are due now.
  void SetMeters(std::vector<GatewayMeter> meters, int64_t now_ms);
  size_t meter_count() const { return meters_.size(); }
  // Advances timeouts and starts the next due read; returns the bytes to send (empty = none).
  std::vector<uint8_t> Step(int64_t now_ms, int64_t now_s);
  // Bytes from the DTU. Bytes while nothing is in flight (heartbeats) are dropped.
  void Received(std::span<const uint8_t> bytes, int64_t now_ms, int64_t now_s);
  // When Step has something to do next (a timeout, a meter due); INT64_MAX = nothing scheduled.
  int64_t NextWakeMs() const;
  // The DTU went away: a read in flight is counted, what it collected delivered.
  void Abandon();
  bool in_flight() const { return flight_.active; }

 private:
  struct Scheduled {
    GatewayMeter meter;
    int64_t next_ms = 0;
  };
  struct Flight {
    bool active = false;
    size_t meter = 0;
    size_t di = 0;                   // index into the meter's identifiers
    int attempt = 0;                 // retries made for the current request
    uint8_t seq = 0;                 // DL/T 645 follow-up frame number
    int64_t deadline_ms = 0;
    int64_t stamp = 0;               // the readings' time
    std::vector<uint8_t> request;    // the request in flight (repeated on a timeout)
    std::vector<uint8_t> values;     // DL/T 645 values of the identifier so far (follow-ups)
    std::vector<Reading> readings;   // collected over the identifiers
  };

  const std::vector<std::string>& DataIds(const GatewayMeter& m) const;
  std::vector<uint8_t> StartRequest(int64_t now_ms);
  void Answer(std::span<const uint8_t> frame, int64_t now_ms);
  void AnswerDlt645(std::span<const uint8_t> frame, int64_t now_ms);
  void AnswerCjt188(std::span<const uint8_t> frame);
  void Corrupt(std::span<const uint8_t> frame, const std::string& why);
  // A valid frame that answers an earlier request: dropped, the read goes on waiting.
  void Stray(const std::string& what);
  void NextDataId(int64_t now_ms);
  void Finish();

  const std::string dtu_id_;
  const GatewayOptions& options_;
  ReadingSink* const sink_;
  GatewayCounters* const counters_;
  std::vector<Scheduled> meters_;
  Flight flight_;
  std::vector<uint8_t> pending_;     // a request Step must send (next identifier, follow-up)
  std::vector<uint8_t> in_;
};

}  // namespace mh::gateway
