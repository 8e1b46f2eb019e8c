// The TCP gateway (issue 16, docs/gateway.md): transparent DTUs connect to `listen`, name
// themselves with a registration packet and carry the DL/T 645 / CJ/T 188 frames of the meters on
// their serial line, which the gateway polls (gateway/poller.h); DLMS meters connect to
// `dlms_listen` and push IEC 62056-47 wrapper PDUs, ciphered ones deciphered with the operator's
// keys ([ingest] frame_keys_file). One thread runs a poll(2) loop over every
// socket; results go to a ReadingSink, meters come from a MeterDirectory — the gateway knows
// neither the store nor the broker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "codec/meter/meter_frame.h"
#include "gateway/gateway_options.h"
#include "gateway/poller.h"

namespace mh::gateway {

// The registered meters, as the gateway needs them. Called on the gateway's thread.
class MeterDirectory {
 public:
  virtual ~MeterDirectory() = default;
  // The meters registered with `gateway = gateway_id`.
  virtual Result<std::vector<GatewayMeter>> MetersBehind(const std::string& gateway_id) = 0;
  // The meter registered with this protocol address; nullopt when none.
  virtual Result<std::optional<GatewayMeter>> MeterByAddress(const std::string& protocol, const std::string& address) = 0;
};

class Gateway {
 public:
  // `directory` and `sink` must outlive the gateway; `keys` decipher DLMS pushes (none = ciphered
  // pushes are rejected with the decoder's error).
  Gateway(GatewayOptions options, MeterDirectory* directory, ReadingSink* sink, const Clock& clock = SystemClock::Instance(),
          std::shared_ptr<const codec::DecodeKeys> keys = nullptr);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the listeners (InvalidArgument / Unavailable naming the address) and starts the loop.
  Status Start();
  void Stop();
  // The bound ports (useful with port 0); 0 when that listener is off.
  int port() const { return port_; }
  int dlms_port() const { return dlms_port_; }
  const GatewayCounters& counters() const { return counters_; }
  // How often the meter list of each DTU is read again (new and removed registrations): every
  // poll cycle (poll_interval), at most this long apart.
  static constexpr int64_t kDirectoryRefreshMs = 30000;
  int64_t directory_refresh_ms() const;

 private:
  struct Connection;
  void Loop();
  void Accept(int listener, bool dlms);
  // Reads what the socket has; false when the connection is to be closed.
  bool ReadFrom(Connection& c, int64_t now_ms);
  bool Register(Connection& c, int64_t now_ms);
  void DlmsPushes(Connection& c);
  void Flush(Connection& c);
  // `quiet`: the gateway is stopping — no read is counted as cut, nothing is logged per connection.
  void Close(Connection& c, const std::string& why, bool quiet = false);
  void Refresh(Connection& c, int64_t now_ms);

  const GatewayOptions options_;
  MeterDirectory* const directory_;
  ReadingSink* const sink_;
  const Clock& clock_;
  const std::shared_ptr<const codec::DecodeKeys> keys_;
  GatewayCounters counters_;
  int listener_ = -1, dlms_listener_ = -1, wake_[2] = {-1, -1};
  int port_ = 0, dlms_port_ = 0;
  std::vector<std::unique_ptr<Connection>> connections_;  // the loop thread's only
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace mh::gateway
