// What the daemon gives the TCP gateway (src/gateway): the registered meters from the store, and
// a sink that publishes on the broker — readings on meters/<shard>/<meter>/readings, undecodable
// frames on meters/<shard>/<meter>/raw/<protocol> — so the shard's owner judges them like any
// other message (per-meter order, one path whatever the number of workers; docs/gateway.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/gateway.h"
#include "store/store.h"

namespace mh::app {

// Store queries, both indexed: the meters behind one DTU (Store::MetersBehindGateway), a meter
// by its protocol address.
class StoreMeterDirectory final : public gateway::MeterDirectory {
 public:
  explicit StoreMeterDirectory(store::Store* store) : store_(store) {}
  Result<std::vector<gateway::GatewayMeter>> MetersBehind(const std::string& gateway_id) override;
  Result<std::optional<gateway::GatewayMeter>> MeterByAddress(const std::string& protocol,
                                                              const std::string& address) override;

 private:
  store::Store* const store_;
};

// The registration as the gateway needs it (DL/T 645: total active energy, and the identifier of
// the billing channel when it is another).
gateway::GatewayMeter GatewayMeterOf(const store::MeterInfo& m);

class BrokerReadingSink final : public gateway::ReadingSink {
 public:
  using Publish = std::function<Status(const std::string& topic, const std::string& payload)>;
  explicit BrokerReadingSink(Publish publish) : publish_(std::move(publish)) {}
  Status Deliver(const std::vector<Reading>& readings) override;
  Status Reject(const std::string& device_id, std::string_view protocol, std::span<const uint8_t> frame) override;

 private:
  Publish publish_;
};

}  // namespace mh::app
