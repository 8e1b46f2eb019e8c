#include "sim/relay_sim.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/clock.h"
#include "base/progress.h"
#include "base/tool_args.h"
#include "meter/relay_node.h"
#include "meter/relay_score.h"
#include "sim/relay_serve.h"
#include "sim/rng.h"

namespace mh::sim {
namespace {

// Ends a night for either engine: its transmissions, the cohort's delivered share, and the
// cumulative extra transmissions per delivered reading; appends it to the report.
void CloseNight(RelaySimNight night, uint64_t cohort_delivered, uint64_t* cum_extra, uint64_t* cum_delivered,
                RelaySimReport* report) {
  night.extra_transmissions = night.uplink_attempts + night.wifi_frames;
  *cum_extra += night.extra_transmissions;
  *cum_delivered += night.delivered_readings;
  night.cohort_delivered = cohort_delivered;
  night.cohort_delivered_fraction =
      report->cohort_readings ? static_cast<double>(cohort_delivered) / report->cohort_readings : 0;
  night.extra_per_delivered = *cum_delivered ? static_cast<double>(*cum_extra) / *cum_delivered : 0;
  report->nights.push_back(std::move(night));
}

// Counts the failures among `n` first uploads with success probability `p`.
uint32_t CountFailures(SimRng& r, int n, double p) {
  uint32_t failed = 0;
  for (int j = 0; j < n; ++j)
    if (Uniform01(r) >= p) ++failed;
  return failed;
}

struct MeterState {
  uint32_t cohort = 0;  // day-1 failures still queued
  uint32_t other = 0;   // later failures still queued
  uint32_t queued() const { return cohort + other; }
};

Status ValidateSim(const RelaySimOptions& o) {
  if (o.meters < 1) return InvalidArgument("--meters must be ≥ 1");
  if (o.nights < 1 || o.nights > 255) return InvalidArgument("--nights must lie in 1..255");
  if (o.k < 1) return InvalidArgument("--k must be ≥ 1");
  if (o.history_days < 1) return InvalidArgument("--history-days must be ≥ 1");
  if (o.plain_attempts < 0) return InvalidArgument("--plain-attempts must be ≥ 0");
  if (o.radio.readings_per_day > 65535) return InvalidArgument("--readings-per-day must be ≤ 65535");
  return o.radio.Validate();
}

}  // namespace

std::string SimRegionCode(int street) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%09d", 100000000 + street % 900000000);
  return buf;
}

std::string SimPositionCode(int position) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06d", position % 1000000);
  return buf;
}

std::string SimMeterId(const RelaySimOptions& o, int meter) { return o.id_prefix + std::to_string(meter); }

const char* StrategyName(RelaySimOptions::Strategy strategy) {
  switch (strategy) {
    case RelaySimOptions::kRelay: return "relay";
    case RelaySimOptions::kRelayWithRetry: return "relay_with_retry";
    case RelaySimOptions::kPlainRetry: break;
  }
  return "plain_retry";
}

std::vector<UndeliveredCause> UndeliveredCauses(const RelaySimReport& report, const RadioModel& model,
                                                int night) {
  std::vector<UndeliveredCause> causes = {
      {"uplink module faulty on every night so far", 0, 0},
      {"building interference bad on every night so far", 0, 0},
      {"poor spot (low base uplink)", 0, 0},
      {"other", 0, 0},
  };
  const int last = std::min(night, model.nights());
  for (int i = 0; i < report.meters && i < model.meters(); ++i) {
    const uint16_t queued = report.cohort_per_meter[i];
    if (queued == 0) continue;
    const uint8_t delivered = report.cohort_delivered_night[i];
    if (delivered != 0 && delivered <= night) continue;
    bool faulty = true, bad = true;
    for (int n = 1; n <= last; ++n) {
      faulty = faulty && model.Faulty(i, n);
      bad = bad && model.InterferenceBad(model.Building(i), n);
    }
    const size_t c = faulty ? 0 : bad ? 1 : model.IsPoorSpot(i) ? 2 : 3;
    ++causes[c].meters;
    causes[c].readings += queued;
  }
  return causes;
}

bool SameFigures(const RelaySimReport& a, const RelaySimReport& b) {
  return a.strategy == b.strategy && a.meters == b.meters && a.seed == b.seed &&
         a.poor_meters == b.poor_meters && a.cohort_readings == b.cohort_readings &&
         a.cohort_meters == b.cohort_meters && a.nights == b.nights &&
         a.cohort_delivered_night == b.cohort_delivered_night &&
         a.cohort_per_meter == b.cohort_per_meter;
}

Result<RelaySimReport> RunRelayStrategy(const RelaySimOptions& options) {
  if (Status s = ValidateSim(options); !s.ok()) return s;
  Result<RadioModel> model = RadioModel::Create(options.radio, options.meters, options.nights, options.seed);
  if (!model.ok()) return model.status();
  return RunRelayStrategy(options, *model);
}

