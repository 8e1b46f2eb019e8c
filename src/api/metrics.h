// /metrics in the Prometheus text format (SPEC 5): ingest rate, verdict counts, alert sends,
// queue depths. Values are read from the components' own counters at scrape time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
}

namespace mh::api {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  // A monotonically increasing source, exported as a counter.
  void AddCounter(const std::string& name, const std::string& help, std::vector<std::pair<std::string, std::string>> labels,
                  std::function<int64_t()> read);
  // A value that goes up and down, exported as a gauge.
  void AddGauge(const std::string& name, const std::string& help, std::vector<std::pair<std::string, std::string>> labels,
                std::function<double()> read);

  // The text exposition of every metric, refreshed from its source now.
  std::string Render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mh::api
