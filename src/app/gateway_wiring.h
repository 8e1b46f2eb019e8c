// What the daemon gives the TCP gateway (src/gateway): the registered meters from the store, and
// a sink that publishes on the broker — readings on meters/<shard>/<meter>/readings, undecodable
// frames on meters/<shard>/<meter>/raw/<protocol> — so the shard's owner judges them like any
// other message (per-meter order, one path whatever the number of workers; docs/gateway.md).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "gateway/gateway.h"
#include "store/store.h"

namespace mh::app {

class StoreMeterDirectory final : public gateway::MeterDirectory {
 public:
  StoreMeterDirectory(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}
  Result<std::vector<gateway::GatewayMeter>> MetersBehind(const std::string& gateway_id) override;
  Result<std::optional<gateway::GatewayMeter>> MeterByAddress(const std::string& protocol,
                                                              const std::string& address) override;
  // The meter list is read once per this many milliseconds, whatever the number of DTUs.
  static constexpr int64_t kCacheMs = 10000;

 private:
  store::Store* const store_;
  const Clock* const clock_;
  std::mutex mu_;
  int64_t loaded_ms_ = -1;
  std::map<std::string, std::vector<gateway::GatewayMeter>> by_gateway_;
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
