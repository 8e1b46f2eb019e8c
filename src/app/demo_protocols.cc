#include "app/demo_protocols.h"

#include <chrono>
#include <map>
#include <ostream>
#include <thread>
#include <vector>

#include "app/config.h"
#include "app/daemon.h"
#include "codec/meter/driver.h"
#include "ingest/device_topics.h"
#include "sim/protocol_devices.h"

namespace mh::app {
namespace {

constexpr const char* kDtu = "DEMO-DTU1";
constexpr const char* kReceiver = "DEMO-WMBUS-RX";
constexpr const char* kDlmsName = "MHU0000000000001";

struct ProtocolMeter {
  std::string meter_id, kind, protocol, address, gateway;
};

const std::vector<ProtocolMeter>& Meters() {
  static const std::vector<ProtocolMeter> meters = {
      {"P645-1", "electricity", "dlt645", "000000000001", kDtu},
      {"P645-2", "electricity", "dlt645", "000000000002", kDtu},
      {"P645-3", "electricity", "dlt645", "000000000003", kDtu},
      {"P188-1", "water", "cjt188", "00000000000001", kDtu},
      {"P188-2", "water", "cjt188", "00000000000002", kDtu},
      {"PDLMS-1", "electricity", "dlms", kDlmsName, ""},
      // The wM-Bus driver's first vector (a heat meter's telegram, registers dated 2024-03-15).
      {"PWMBUS-1", "electricity", "wmbus", "MHU12345678", kReceiver},
  };
  return meters;
}

class ProtocolDemoPart final : public DemoPart {
 public:
  void Configure(Config& config, const WebhookReceiver&) override {
    config.gateway.listen = "127.0.0.1:0";
    config.gateway.dlms_listen = "127.0.0.1:0";
  }

  Status Start(DemoContext& ctx) override {
    ctx_ = &ctx;
    gateway::Gateway* gw = ctx.daemon.gateway();
    if (gw == nullptr) return FailedPrecondition("demo: the TCP gateway is not running");
    for (const ProtocolMeter& p : Meters()) {
      store::MeterInfo m;
      m.meter_id = p.meter_id;
      m.kind = p.kind;
      m.customer_id = "C-" + p.meter_id;
      m.protocol = p.protocol;
      m.address = p.address;
      m.gateway = p.gateway;
      m.tz_offset_s = ctx.tz_offset_s;
      m.created_at = ctx.sim_start;
      MH_RETURN_IF_ERROR(ctx.daemon.store()->UpsertMeter(m));
    }
    std::vector<sim::SimProtocolMeter> line;
    double value = 1200;
    for (const ProtocolMeter& p : Meters()) {
      if (p.gateway == kDtu) line.push_back({p.protocol, p.address, value += 37.5, 0.25, sim::MeterBehaviour::kAnswer});
    }
    dtu_ = std::make_unique<sim::SimDtu>(std::string(kDtu) + "\n", std::move(line));
    MH_RETURN_IF_ERROR(dtu_->Start("127.0.0.1", gw->port()));
    MH_RETURN_IF_ERROR(sim::PushDlms("127.0.0.1", gw->dlms_port(), kDlmsName, 5'432'100, 0, 1, 0).status());
    // The wM-Bus receiver's uplink: the telegram as hex on its raw/wmbus topic.
    const codec::ProtocolDriver* wmbus = codec::FindDriver("wmbus");
    if (wmbus == nullptr || wmbus->vectors.empty()) return Internal("demo: no wM-Bus vector");
    return ctx.daemon.mqtt()->Publish(ingest::DeviceTopic(kReceiver, "raw/wmbus"), wmbus->vectors.front().hex);
  }

  Status AdvanceTo(int64_t) override { return Status::Ok(); }  // the gateway polls in real time

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
    out << "  real protocols:      ";
    for (const auto& [protocol, n] : Counts()) out << " " << protocol << " " << n.first << " meters/" << n.second << " readings;";
    const gateway::GatewayCounters& c = ctx_->daemon.gateway()->counters();
    out << " gateway polls " << c.polls.load() << " (silent " << c.silent.load() << ", corrupt " << c.corrupt.load()
        << "), DLMS pushes " << c.dlms_pushes.load() << "\n";
  }

  std::string Banner() const override {
    return std::string("protocols:  DL/T 645 and CJ/T 188 meters behind ") + kDtu +
           " polled over TCP, a DLMS pusher, a wM-Bus receiver (docs/gateway.md); try: GET /api/v1/meters/P645-1/readings";
  }

  ~ProtocolDemoPart() override {
    if (dtu_) dtu_->Stop();
  }

 private:
  // protocol → (meters, stored readings of their billing channel).
  std::map<std::string, std::pair<int, int64_t>> Counts() const {
    std::map<std::string, std::pair<int, int64_t>> counts;
    for (const ProtocolMeter& p : Meters()) {
      auto& n = counts[p.protocol];
      ++n.first;
      auto readings = ctx_->daemon.store()->QueryReadings(p.meter_id, {}, 0);
      if (readings.ok()) n.second += static_cast<int64_t>(readings->size());
    }
    return counts;
  }

  DemoContext* ctx_ = nullptr;
  std::unique_ptr<sim::SimDtu> dtu_;
};

}  // namespace

std::unique_ptr<DemoPart> MakeProtocolDemoPart() { return std::make_unique<ProtocolDemoPart>(); }

}  // namespace mh::app