namespace {

// The kMeterNode engine: every meter is a real meter::MeterNode (beacons encrypted, passwords
// derived, batches signed) over a simulated Radio that draws from the model's streams in the same
// order as the direct engine, so both engines give the same figures.
class NodeFleet {
 public:
  NodeFleet(const RelaySimOptions& o, const RadioModel& model, FleetLink* link)
      : o_(o), model_(model), link_(link) {}

  Result<RelaySimReport> Run() {
    const int n = o_.meters;
    radios_.reserve(n);
    nodes_.reserve(n);
    for (int i = 0; i < n; ++i) radios_.push_back(std::make_unique<SimRadio>(this, i));
    for (int i = 0; i < n; ++i) {
      meter::MeterIdentity id{SimMeterId(o_, i), SimRegionCode(model_.Street(i)), SimPositionCode(model_.Position(i))};
      meter::MeterNodeOptions mo;
      mo.k = o_.k;
      mo.alpha = o_.alpha;
      mo.history_days = o_.history_days;
      mo.max_retention_days = 1000;  // no reading ages out within 255 nights, as in the direct engine
      mo.fanout = o_.fanout;
      const meter::KeyStore& keys = link_ ? link_->Keys(i) : keys_;
      Result<meter::MeterNode> node = meter::MeterNode::Create(id, mo, *radios_[i], keys, clock_, random_);
      if (!node.ok()) return node.status().WithContext("meter " + std::to_string(i));
      nodes_.push_back(std::move(node).value());
    }

    RelaySimReport report;
    report.strategy = o_.strategy;
    report.meters = n;
    report.seed = o_.seed;
    report.cohort_delivered_night.assign(n, 0);
    report.cohort_per_meter.assign(n, 0);
    for (int i = 0; i < n; ++i) report.poor_meters += model_.IsPoorSpot(i);
    uint64_t cohort_delivered = 0, cum_extra = 0, cum_delivered = 0;
    std::vector<size_t> before(n);
    const bool relay = o_.strategy != RelaySimOptions::kPlainRetry;
    const bool own_retry = o_.strategy != RelaySimOptions::kRelay;

    for (int d = 1; d <= o_.nights; ++d) {
      night_ = d;
      clock_.SetMillis(static_cast<int64_t>(d) * 86400000);
      if (d == 1 || o_.readings_every_day) {
        for (int i = 0; i < n; ++i) {
          radios_[i]->rng = SimRng(model_.StreamSeed(i, d, DrawPurpose::kDayReadings));
          radios_[i]->counting = false;
          for (int r = 0; r < model_.options().readings_per_day; ++r) {
            // A register that only grows: what a server validating the readings expects.
            const double value = 0.25 * ((d - 1) * model_.options().readings_per_day + r + 1);
            Result<bool> ok = nodes_[i].RecordReading(Reading{"", DayTs(d) + r * 900, value, "", ""});
            if (!ok.ok()) return ok.status().WithContext("meter " + std::to_string(i));
          }
          if (d == 1) {
            const size_t failed = nodes_[i].queue().size();
            report.cohort_per_meter[i] = static_cast<uint16_t>(failed);
            report.cohort_readings += failed;
            report.cohort_meters += failed > 0;
          }
        }
      }
      RelaySimNight night;
      night.night = d;
      uplink_attempts_ = wifi_frames_ = 0;
      for (int i = 0; i < n; ++i) {
        if (link_) {
          if (std::optional<meter::Fanout> fanout = link_->FanoutOf(i)) nodes_[i].set_fanout(*fanout);
          radios_[i]->outcome_rng = SimRng(model_.StreamSeed(i, d, DrawPurpose::kOutcomeUplink));
        }
        radios_[i]->rng = SimRng(model_.StreamSeed(i, d, DrawPurpose::kWifiFrame));
        radios_[i]->retry_rng = SimRng(model_.StreamSeed(i, d, DrawPurpose::kRetryUplink));
        radios_[i]->forward_rng = SimRng(model_.StreamSeed(i, d, DrawPurpose::kForwardUplink));
        radios_[i]->counting = true;
        before[i] = nodes_[i].queue().size();
        night.queued_meters += before[i] > 0;
      }
      if (!relay) {
        for (int i = 0; i < n; ++i) {
          for (int a = 0; a < o_.plain_attempts && !nodes_[i].queue().empty(); ++a) nodes_[i].RetryDirect();
        }
      } else {
        // Access points first (a meter with a faulty module stays silent), then the scanners.
        for (int i = 0; i < n; ++i) {
          if (!nodes_[i].RelayCondition() || model_.Faulty(i, d)) continue;
          ++night.relays;
          if (Result<meter::NightReport> r = nodes_[i].OnTargetSubPeriod(); !r.ok())
            return r.status().WithContext("meter " + std::to_string(i));
        }
        for (int i = 0; i < n; ++i) {
          if (nodes_[i].RelayCondition()) continue;
          if (own_retry) {
            for (int a = 0; a < o_.plain_attempts && !nodes_[i].queue().empty(); ++a) nodes_[i].RetryDirect();
            if (nodes_[i].RelayCondition()) continue;
          }
          if (Result<meter::NightReport> r = nodes_[i].OnTargetSubPeriod(); !r.ok())
            return r.status().WithContext("meter " + std::to_string(i));
        }
        for (int i = 0; i < n; ++i) nodes_[i].EndTargetSubPeriod();
      }
      for (int i = 0; i < n; ++i) {
        const size_t after = nodes_[i].queue().size();
        night.delivered_readings += before[i] - after;
        if (after == 0 && before[i] > 0 && report.cohort_per_meter[i] > 0 &&
            report.cohort_delivered_night[i] == 0) {
          report.cohort_delivered_night[i] = static_cast<uint8_t>(d);
          cohort_delivered += report.cohort_per_meter[i];
        }
      }
      night.uplink_attempts = uplink_attempts_;
      night.wifi_frames = wifi_frames_;
      CloseNight(night, cohort_delivered, &cum_extra, &cum_delivered, &report);
      if (o_.night_done) o_.night_done();
      if (link_) MH_RETURN_IF_ERROR(link_->EndOfNight(d).WithContext("night " + std::to_string(d)));
    }
    for (int i = 0; i < n; ++i) report.undelivered_readings += nodes_[i].queue().size();
    return report;
  }

