#include "app/demo_protocols.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <thread>
#include <vector>

#include "app/config.h"
#include "app/daemon.h"
#include "sim/protocol_devices.h"

namespace mh::app {
namespace {

constexpr int kMetersPerDtu = 16;       // one RS-485 line
constexpr int64_t kIntervalS = 900;     // the protocol meters' upload interval (the store's default)
constexpr const char* kReceiver = "DEMO-WMBUS-RX";
// The demo's AES-128 keys: every second DLMS and wM-Bus meter is encrypted with this one.
constexpr const char* kKey = "000102030405060708090A0B0C0D0E0F";
constexpr const char* kAuthKey = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

std::string Digits(int n, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*d", width, n);
  return buf;
}

struct ProtocolMeter {
  std::string meter_id, kind, protocol, address, gateway;
  bool encrypted = false;
  std::string dlms_name;  // DLMS: its logical device name (the address is it, or the system title when ciphered)
};

// The protocol meters: of every ten, four DL/T 645 and two CJ/T 188 behind DTUs of 16, two DLMS
// pushers and two wM-Bus meters heard by one receiver; every second DLMS and wM-Bus meter encrypted.
std::vector<ProtocolMeter> PlanMeters(int count) {
  std::vector<ProtocolMeter> out;
  int line = 0, dlms = 0, wmbus = 0;
  for (int i = 0; i < count; ++i) {
    ProtocolMeter p;
    const int slot = i % 10;
    if (slot < 6) {
      const bool water = slot >= 4;
      ++line;
      p.protocol = water ? "cjt188" : "dlt645";
      p.kind = water ? "water" : "electricity";
      p.address = Digits(line, water ? 14 : 12);
      p.gateway = "DEMO-DTU" + std::to_string((line - 1) / kMetersPerDtu + 1);
      p.meter_id = std::string(water ? "P188-" : "P645-") + std::to_string(line);
    } else if (slot < 8) {
      ++dlms;
      p.protocol = "dlms";
      p.kind = "electricity";
      p.encrypted = dlms % 2 == 0;
      p.dlms_name = "MHU" + Digits(dlms, 13);
      p.address = p.encrypted ? "4D4855" + Digits(dlms, 10) : p.dlms_name;  // "MHU" + 5 bytes as the system title
      p.meter_id = "PDLMS-" + std::to_string(dlms);
    } else {
      ++wmbus;
      p.protocol = "wmbus";
      p.kind = "water";
      p.encrypted = wmbus % 2 == 0;
      p.address = "MHU" + Digits(wmbus, 8);
      p.gateway = kReceiver;
      p.meter_id = "PWMBUS-" + std::to_string(wmbus);
    }
    out.push_back(std::move(p));
  }
  return out;
}

class ProtocolDemoPart final : public DemoPart {
 public:
  ProtocolDemoPart(int count, int fleet_meters, std::string dir)
      : meters_(PlanMeters(count)), fleet_meters_(fleet_meters), dir_(std::move(dir)) {
    std::vector<sim::SimWmbusMeter> radio;
    for (const ProtocolMeter& p : meters_) {
      if (p.protocol == "wmbus") radio.push_back({p.address.substr(3), 40.0 + radio.size(), 0.05, p.encrypted ? kKey : "", false});
    }
    receiver_ = std::make_unique<sim::SimWmbusReceiver>(kReceiver, std::move(radio));
  }

  void Configure(Config& config, const WebhookReceiver&) override {
    config.gateway.listen = "127.0.0.1:0";
    config.gateway.dlms_listen = "127.0.0.1:0";
    // The keys of the encrypted meters, as an operator keeps them: the daemon deciphers their
    // telegrams (raw frames over MQTT) and pushes (the TCP gateway) with them.
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const std::string keys = (std::filesystem::path(dir_) / "frame-keys.csv").string();
    Status written = receiver_->WriteKeysFile(keys);
    if (written.ok()) {
      std::FILE* f = std::fopen(keys.c_str(), "a");
      for (const ProtocolMeter& p : meters_) {
        if (f != nullptr && p.protocol == "dlms" && p.encrypted) std::fprintf(f, "%s,%s,%s\n", p.address.c_str(), kKey, kAuthKey);
      }
      if (f != nullptr) std::fclose(f);
      config.ingest.frame_keys_file = keys;
    }
  }

  Status Start(DemoContext& ctx) override {
    ctx_ = &ctx;
    gateway::Gateway* gw = ctx.daemon.gateway();
    if (gw == nullptr) return FailedPrecondition("demo: the TCP gateway is not running");
    std::map<std::string, std::vector<sim::SimProtocolMeter>> lines;  // DTU → its meters
    double value = 1200;
    for (const ProtocolMeter& p : meters_) {
      store::MeterInfo m;
      m.meter_id = p.meter_id;
      m.kind = p.kind;
      m.customer_id = "C-" + p.meter_id;
      m.protocol = p.protocol;
      m.address = p.address;
      m.gateway = p.gateway;
      m.interval_s = kIntervalS;
      m.tz_offset_s = ctx.tz_offset_s;
      m.created_at = ctx.sim_start;
      MH_RETURN_IF_ERROR(ctx.daemon.store()->UpsertMeter(m));
      if (p.protocol == "dlt645" || p.protocol == "cjt188") {
        lines[p.gateway].push_back({p.protocol, p.address, value += 37.5, 0.25, sim::MeterBehaviour::kAnswer});
      }
    }
    for (auto& [id, line] : lines) {
      dtus_.push_back(std::make_unique<sim::SimDtu>(id + "\n", std::move(line)));
      MH_RETURN_IF_ERROR(dtus_.back()->Start("127.0.0.1", gw->port()));
    }
    return Transmit();
  }

