// Simulated protocol devices (issue 16), for the integration tests, the bench and `meterhub demo`:
// a transparent DTU with DL/T 645 and CJ/T 188 meters on its serial line answering MeterHub's
// polls over TCP, and a DLMS meter pushing data-notifications in the IEC 62056-47 wrapper. Each
// runs its own thread with blocking sockets; meters' registers climb with every answer.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace mh::sim {

// What a simulated meter does when polled.
enum class MeterBehaviour {
  kAnswer,          // a correct answer
  kSilent,          // never answers
  kCorrupt,         // an answer with a wrong checksum
  kDisconnect,      // the DTU drops the TCP connection instead of answering (once)
};

struct SimProtocolMeter {
  std::string protocol;     // "dlt645" (12-digit address) | "cjt188" (14-digit address)
  std::string address;
  double value = 0;         // kWh / m³ the first answer carries
  double step = 0.25;       // added after each answer
  MeterBehaviour behaviour = MeterBehaviour::kAnswer;
};

// DL/T 645-2007 read answer (control 0x91) for one identifier: `value` as XXXXXX.XX BCD.
std::vector<uint8_t> Dlt645ReadAnswer(const std::string& address, const std::string& di_hex, double value);
// CJ/T 188 cold-water 901F answer (control 0x81): current and settlement volume in m³, no clock.
std::vector<uint8_t> Cjt188ReadAnswer(const std::string& address, double volume_m3, uint8_t ser = 0);
// A DLMS data-notification in the IEC 62056-47 wrapper, no date-time: the logical device name
// (0-0:42.0.0.255) `name` and total active import energy 1-0:1.8.0.255 in Wh.
std::vector<uint8_t> DlmsPush(const std::string& name, uint32_t import_wh);

class SimDtu {
 public:
  // `registration`: the bytes the DTU sends first (its id line, or its binary id).
  SimDtu(std::string registration, std::vector<SimProtocolMeter> meters);
  ~SimDtu();
  SimDtu(const SimDtu&) = delete;
  SimDtu& operator=(const SimDtu&) = delete;

  // Connects to the gateway and answers until Stop(); reconnects after a kDisconnect or a lost
  // connection (after `reconnect_ms`).
  Status Start(const std::string& host, int port, int reconnect_ms = 200);
  void Stop();
  int64_t requests() const { return requests_.load(); }   // requests received
  int64_t answers() const { return answers_.load(); }     // correct answers sent
  int64_t connects() const { return connects_.load(); }   // TCP connections made
  // The value the meter's last correct answer carried (0 before any).
  double last_value(const std::string& address) const;

 private:
  void Run(std::string host, int port, int reconnect_ms);
  // Answers the requests in `in`; false when the connection is to be dropped.
  bool Serve(int fd, std::vector<uint8_t>& in);
  SimProtocolMeter* Find(const std::string& protocol, const std::string& address);

  const std::string registration_;
  mutable std::mutex mu_;
  std::vector<SimProtocolMeter> meters_;
  std::vector<double> last_;
  std::vector<bool> disconnected_;  // kDisconnect done
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> fd_{-1};
  std::atomic<int64_t> requests_{0}, answers_{0}, connects_{0};
};

// Connects to `host:port` and sends `pdus` on one connection, `interval_ms` apart; returns how
// many were sent.
Result<int> SendPdus(const std::string& host, int port, const std::vector<std::vector<uint8_t>>& pdus, int interval_ms);

// Connects to `host:port` and sends `count` pushes, `interval_ms` apart, on one connection;
// the meter's register climbs by `step_wh` per push. Returns the pushes sent.
Result<int> PushDlms(const std::string& host, int port, const std::string& name, uint32_t first_wh, uint32_t step_wh,
                     int count, int interval_ms);

}  // namespace mh::sim