 private:
  struct SimRadio final : meter::Radio {
    SimRadio(NodeFleet* f, int i) : fleet(f), self(i) {}
    meter::UplinkResult Upload(const meter::RelayBatch& batch) override {
      if (counting) ++fleet->uplink_attempts_;
      // Day uploads draw from the day stream; tonight's retries from the retry stream.
      const bool ok = Uniform01(counting ? retry_rng : rng) < fleet->model_.UplinkSuccess(self, fleet->night_);
      if (ok && fleet->link_) fleet->link_->Uploaded(self, batch);
      return {ok, static_cast<uint16_t>(ok ? 0 : 1)};
    }
    // Not an extra transmission (control traffic, like acknowledgements); drawn from a stream of
    // its own so that it changes no figure.
    bool UploadOutcome(const meter::RelayOutcome& outcome) override {
      if (!fleet->link_) return true;
      const bool ok = Uniform01(outcome_rng) < fleet->model_.UplinkSuccess(self, fleet->night_);
      if (ok) fleet->link_->OutcomeUploaded(self, outcome);
      return ok;
    }
    bool ForwardUpload(const meter::SignedBatch& batch) override {
      ++fleet->uplink_attempts_;
      const bool ok = Uniform01(forward_rng) < fleet->model_.UplinkSuccess(self, fleet->night_);
      if (ok && fleet->link_) fleet->link_->Forwarded(self, batch);
      return ok;
    }
    void StartAccessPoint(const meter::RelayBeacon& beacon, const std::string&) override {
      fleet->air_[self] = beacon;
    }
    void StopAccessPoint() override { fleet->air_.erase(self); }
    std::vector<meter::HeardBeacon> Scan() override {
      const RadioModel& m = fleet->model_;
      std::vector<meter::HeardBeacon> heard;
      const int pos = m.Position(self), first = m.Street(self) * m.options().street_length;
      const int reach = m.MaxHearingDistance();
      const int hi = std::min(m.options().street_length, pos + reach);
      for (int q = std::max(1, pos - reach); q <= hi; ++q) {
        const int j = first + q - 1;
        auto it = fleet->air_.find(j);
        if (j == self || it == fleet->air_.end()) continue;
        const double rssi = m.Rssi(self, j, fleet->night_);
        if (rssi > m.options().wifi_threshold_dbm)
          heard.push_back({it->second.ssid, rssi, it->second.vendor_payload});
      }
      return heard;
    }
    bool SendToRelay(const std::string& ssid, const std::string& password,
                     const meter::SignedBatch& batch) override {
      const RadioModel& m = fleet->model_;
      const int j = m.Street(self) * m.options().street_length +
                    std::stoi(ssid.substr(meter::kRelaySsidLength - meter::kPositionCodeLength)) - 1;
      ++fleet->wifi_frames_;
      if (!(Uniform01(rng) < m.FrameSuccess(m.Rssi(self, j, fleet->night_)))) return false;
      return fleet->nodes_[j].HandleRelayedBatch(password, batch);
    }
    NodeFleet* fleet;
    int self;
    bool counting = false;  // day uploads are first uploads, not extra transmissions
    SimRng rng, retry_rng, forward_rng, outcome_rng;
  };
  // One region key for the whole fleet; the key material does not change any outcome.
  struct Keys final : meter::KeyStore {
    std::vector<meter::RegionKey> RegionKeys() const override { return {meter::RegionKey{1, {7}}}; }
    uint8_t CurrentRegionKeyId() const override { return 1; }
    crypto::Bytes DeviceKey() const override { return crypto::Bytes(32, 9); }
  };
  struct Random final : meter::RandomSource {
    Status Fill(std::span<uint8_t> out) override {
      for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
      return Status::Ok();
    }
    SimRng rng{0x5EED};
  };

