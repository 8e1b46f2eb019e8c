#include "api/metrics.h"

#include <map>
#include <mutex>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace mh::api {

struct Metrics::Impl {
  std::mutex mu;
  prometheus::Registry registry;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counter_families;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauge_families;
  struct CounterSource {
    prometheus::Counter* counter;
    std::function<int64_t()> read;
    int64_t last = 0;
  };
  struct GaugeSource {
    prometheus::Gauge* gauge;
    std::function<double()> read;
  };
  std::vector<CounterSource> counters;
  std::vector<GaugeSource> gauges;
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::AddCounter(const std::string& name, const std::string& help,
                         std::vector<std::pair<std::string, std::string>> labels, std::function<int64_t()> read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& fam = impl_->counter_families[name];
  if (fam == nullptr) fam = &prometheus::BuildCounter().Name(name).Help(help).Register(impl_->registry);
  prometheus::Labels l(labels.begin(), labels.end());
  impl_->counters.push_back({&fam->Add(l), std::move(read), 0});
}

void Metrics::AddGauge(const std::string& name, const std::string& help,
                       std::vector<std::pair<std::string, std::string>> labels, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto& fam = impl_->gauge_families[name];
  if (fam == nullptr) fam = &prometheus::BuildGauge().Name(name).Help(help).Register(impl_->registry);
  prometheus::Labels l(labels.begin(), labels.end());
  impl_->gauges.push_back({&fam->Add(l), std::move(read)});
}

std::string Metrics::Render() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& c : impl_->counters) {
    int64_t now = c.read();
    if (now > c.last) c.counter->Increment(static_cast<double>(now - c.last));
    c.last = now;
  }
  for (auto& g : impl_->gauges) g.gauge->Set(g.read());
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry.Collect());
  return out.str();
}

}  // namespace mh::api
