#include "app/gateway_wiring.h"

#include "codec/meter/channels.h"
#include "codec/reading_json.h"
#include "crypto/crypto.h"
#include "ingest/device_topics.h"

namespace mh::app {

gateway::GatewayMeter GatewayMeterOf(const store::MeterInfo& m) {
  gateway::GatewayMeter g;
  g.meter_id = m.meter_id;
  g.protocol = m.protocol;
  g.address = m.address;
  g.interval_s = m.interval_s;
  if (m.protocol == "dlt645") {
    g.data_ids.push_back("00010000");
    const std::string billing = codec::Dlt645DataIdOf(store::BillingChannelOf(m));
    if (!billing.empty() && billing != "00010000") g.data_ids.push_back(billing);
  }
  return g;
}

Result<std::vector<gateway::GatewayMeter>> StoreMeterDirectory::MetersBehind(const std::string& gateway_id) {
  MH_ASSIGN_OR_RETURN(std::vector<store::MeterInfo> meters, store_->MetersBehindGateway(gateway_id));
  std::vector<gateway::GatewayMeter> out;
  out.reserve(meters.size());
  for (const store::MeterInfo& m : meters) out.push_back(GatewayMeterOf(m));
  return out;
}

Result<std::optional<gateway::GatewayMeter>> StoreMeterDirectory::MeterByAddress(const std::string& protocol,
                                                                                 const std::string& address) {
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> m, store_->FindMeterByAddress(protocol, address));
  if (!m) return std::optional<gateway::GatewayMeter>();
  return std::optional<gateway::GatewayMeter>(GatewayMeterOf(*m));
}

Status BrokerReadingSink::Deliver(const std::vector<Reading>& readings) {
  if (readings.empty()) return Status::Ok();
  std::string payload = "[";
  for (const Reading& r : readings) {
    if (payload.size() > 1) payload += ',';
    payload += codec::ReadingToJson(r);
  }
  payload += ']';
  return publish_(ingest::DeviceTopic(readings.front().meter_id, "readings"), payload);
}

Status BrokerReadingSink::Reject(const std::string& device_id, std::string_view protocol, std::span<const uint8_t> frame) {
  // As hex text: the raw topic takes both, and a broker log stays readable.
  return publish_(ingest::DeviceTopic(device_id, "raw/" + std::string(protocol)), crypto::HexEncode(frame));
}

}  // namespace mh::app