  // The DTUs are polled in real time; the DLMS meters push and the wM-Bus meters transmit once
  // per wall-clock quarter hour (their readings are stamped with the wall clock).
  Status AdvanceTo(int64_t) override {
    return SystemClock::Instance().NowSeconds() / kIntervalS == slot_ ? Status::Ok() : Transmit();
  }

  void Drain(double timeout_s) override {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < until) {
      bool all = true;
      for (const auto& [protocol, n] : Counts()) all &= n.second > 0;
      if (all) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  void PrintSummary(std::ostream& out) override {
    if (ctx_ == nullptr) return;
    const int total = fleet_meters_ + static_cast<int>(meters_.size());
    out << "  real protocols:       " << meters_.size() << " of the fleet's " << total << " meters ("
        << std::lround(100.0 * static_cast<double>(meters_.size()) / std::max(1, total)) << " %):";
    for (const auto& [protocol, n] : Counts()) out << " " << protocol << " " << n.first << " meters/" << n.second << " readings;";
    const gateway::GatewayCounters& c = ctx_->daemon.gateway()->counters();
    out << " gateway polls " << c.polls.load() << " (silent " << c.silent.load() << ", corrupt " << c.corrupt.load()
        << "), DLMS pushes " << c.dlms_pushes.load() << ", wM-Bus telegrams " << receiver_->telegrams() << "\n";
  }

  std::string Banner() const override {
    return "protocols:  " + std::to_string(meters_.size()) + " of the fleet's meters on real protocols — DL/T 645 and " +
           "CJ/T 188 behind " + std::to_string(dtus_.size()) + " DTU(s) polled over TCP, DLMS pushers, a wM-Bus receiver " +
           "(docs/gateway.md); try: GET /api/v1/meters/" + (meters_.empty() ? std::string("P645-1") : meters_.front().meter_id) +
           "/readings";
  }

  ~ProtocolDemoPart() override {
    for (auto& dtu : dtus_) dtu->Stop();
  }

 private:
  Status Transmit() {
    slot_ = SystemClock::Instance().NowSeconds() / kIntervalS;
    gateway::Gateway* gw = ctx_->daemon.gateway();
    for (const ProtocolMeter& p : meters_) {
      if (p.protocol != "dlms") continue;
      const uint32_t wh = 5'432'100 + static_cast<uint32_t>(pushes_++) * 250;
      std::vector<uint8_t> pdu = sim::DlmsPush(p.dlms_name, wh);
      if (p.encrypted) {
        MH_ASSIGN_OR_RETURN(pdu, sim::DlmsCipheredPush(p.dlms_name, wh, p.address, kKey, kAuthKey, static_cast<uint32_t>(pushes_)));
      }
      MH_RETURN_IF_ERROR(sim::SendPdus("127.0.0.1", gw->dlms_port(), {pdu}, 0).status());
    }
    // The receiver's uplink: each telegram as hex on its raw/wmbus topic.
    if (receiver_->meters().empty()) return Status::Ok();
    return receiver_->Round([this](const std::string& topic, const std::string& payload) {
      return ctx_->daemon.mqtt()->Publish(topic, payload);
    }).status();
  }

  // protocol → (meters, stored readings of their billing channel).
  std::map<std::string, std::pair<int, int64_t>> Counts() const {
    std::map<std::string, std::pair<int, int64_t>> counts;
    for (const ProtocolMeter& p : meters_) {
      auto& n = counts[p.protocol];
      ++n.first;
      auto readings = ctx_->daemon.store()->QueryReadings(p.meter_id, {}, 0);
      if (readings.ok()) n.second += static_cast<int64_t>(readings->size());
    }
    return counts;
  }

  const std::vector<ProtocolMeter> meters_;
  const int fleet_meters_;
  const std::string dir_;
  DemoContext* ctx_ = nullptr;
  std::vector<std::unique_ptr<sim::SimDtu>> dtus_;
  std::unique_ptr<sim::SimWmbusReceiver> receiver_;
  int64_t slot_ = -1;
  int64_t pushes_ = 0;
};

}  // namespace

int ProtocolMeterCount(int meters) { return static_cast<int>(std::lround(meters * kProtocolShare)); }

std::unique_ptr<DemoPart> MakeProtocolDemoPart(int count, int fleet_meters, const std::string& dir) {
  return std::make_unique<ProtocolDemoPart>(count, fleet_meters, dir);
}

}  // namespace mh::app
