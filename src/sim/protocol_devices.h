// Simulated protocol devices (issue 16), for the integration tests, the bench and `meterhub demo`:
// a transparent DTU with DL/T 645 and CJ/T 188 meters on its serial line answering MeterHub's
// polls over TCP, a DLMS meter pushing data-notifications in the IEC 62056-47 wrapper, and a
// wM-Bus receiver publishing the telegrams it hears over MQTT. The DTU runs its own thread with
// blocking sockets; meters' registers climb with every answer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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
// The same push ciphered as general-glo-ciphering (security suite 0: AES-128-GCM, encrypted and
// authenticated, 12-byte tag) with the meter's 8-byte `system_title_hex`, which the decoder then
// prints as its address; keys in hex. InvalidArgument for a bad title or key.
Result<std::vector<uint8_t>> DlmsCipheredPush(const std::string& name, uint32_t import_wh, const std::string& system_title_hex,
                                              const std::string& key_hex, const std::string& auth_key_hex,
                                              uint32_t invocation_counter);

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

// A wireless M-Bus water meter a receiver hears (EN 13757-4; manufacturer MHU, device type 7).
struct SimWmbusMeter {
  std::string id;           // 8 decimal digits; the decoder's address is "MHU" + id
  double volume_m3 = 0;     // what its first telegram carries (litre resolution)
  double step_m3 = 0.01;    // added after each telegram
  std::string key_hex;      // AES-128 key: its telegrams use security mode 5; empty = plain
  bool corrupt = false;     // its telegrams carry a wrong L field (the decoder refuses them)
};

// A water meter's telegram without the link layer's CRCs (as receivers hand them on): short
// transport header (CI 0x7A) with access number `access`, the volume as VIF 0x13 (litres);
// encrypted in security mode 5 (AES-128-CBC) when `key_hex` is set. InvalidArgument for a bad id or key.
Result<std::vector<uint8_t>> WmbusTelegram(const std::string& id, double volume_m3, uint8_t access,
                                           const std::string& key_hex = "");

// A wM-Bus receiver (a concentrator on the radio side): each Round, every meter sends one
// telegram, which the receiver publishes as hex on meters/<shard>/<receiver>/raw/wmbus — the
// meters are registered with `gateway` = the receiver's id (docs/mqtt.md "Raw protocol frames").
class SimWmbusReceiver {
 public:
  using Publish = std::function<Status(const std::string& topic, const std::string& payload)>;
  SimWmbusReceiver(std::string receiver_id, std::vector<SimWmbusMeter> meters);

  const std::string& id() const { return id_; }
  const std::vector<SimWmbusMeter>& meters() const { return meters_; }
  static std::string AddressOf(const SimWmbusMeter& m) { return "MHU" + m.id; }
  // The keys of the encrypted meters as `[ingest] frame_keys_file` reads them (`address,key`),
  // written with mode 0600.
  Status WriteKeysFile(const std::string& path) const;
  // One telegram per meter, published; returns how many were. Volumes climb after each.
  Result<int> Round(const Publish& publish);
  int64_t telegrams() const { return telegrams_; }

 private:
  const std::string id_;
  std::vector<SimWmbusMeter> meters_;
  uint8_t access_ = 0;
  int64_t telegrams_ = 0;
};

}  // namespace mh::sim