  static int64_t DayTs(int d) { return static_cast<int64_t>(d) * 86400; }

  RelaySimOptions o_;
  const RadioModel& model_;
  FleetLink* const link_;  // null: in-process only
  Keys keys_;
  Random random_;
  SimulatedClock clock_;
  int night_ = 1;
  uint64_t uplink_attempts_ = 0;
  uint64_t wifi_frames_ = 0;
  std::vector<std::unique_ptr<SimRadio>> radios_;
  std::vector<meter::MeterNode> nodes_;
  std::map<int, meter::RelayBeacon> air_;  // running access points by meter index
};

}  // namespace

Result<RelaySimReport> RunNodeFleet(const RelaySimOptions& options, const RadioModel& model, FleetLink* link) {
  MH_RETURN_IF_ERROR(ValidateSim(options));
  const auto t0 = std::chrono::steady_clock::now();
  NodeFleet fleet(options, model, link);
  Result<RelaySimReport> r = fleet.Run();
  if (r.ok()) r->wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Result<RelaySimReport> RunRelayStrategy(const RelaySimOptions& options, const RadioModel& model) {
  if (Status s = ValidateSim(options); !s.ok()) return s;
  if (model.meters() != options.meters || model.nights() != options.nights || model.seed() != options.seed)
    return InvalidArgument("the radio model was drawn for another fleet");
  if (options.engine == RelaySimOptions::kMeterNode) {
    const auto t0 = std::chrono::steady_clock::now();
    NodeFleet fleet(options, model, nullptr);
    Result<RelaySimReport> r = fleet.Run();
    if (r.ok()) r->wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  const int n_meters = options.meters;
  const RadioModelOptions& radio = model.options();
  const int street_length = radio.street_length;
  const bool relay = options.strategy != RelaySimOptions::kPlainRetry;
  const bool own_retry = options.strategy != RelaySimOptions::kRelay;

  RelaySimReport report;
  report.strategy = options.strategy;
  report.meters = n_meters;
  report.seed = options.seed;
  report.cohort_delivered_night.assign(n_meters, 0);
  report.cohort_per_meter.assign(n_meters, 0);
  for (int i = 0; i < n_meters; ++i) report.poor_meters += model.IsPoorSpot(i);

  std::vector<MeterState> state(n_meters);
  // Relay strategy: which relays each scanner heard, as (night, relay index), oldest first.
  std::vector<std::vector<std::pair<uint8_t, int>>> heard(relay ? n_meters : 0);
  // Per relay, the stream of its forwarding attempts tonight (lazily seeded).
  std::vector<SimRng> forward_rng;
  std::vector<uint8_t> forward_seeded;
  std::vector<uint8_t> is_relay;
  std::vector<std::string> region_codes((n_meters + street_length - 1) / street_length);
  for (size_t s = 0; s < region_codes.size(); ++s) region_codes[s] = SimRegionCode(static_cast<int>(s));
  std::vector<std::string> position_codes(street_length + 1);
  for (int p = 1; p <= street_length; ++p) position_codes[p] = SimPositionCode(p);

  uint64_t cohort_delivered = 0;
  uint64_t cum_extra = 0, cum_delivered = 0;
  const meter::ScoreOptions score_options{options.alpha, options.k};
  const int reach = model.MaxHearingDistance();

  for (int d = 1; d <= options.nights; ++d) {
    // Day d: every meter's first uploads; the failures join its queue.
    if (d == 1 || options.readings_every_day) {
      for (int i = 0; i < n_meters; ++i) {
        SimRng r(model.StreamSeed(static_cast<uint64_t>(i), d, DrawPurpose::kDayReadings));
        const uint32_t failed = CountFailures(r, radio.readings_per_day, model.UplinkSuccess(i, d));
        if (d == 1) {
          state[i].cohort = failed;
          report.cohort_per_meter[i] = static_cast<uint16_t>(failed);
          report.cohort_readings += failed;
          report.cohort_meters += failed > 0;
        } else {
          state[i].other += failed;
        }
      }
    }

    // Night d, the target sub-period (every meter of a street shares its region's).
    RelaySimNight night;
    night.night = d;
    auto deliver = [&](int i) {
      night.delivered_readings += state[i].queued();
      if (state[i].cohort > 0) {
        cohort_delivered += state[i].cohort;
        report.cohort_delivered_night[i] = static_cast<uint8_t>(d);
      }
      state[i] = MeterState{};
    };

    // Plain retry over the meter's own uplink: true when the queue went through.
    auto retry_own_uplink = [&](int i) {
      SimRng r(model.StreamSeed(static_cast<uint64_t>(i), d, DrawPurpose::kRetryUplink));
      const double p = model.UplinkSuccess(i, d);
      for (int a = 0; a < options.plain_attempts; ++a) {
        ++night.uplink_attempts;
        if (Uniform01(r) < p) {
          deliver(i);
          return true;
        }
      }
      return false;
    };
    if (!relay) {
      for (int i = 0; i < n_meters; ++i) {
        if (state[i].queued() == 0) continue;
        ++night.queued_meters;
        retry_own_uplink(i);
      }
    } else {
      // The relay condition is taken at the start of the sub-period: an empty queue (and, in
      // this model, a working uplink module — a faulty module leaves the meter out).
      is_relay.assign(n_meters, 0);
      for (int i = 0; i < n_meters; ++i) {
        is_relay[i] = state[i].queued() == 0 && !model.Faulty(i, d);
        night.relays += is_relay[i];
      }
      forward_rng.assign(n_meters, SimRng(0));
      forward_seeded.assign(n_meters, 0);
      std::vector<meter::ScannedBeacon> scan;
      std::vector<int> scan_index;
      for (int i = 0; i < n_meters; ++i) {
        if (state[i].queued() == 0) continue;
        ++night.queued_meters;
        if (own_retry && retry_own_uplink(i)) continue;
        const int street = model.Street(i);
        const int pos = model.Position(i);
        const int street_first = street * street_length;
        // Scan: every relay of the street whose beacon clears the threshold tonight.
        scan.clear();
        scan_index.clear();
        auto& hist = heard[i];
        // Forget nights outside the history window (tonight included, as MeterNode does).
        const int oldest = d - options.history_days + 1;
        hist.erase(hist.begin(), std::find_if(hist.begin(), hist.end(),
                                              [&](const auto& e) { return e.first >= oldest; }));
        const int lo = std::max(1, pos - reach), hi = std::min(street_length, pos + reach);
        for (int q = lo; q <= hi; ++q) {
          const int j = street_first + q - 1;
          if (q == pos || j >= n_meters || !is_relay[j]) continue;
          const double rssi = model.Rssi(i, j, d);
          if (rssi <= radio.wifi_threshold_dbm) continue;
          hist.emplace_back(static_cast<uint8_t>(d), j);
          scan_index.push_back(j);
          scan.push_back({"elecmeter_AP" + region_codes[street] + position_codes[q], rssi, 0});
        }
        for (size_t c = 0; c < scan.size(); ++c) {
          const int j = scan_index[c];
          scan[c].frequency = static_cast<double>(
              std::count_if(hist.begin(), hist.end(), [&](const auto& e) { return e.second == j; }));
        }
        if (scan.empty()) continue;
        Result<std::vector<meter::ScoredRelay>> chosen =
            meter::ChooseRelays(scan, region_codes[street], position_codes[pos], score_options);
        if (!chosen.ok()) return chosen.status().WithContext("meter " + std::to_string(i));
        SimRng frame_rng(model.StreamSeed(static_cast<uint64_t>(i), d, DrawPurpose::kWifiFrame));
        bool delivered = false;
        for (const meter::ScoredRelay& c : *chosen) {
          if (delivered && options.fanout == meter::Fanout::kFirst) break;
          const int q = std::stoi(c.position_code);
          const int j = street_first + q - 1;
          // The batch to the relay: one meter-to-meter data frame.
          ++night.wifi_frames;
          if (!(Uniform01(frame_rng) < model.FrameSuccess(c.rssi_dbm))) continue;
          // The relay forwards it over its own uplink: one attempt.
          if (!forward_seeded[j]) {
            forward_rng[j] = SimRng(model.StreamSeed(static_cast<uint64_t>(j), d, DrawPurpose::kForwardUplink));
            forward_seeded[j] = 1;
          }
          ++night.uplink_attempts;
          if (Uniform01(forward_rng[j]) < model.UplinkSuccess(j, d)) delivered = true;
        }
        if (delivered) deliver(i);
      }
    }
    CloseNight(night, cohort_delivered, &cum_extra, &cum_delivered, &report);
    if (options.night_done) options.night_done();
  }
  report.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

namespace {

const char* kUsage =
    "usage: meterhub sim relay --meters N [--nights 7] [--seed S] [--k 3] [--fanout all|first] [--csv OUT.csv]\n"
    "         [--plot OUT.png]\n"
    "  model: [--street-length 200] [--building-size 10] [--good-p 0.995] [--poor-share 0.1]\n"
    "         [--poor-p-min 0.05] [--poor-p-max 0.6] [--s-good 1.0] [--s-bad 0.3]\n"
    "         [--p-good-bad 0.05] [--p-bad-bad 0.8] [--fault-rate 0.002] [--fault-mean-nights 5]\n"
    "         [--rssi-sigma 4] [--wifi-threshold -85] [--wifi-success 0.95] [--readings-per-day 96]\n"
    "  sim:   [--alpha 3] [--history-days 7] [--plain-attempts 3] [--day1-only] [--engine direct|node]\n"
    "  against a running head-end: --serve http://HOST:PORT --broker HOST:PORT --token TOKEN\n"
    "         [--strategy relay|relay_with_retry|plain_retry] [--id-prefix m] [--timeout 60]\n";

// Delivered share per night, one line per strategy, as a PNG drawn by gnuplot (Debian package
// gnuplot-nox) fed on a pipe.
Status PlotDeliveredFraction(const std::vector<RelaySimReport>& reports, const RelaySimOptions& o,
                             const std::string& path) {
  if (path.find('\'') != std::string::npos || path.find('\n') != std::string::npos)
    return InvalidArgument("--plot path must not contain quotes or newlines");
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return FailedPrecondition("--plot needs gnuplot (apt-get install -y gnuplot-nox)");
  std::FILE* gp = ::popen("gnuplot 2>&1 >/dev/null", "w");
  if (gp == nullptr) return Internal("cannot start gnuplot");
  std::ostringstream script;
  script << "set terminal pngcairo size 900,560 noenhanced\nset output '" << path << "'\n"
         << "set title 'Day-1 failed readings delivered (" << o.meters << " meters, seed " << o.seed
         << ", SPEC 6.1 radio model)'\n"
         << "set xlabel 'night'\nset ylabel 'delivered share (%)'\nset key bottom right\n"
         << "set grid\nset xrange [0.8:" << o.nights + 0.2 << "]\nset xtics 1\n"
         << "plot";
  for (size_t s = 0; s < reports.size(); ++s)
    script << (s ? "," : "") << " '-' using 1:2 with linespoints lw 2 title '" << StrategyName(reports[s].strategy)
           << "'";
  script << "\n";
  for (const RelaySimReport& r : reports) {
    for (const RelaySimNight& n : r.nights)
      script << n.night << ' ' << std::setprecision(6) << 100 * n.cohort_delivered_fraction << '\n';
    script << "e\n";
  }
  const std::string text = script.str();
  const bool written = std::fwrite(text.data(), 1, text.size(), gp) == text.size();
  const int rc = ::pclose(gp);
  if (!written || rc != 0) return Internal("gnuplot failed to draw " + path + " (exit " + std::to_string(rc) + ")");
  return Status::Ok();
}

bool ParseInt(const std::string& s, long long lo, long long hi, long long* out) {
  try {
    size_t used = 0;
    const long long v = std::stoll(s, &used);
    if (used != s.size() || v < lo || v > hi) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

bool ParseDouble(const std::string& s, double* out) {
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size()) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

// Sets one option given as text: the range checks and wording of the tool's contract.
Status SetRelaySimOption(const std::string& key, const std::string& value, const std::map<std::string, double*>& doubles,
                         const std::map<std::string, int*>& ints, RelaySimOptions* o, RelayServeOptions* serve,
                         std::string* csv_path, std::string* plot_path) {
  long long n = 0;
  if (key == "--meters") {
    if (!ParseInt(value, 1, 100000000, &n)) return InvalidArgument("--meters must be an integer in 1..100000000, got '" + value + "'");
    o->meters = static_cast<int>(n);
  } else if (key == "--seed") {
    try {
      size_t used = 0;
      o->seed = std::stoull(value, &used, 0);
      if (used != value.size() || value[0] == '-') throw 0;
    } catch (...) {
      return InvalidArgument("--seed must be an unsigned integer, got '" + value + "'");
    }
  } else if (key == "--engine") {
    if (value == "direct") o->engine = RelaySimOptions::kDirect;
    else if (value == "node") o->engine = RelaySimOptions::kMeterNode;
    else return InvalidArgument("--engine must be direct or node, got '" + value + "'");
  } else if (key == "--fanout") {
    std::optional<meter::Fanout> fanout = meter::ParseFanout(value);
    if (!fanout) return InvalidArgument("--fanout must be all or first, got '" + value + "'");
    o->fanout = *fanout;
  } else if (key == "--csv") {
    *csv_path = value;
  } else if (key == "--plot") {
    *plot_path = value;
  } else if (key == "--serve") {
    serve->api_url = value;
  } else if (key == "--broker") {
    serve->broker = value;
  } else if (key == "--token") {
    serve->token = value;
  } else if (key == "--id-prefix") {
    o->id_prefix = value;
  } else if (key == "--timeout") {
    if (!ParseDouble(value, &serve->timeout_s) || serve->timeout_s <= 0)
      return InvalidArgument("--timeout must be a positive number of seconds, got '" + value + "'");
  } else if (key == "--strategy") {
    if (value == "plain_retry") o->strategy = RelaySimOptions::kPlainRetry;
    else if (value == "relay") o->strategy = RelaySimOptions::kRelay;
    else if (value == "relay_with_retry") o->strategy = RelaySimOptions::kRelayWithRetry;
    else return InvalidArgument("--strategy must be plain_retry, relay or relay_with_retry, got '" + value + "'");
  } else if (auto it = ints.find(key); it != ints.end()) {
    if (!ParseInt(value, -1000000000, 1000000000, &n)) return InvalidArgument(key + " must be an integer, got '" + value + "'");
    *it->second = static_cast<int>(n);
  } else if (auto dt = doubles.find(key); dt != doubles.end()) {
    if (!ParseDouble(value, dt->second)) return InvalidArgument(key + " must be a number, got '" + value + "'");
  }
  return Status::Ok();
}

}  // namespace

int RunRelaySim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  RelaySimOptions o;
  o.meters = 0;
  std::string csv_path, plot_path;
  RelayServeOptions serve;
  o.strategy = RelaySimOptions::kRelay;  // the strategy of --serve
  std::vector<std::string> args = argv;
  if (!args.empty() && args[0] == "relay") args.erase(args.begin());  // tolerate the verb
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h" || a == "help") {
      out << kUsage;
      return 0;
    }
  }
  std::map<std::string, double*> doubles = {
      {"--good-p", &o.radio.good_uplink_p},        {"--poor-share", &o.radio.poor_share},
      {"--poor-p-min", &o.radio.poor_p_min},       {"--poor-p-max", &o.radio.poor_p_max},
      {"--s-good", &o.radio.interference_good},    {"--s-bad", &o.radio.interference_bad},
      {"--p-good-bad", &o.radio.p_good_to_bad},    {"--p-bad-bad", &o.radio.p_bad_to_bad},
      {"--fault-rate", &o.radio.fault_rate},       {"--fault-mean-nights", &o.radio.fault_mean_nights},
      {"--rssi-sigma", &o.radio.rssi_sigma_db},    {"--wifi-threshold", &o.radio.wifi_threshold_dbm},
      {"--wifi-success", &o.radio.wifi_frame_success}, {"--alpha", &o.alpha},
      {"--position-step", &o.radio.position_step_m},
  };
  std::map<std::string, int*> ints = {
      {"--nights", &o.nights},           {"--k", &o.k},
      {"--street-length", &o.radio.street_length}, {"--building-size", &o.radio.building_size},
      {"--readings-per-day", &o.radio.readings_per_day}, {"--history-days", &o.history_days},
      {"--plain-attempts", &o.plain_attempts},
  };
  // Values are taken as text and checked below, each with the tool's own wording.
  std::map<std::string, std::string> values;
  CLI::App app;
  for (const char* name : {"--meters", "--seed", "--csv", "--plot", "--serve", "--broker", "--token", "--id-prefix",
                           "--timeout", "--strategy", "--engine", "--fanout"}) {
    app.add_option(name, values[name]);
  }
  for (const auto& [name, target] : doubles) app.add_option(name, values[name]);
  for (const auto& [name, target] : ints) app.add_option(name, values[name]);
  bool day1_only = false;
  app.add_flag("--day1-only", day1_only);
  app.get_option("--meters")->required();
  if (Status s = ParseToolArgs(app, args); !s.ok()) {
    err << "sim relay: " << s.message() << "\n" << kUsage;
    return 2;
  }
  if (day1_only) o.readings_every_day = false;
  for (const auto& [key, value] : values) {
    if (app.get_option(key)->count() == 0) continue;
    if (Status s = SetRelaySimOption(key, value, doubles, ints, &o, &serve, &csv_path, &plot_path); !s.ok()) {
      err << "sim relay: " << s.message() << "\n";
      return 2;
    }
  }
  if (Status s = ValidateSim(o); !s.ok()) {
    err << "sim relay: " << s.message() << "\n";
    return 2;
  }

  if (!serve.api_url.empty()) {
    o.engine = RelaySimOptions::kMeterNode;
    return RunRelaySimServe(o, serve, out, err);
  }

  const auto start = std::chrono::steady_clock::now();
  Result<RadioModel> model = RadioModel::Create(o.radio, o.meters, o.nights, o.seed);
  if (!model.ok()) {
    err << "sim relay: " << model.status().message() << "\n";
    return 2;
  }
  // The three strategies on the same drawn model: plain retry, the seed's relay alone, and relay
  // after the meter's own retries.
  const RelaySimOptions::Strategy strategies[] = {RelaySimOptions::kPlainRetry, RelaySimOptions::kRelay,
                                                   RelaySimOptions::kRelayWithRetry};
  std::vector<RelaySimReport> reports;
  Progress progress("sim relay: nights", std::size(strategies) * static_cast<uint64_t>(o.nights), stderr);
  uint64_t nights_done = 0;
  for (const RelaySimOptions::Strategy strategy : strategies) {
    RelaySimOptions so = o;
    so.strategy = strategy;
    so.night_done = [&] { progress.Update(++nights_done); };
    Result<RelaySimReport> r = RunRelayStrategy(so, *model);
    if (!r.ok()) {
      err << "sim relay: " << StrategyName(strategy) << ": " << r.status().message() << "\n";
      return 1;
    }
    reports.push_back(std::move(r).value());
  }
  progress.Finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const RelaySimReport& plain = reports[0];

  out << "relay vs plain retry (SPEC 2.7, 6.1)\n"
      << "meters = " << o.meters << ", nights = " << o.nights << ", seed = " << o.seed << ", k = " << o.k
      << ", alpha = " << o.alpha << ", history_days = " << o.history_days
      << ", plain_attempts = " << o.plain_attempts << ", fanout = " << meter::FanoutName(o.fanout)
      << ", readings_every_day = " << (o.readings_every_day ? "true" : "false")
      << ", engine = " << (o.engine == RelaySimOptions::kMeterNode ? "node" : "direct") << "\n"
      << o.radio.Describe()
      << "poor-spot meters = " << plain.poor_meters << " ("
      << std::fixed << std::setprecision(2) << 100.0 * plain.poor_meters / o.meters << " %)\n"
      << "day-1 cohort = " << plain.cohort_readings << " readings on " << plain.cohort_meters
      << " meters\n"
      << "strategies: plain_retry = " << o.plain_attempts << " own-uplink attempts per night; relay = the seed's "
         "method alone (scan, k relays, no own retry); relay_with_retry = own retries first, then relays; the relay "
         "strategies hand a batch to "
      << (o.fanout == meter::Fanout::kAll ? "every chosen relay (fanout all)" : "the chosen relays until one succeeds (fanout first)")
      << "\n\n";
  out << "delivered share of the day-1 cohort (%) | extra transmissions per delivered reading\n";
  out << "night  plain_retry        relay  relay_with_retry | plain_retry        relay  relay_with_retry\n";
  for (int n = 0; n < o.nights; ++n) {
    out << std::setw(5) << n + 1 << "  " << std::setprecision(2);
    for (size_t s = 0; s < reports.size(); ++s)
      out << std::setw(s == 0 ? 11 : s == 1 ? 12 : 17) << 100 * reports[s].nights[n].cohort_delivered_fraction
          << (s == 0 ? " " : s == 1 ? " " : "");
    out << " |" << std::setprecision(3);
    for (size_t s = 0; s < reports.size(); ++s)
      out << std::setw(s == 0 ? 12 : s == 1 ? 13 : 18) << reports[s].nights[n].extra_per_delivered;
    out << "\n";
  }
  // Where the undelivered readings sit: the radio-model cause of each still-queued meter.
  for (const int night : {std::min(3, o.nights), o.nights}) {
    out << "\nundelivered day-1 readings after night " << night << " by cause (meters / readings):\n";
    std::vector<std::vector<UndeliveredCause>> causes;
    for (const RelaySimReport& r : reports) causes.push_back(UndeliveredCauses(r, *model, night));
    for (size_t c = 0; c < causes[0].size(); ++c) {
      out << "  " << std::left << std::setw(50) << causes[0][c].cause << std::right;
      for (size_t s = 0; s < reports.size(); ++s)
        out << "  " << StrategyName(reports[s].strategy) << " " << causes[s][c].meters << " / "
            << causes[s][c].readings;
      out << "\n";
    }
    if (night == o.nights) break;
  }
  const double meter_nights = static_cast<double>(reports.size()) * o.meters * o.nights;
  out << "\nwall time " << std::setprecision(2) << wall << " s (";
  for (size_t s = 0; s < reports.size(); ++s)
    out << (s ? ", " : "") << StrategyName(reports[s].strategy) << " " << reports[s].wall_seconds << " s";
  out << "), " << std::setprecision(0) << meter_nights / wall << " meter-nights/s (all strategies)\n";
  out.unsetf(std::ios::floatfield);

  if (!csv_path.empty()) {
    std::ofstream f(csv_path);
    f << "strategy,night,cohort_readings,cohort_delivered,cohort_delivered_fraction,queued_meters,relays,"
         "delivered_readings,uplink_attempts,wifi_frames,extra_transmissions,extra_per_delivered\n";
    for (const RelaySimReport& r : reports) {
      for (const RelaySimNight& n : r.nights) {
        f << StrategyName(r.strategy) << ',' << n.night << ',' << r.cohort_readings << ','
          << n.cohort_delivered << ',' << std::setprecision(6) << std::fixed << n.cohort_delivered_fraction
          << ',' << n.queued_meters << ',' << n.relays << ',' << n.delivered_readings << ','
          << n.uplink_attempts << ',' << n.wifi_frames << ',' << n.extra_transmissions << ','
          << n.extra_per_delivered << '\n';
      }
    }
    if (!f) {
      err << "sim relay: cannot write " << csv_path << "\n";
      return 1;
    }
    out << "csv written to " << csv_path << "\n";
  }
  if (!plot_path.empty()) {
    if (Status s = PlotDeliveredFraction(reports, o, plot_path); !s.ok()) {
      err << "sim relay: " << s.message() << "\n";
      return 1;
    }
    out << "plot written to " << plot_path << "\n";
  }
  return 0;
}

}  // namespace mh::sim
