#include "sim/relay_serve.h"

#include <httplib.h>
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iomanip>
#include <map>
#include <mutex>
#include <set>
#include <ostream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/meter_id.h"
#include "meter/key_delivery.h"
#include "meter/night_schedule.h"
#include "meter/slots.h"
#include "relay/messages.h"
#include "sim/rng.h"

namespace mh::sim {
namespace {

using json = nlohmann::json;

// A meter's keys as the head-end delivered them; written by the MQTT thread, read by the nodes.
class ServedKeys final : public meter::KeyStore {
 public:
  std::vector<meter::RegionKey> RegionKeys() const override {
    std::lock_guard lock(mu_);
    return keys_;
  }
  uint8_t CurrentRegionKeyId() const override {
    std::lock_guard lock(mu_);
    return keys_.empty() ? 0 : keys_.front().id;
  }
  crypto::Bytes DeviceKey() const override {
    std::lock_guard lock(mu_);
    return device_key_;
  }
  void SetDeviceKey(crypto::Bytes key) {
    std::lock_guard lock(mu_);
    device_key_ = std::move(key);
  }
  void SetRegionKeys(std::vector<meter::RegionKey> keys) {
    std::lock_guard lock(mu_);
    keys_ = std::move(keys);
  }
  bool has_keys() const {
    std::lock_guard lock(mu_);
    return !keys_.empty();
  }

 private:
  mutable std::mutex mu_;
  crypto::Bytes device_key_;            // guarded by mu_
  std::vector<meter::RegionKey> keys_;  // guarded by mu_; current first
};

std::string Topic(const std::string& meter_id, const std::string& leaf) {
  return "meters/" + std::to_string(ShardOf(meter_id)) + "/" + meter_id + "/" + leaf;
}

// The fleet's MQTT side: one client publishes for every meter (QoS 1) and receives every meter's
// commands; the nodes' transmissions become real messages.
class ServedFleet final : public FleetLink {
 public:
  ServedFleet(const RelaySimOptions& sim, const RelayServeOptions& serve, const RadioModel& model)
      : sim_(sim), serve_(serve), model_(model), keys_(sim.meters) {
    for (int i = 0; i < sim.meters; ++i) index_[SimMeterId(sim, i)] = i;
  }
  ~ServedFleet() override {
    if (mosq_ != nullptr) {
      mosquitto_disconnect(mosq_);
      mosquitto_loop_stop(mosq_, false);
      mosquitto_destroy(mosq_);
    }
  }

  Status Connect() {
    mosquitto_lib_init();
    std::string host = serve_.broker;
    int port = 1883;
    if (auto colon = host.rfind(':'); colon != std::string::npos) {
      port = std::atoi(host.c_str() + colon + 1);
      host.resize(colon);
    }
    mosq_ = mosquitto_new(("meterhub-sim-" + std::to_string(::getpid())).c_str(), true, this);
    if (mosq_ == nullptr) return Internal("mosquitto_new failed");
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "meters/+/+/commands", 1);
      (void)self;
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<ServedFleet*>(self)->subscribed_ = true;
    });
    mosquitto_publish_callback_set(mosq_, [](mosquitto*, void* self, int) {
      auto* f = static_cast<ServedFleet*>(self);
      ++f->acked_;
      f->cv_.notify_all();
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      static_cast<ServedFleet*>(self)->OnCommand(msg->topic, static_cast<const char*>(msg->payload), msg->payloadlen);
    });
    // Many messages in flight: the acks are what EndOfNight waits for.
    mosquitto_int_option(mosq_, MOSQ_OPT_SEND_MAXIMUM, 1000);
    mosquitto_max_inflight_messages_set(mosq_, 1000);
    if (int rc = mosquitto_loop_start(mosq_); rc != MOSQ_ERR_SUCCESS)
      return Internal(std::string("mosquitto_loop_start: ") + mosquitto_strerror(rc));
    if (int rc = mosquitto_connect_async(mosq_, host.c_str(), port, 30); rc != MOSQ_ERR_SUCCESS)
      return Unavailable("cannot connect to the broker " + serve_.broker + ": " + mosquitto_strerror(rc));
    if (!WaitUntil([this] { return subscribed_.load(); }))
      return Unavailable("no subscription to meters/+/+/commands on " + serve_.broker);
    return Status::Ok();
  }

  // Registers every meter over REST (meter, then relay identity → device key).
  Status Register(httplib::Client& http, const httplib::Headers& auth) {
    for (int i = 0; i < sim_.meters; ++i) {
      const std::string id = SimMeterId(sim_, i);
      json meter{{"meter_id", id}, {"kind", "electricity"}, {"interval_s", 900}, {"timezone", "+00:00"}};
      auto r = http.Post("/api/v1/meters", auth, meter.dump(), "application/json");
      if (!r || (r->status != 200 && r->status != 201))
        return Unavailable("registering meter " + id + ": " + (r ? r->body : httplib::to_string(r.error())));
      json relay{{"meter_id", id}, {"region_code", SimRegionCode(model_.Street(i))},
                 {"position_code", SimPositionCode(model_.Position(i))}};
      r = http.Post("/api/v1/relay/meters", auth, relay.dump(), "application/json");
      if (!r || r->status != 201)
        return Unavailable("registering the relay identity of " + id + ": " + (r ? r->body : httplib::to_string(r.error())));
      json body = json::parse(r->body, nullptr, false);
      Result<crypto::Bytes> key = crypto::HexDecode(body.value("device_key", ""));
      if (!key.ok() || key->size() != 32) return Internal("no device key for " + id);
      keys_[i].SetDeviceKey(std::move(key).value());
      // Provisioning: the head-end's allocation rule, until a relay_target brings another.
      if (i == 0) {
        if (!body.contains("window") ||
            !meter::ParseWindow(body.value("window", ""), &slots_).ok())
          return Internal("no allocation rule (window) in the registration of " + id);
        slots_.slot_minutes = body.value("slot_minutes", 5);
        slots_.slots_per_region = body.value("slots_per_region", 4);
      }
    }
    // The head-end sent the region keys when the meters registered; the first ones may have
    // arrived before the device key was known here — a rotation sends them again to everyone.
    std::set<std::string> regions;
    for (int i = 0; i < sim_.meters; ++i) regions.insert(SimRegionCode(model_.Street(i)));
    for (const std::string& region : regions) {
      auto r = http.Post("/api/v1/relay/regions/" + region + "/rotate-key", auth, "", "application/json");
      if (!r || r->status != 200) return Unavailable("rotating the key of region " + region);
    }
    if (!WaitUntil([this] {
          for (const ServedKeys& k : keys_)
            if (!k.has_keys()) return false;
          return true;
        }))
      return Unavailable("not every meter received its region keys");
    return Status::Ok();
  }

  // Each meter measures its night (1-minute detection points of a simulated load: a base draw and
  // appliances switching on and off), reports its usage level per sub-period through its
  // NightSchedule (SPEC 2.1–2.2), and receives the region's target back (2.3).
  Status Report() {
    SimRng rng(sim_.seed ^ 0x5EB0A7ULL);
    for (int i = 0; i < sim_.meters; ++i) {
      const std::string id = SimMeterId(sim_, i);
      Result<meter::NightSchedule> schedule = meter::NightSchedule::Create(SimRegionCode(model_.Street(i)), slots_, 0);
      if (!schedule.ok()) return schedule.status();
      std::vector<meter::DetectionPoint> points;
      const double base = 0.002 + 0.004 * Uniform01(rng);
      const double busy = 0.02 + 0.1 * Uniform01(rng);  // chance an appliance toggles per minute
      bool on = false;
      for (int minute = 0; minute < meter::WindowMinutes(schedule->options()); ++minute) {
        if (Uniform01(rng) < busy) on = !on;
        points.push_back({minute, base + (on ? 0.02 : 0.0)});
      }
      Result<std::vector<meter::SubPeriodLevel>> levels = schedule->Report(points);
      if (!levels.ok()) return levels.status().WithContext(id);
      relay::ReportMessage m{id, {}};
      for (const meter::SubPeriodLevel& l : *levels) m.reports.push_back({id, l.sub_period, l.level});
      {
        std::lock_guard lock(mu_);
        schedules_.push_back(std::move(schedule).value());
        if (auto early = early_targets_.find(i); early != early_targets_.end())
          (void)schedules_.back().Apply(early->second);
      }
      MH_RETURN_IF_ERROR(Publish(Topic(id, "relay/report"), relay::EncodeReportMessage(m)));
    }
    if (!WaitUntil([this] {
          std::lock_guard lock(mu_);
          for (const meter::NightSchedule& s : schedules_)
            if (!s.target()) return false;
          return schedules_.size() == static_cast<size_t>(sim_.meters);
        }))
      return Unavailable("not every meter received its region's target sub-period");
    return Status::Ok();
  }

  std::map<std::string, int> TargetsByRegion() {
    std::lock_guard lock(mu_);
    std::map<std::string, int> out;
    for (size_t i = 0; i < schedules_.size(); ++i)
      out[SimRegionCode(model_.Street(static_cast<int>(i)))] = schedules_[i].target().value_or(-1);
    return out;
  }

  // The fanout the meters were told, by value ("all" / "first" / "mixed"), for the report.
  std::string FanoutsTold() {
    std::lock_guard lock(mu_);
    std::set<std::string> told;
    for (const auto& [meter, fanout] : fanouts_) told.insert(meter::FanoutName(fanout));
    if (told.empty()) return "none";
    return told.size() == 1 ? *told.begin() : "mixed";
  }

  const meter::KeyStore& Keys(int meter) override { return keys_[meter]; }

  std::optional<meter::Fanout> FanoutOf(int meter) override {
    std::lock_guard lock(mu_);
    auto it = fanouts_.find(meter);
    if (it == fanouts_.end()) return std::nullopt;
    return it->second;
  }

  void Uploaded(int meter, const meter::RelayBatch& batch) override {
    json readings = json::array();
    for (const Reading& r : batch.readings)
      readings.push_back({{"meter", batch.origin_meter_id}, {"ts", r.ts}, {"value", r.value ? json(*r.value) : json(nullptr)}});
    Record(Publish(Topic(batch.origin_meter_id, "readings"), readings.dump()));
    for (const Reading& r : batch.readings) delivered_.emplace(batch.origin_meter_id, r.ts);
  }

  // With fanout "all" several relays forward the same batch: the head-end stores it once, and
  // the readings count once here too.
  void Forwarded(int relay, const meter::SignedBatch& signed_batch) override {
    const std::string relay_id = SimMeterId(sim_, relay);
    relay::ForwardMessage m{relay_id, signed_batch.batch,
                            std::vector<uint8_t>(signed_batch.tag.begin(), signed_batch.tag.end())};
    Record(Publish(Topic(relay_id, "relay/forward"), relay::EncodeForwardMessage(m)));
    for (const Reading& r : signed_batch.batch.readings) delivered_.emplace(signed_batch.batch.origin_meter_id, r.ts);
    ++forwarded_batches_;
  }

  void OutcomeUploaded(int meter, const meter::RelayOutcome& outcome) override {
    const std::string id = SimMeterId(sim_, meter);
    Record(Publish(Topic(id, "relay/outcome"), relay::EncodeOutcomeMessage({id, outcome})));
    ++outcomes_published_;
  }

  Status EndOfNight(int) override {
    if (!first_error_.ok()) return first_error_;
    if (!WaitUntil([this] { return acked_.load() >= published_.load(); }))
      return Unavailable("the broker did not acknowledge " + std::to_string(published_ - acked_) + " messages");
    return Status::Ok();
  }

  uint64_t delivered() const { return delivered_.size(); }
  uint64_t forwarded_batches() const { return forwarded_batches_; }
  uint64_t outcomes_published() const { return outcomes_published_; }
  uint64_t published() const { return published_; }

 private:
  void OnCommand(const std::string& topic, const char* payload, int len) {
    // meters/<shard>/<id>/commands
    const size_t a = topic.find('/', 7), b = topic.rfind('/');
    if (a == std::string::npos || b <= a) return;
    auto it = index_.find(topic.substr(a + 1, b - a - 1));
    if (it == index_.end()) return;  // another fleet's meter
    const int i = it->second;
    const std::string_view text(payload, static_cast<size_t>(len));
    Result<std::string> type = relay::CommandType(text);
    if (!type.ok()) return;
    if (*type == "region_keys") {
      Result<relay::KeysCommand> c = relay::ParseKeysCommand(text);
      const crypto::Bytes device = keys_[i].DeviceKey();
      if (!c.ok() || device.empty()) return;  // not registered here yet: a later rotation comes
      Result<std::vector<meter::RegionKey>> keys = meter::OpenRegionKeys(device, it->first, c->sealed);
      if (keys.ok()) keys_[i].SetRegionKeys(std::move(keys).value());
    } else if (*type == "relay_target") {
      Result<relay::TargetCommand> c = relay::ParseTargetCommand(text);
      if (!c.ok()) return;
      std::lock_guard lock(mu_);
      // The meter library applies the whole command: the server's window and sub-period length
      // (its schedule) and the fanout (its node, at the start of the next night). A target may come
      // back before this meter's schedule exists (another meter's report changed the region's
      // target): keep it for when it does.
      fanouts_[i] = c->target.fanout;
      if (static_cast<size_t>(i) < schedules_.size()) {
        (void)schedules_[i].Apply(c->target);
      } else {
        early_targets_[i] = c->target;
      }
    }
  }

  Status Publish(const std::string& topic, const std::string& payload) {
    ++published_;
    int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      --published_;
      return Unavailable("publish on " + topic + ": " + mosquitto_strerror(rc));
    }
    return Status::Ok();
  }
  void Record(const Status& s) {
    if (!s.ok() && first_error_.ok()) first_error_ = s;
  }

  template <typename Pred>
  bool WaitUntil(Pred pred) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(serve_.timeout_s);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::unique_lock lock(cv_mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(20));
    }
    return true;
  }

  const RelaySimOptions& sim_;
  const RelayServeOptions& serve_;
  const RadioModel& model_;
  std::map<std::string, int> index_;   // constant after construction
  std::vector<ServedKeys> keys_;       // internally synchronised
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> subscribed_{false};
  std::atomic<uint64_t> published_{0}, acked_{0};
  std::mutex cv_mu_;
  std::condition_variable cv_;
  std::mutex mu_;
  std::vector<meter::NightSchedule> schedules_;  // guarded by mu_; index = meter
  std::map<int, meter::TargetAssignment> early_targets_;  // guarded by mu_
  std::map<int, meter::Fanout> fanouts_;          // guarded by mu_: what relay_target told each meter
  meter::SlotOptions slots_;           // the head-end's allocation rule at registration
  std::set<std::pair<std::string, int64_t>> delivered_;  // simulation thread only: (meter, ts) sent
  uint64_t forwarded_batches_ = 0;     // simulation thread only
  uint64_t outcomes_published_ = 0;    // simulation thread only
  Status first_error_;                 // simulation thread only
};

}  // namespace

int RunRelaySimServe(const RelaySimOptions& sim, const RelayServeOptions& serve, std::ostream& out, std::ostream& err) {
  if (serve.broker.empty() || serve.token.empty()) {
    err << "sim relay: --serve needs --broker HOST:PORT and --token TOKEN\n";
    return 2;
  }
  if (sim.meters > 5000) {
    err << "sim relay: --serve drives a small fleet (at most 5000 meters); use the in-process mode for more\n";
    return 2;
  }
  Result<RadioModel> model = RadioModel::Create(sim.radio, sim.meters, sim.nights, sim.seed);
  if (!model.ok()) {
    err << "sim relay: " << model.status().message() << "\n";
    return 2;
  }
  httplib::Client http(serve.api_url);
  http.set_connection_timeout(5);
  http.set_read_timeout(static_cast<time_t>(serve.timeout_s));
  const httplib::Headers auth = {{"Authorization", "Bearer " + serve.token}};

  const auto start = std::chrono::steady_clock::now();
  ServedFleet fleet(sim, serve, *model);
  auto fail = [&](const Status& s) {
    err << "sim relay: " << s.message() << "\n";
    return 1;
  };
  if (Status s = fleet.Connect(); !s.ok()) return fail(s);
  if (Status s = fleet.Register(http, auth); !s.ok()) return fail(s);
  if (Status s = fleet.Report(); !s.ok()) return fail(s);
  Result<RelaySimReport> report = RunNodeFleet(sim, *model, &fleet);
  if (!report.ok()) return fail(report.status());

  // The server must hold exactly what the fleet delivered, once: wait for it to catch up.
  uint64_t stored = 0, quarantined = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(serve.timeout_s);
  for (;;) {
    stored = quarantined = 0;
    for (int i = 0; i < sim.meters; ++i) {
      const std::string id = SimMeterId(sim, i);
      auto r = http.Get("/api/v1/meters/" + id + "/readings?limit=100000", auth);
      auto q = http.Get("/api/v1/quarantine?meter=" + id + "&limit=100000", auth);
      if (!r || r->status != 200 || !q || q->status != 200) return fail(Unavailable("reading back meter " + id + ": " + (r ? r->body : std::string("no answer"))));
      stored += json::parse(r->body)["readings"].size();
      quarantined += json::parse(q->body)["quarantine"].size();
    }
    if (stored + quarantined >= fleet.delivered() || std::chrono::steady_clock::now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto stats = http.Get("/api/v1/relay/stats", auth);
  json batches = stats && stats->status == 200 ? json::parse(stats->body)["batches"] : json::object();
  // Every nightly outcome the fleet published must be kept once by the head-end.
  int64_t outcome_reports = 0, failing_uplinks = 0;
  const auto outcomes_until = std::chrono::steady_clock::now() + std::chrono::duration<double>(serve.timeout_s);
  for (;;) {
    outcome_reports = failing_uplinks = 0;
    for (const auto& [region, target] : fleet.TargetsByRegion()) {
      auto o = http.Get("/api/v1/relay/regions/" + region + "/outcomes", auth);
      json body = o && o->status == 200 ? json::parse(o->body, nullptr, false) : json();
      if (!body.is_object()) return fail(Unavailable("reading the outcomes of region " + region + " back"));
      outcome_reports += body["totals"].value("reports", int64_t{0});
      failing_uplinks += static_cast<int64_t>(body["failing_uplinks"].size());
    }
    if (outcome_reports >= static_cast<int64_t>(fleet.outcomes_published()) ||
        std::chrono::steady_clock::now() > outcomes_until)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const bool outcomes_match = outcome_reports == static_cast<int64_t>(fleet.outcomes_published());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  out << "relay simulation against " << serve.api_url << " over " << serve.broker << " (" << StrategyName(sim.strategy)
      << ", engine = node)\n"
      << "meters = " << sim.meters << ", nights = " << sim.nights << ", seed = " << sim.seed << ", k = " << sim.k << "\n"
      << sim.radio.Describe() << "target sub-periods from the head-end:";
  for (const auto& [region, target] : fleet.TargetsByRegion()) out << " " << region << "=" << target;
  out << "\n\nnight  delivered_%  extra_tx/delivered\n";
  for (const RelaySimNight& n : report->nights)
    out << std::setw(5) << n.night << "  " << std::fixed << std::setprecision(2) << std::setw(11)
        << 100 * n.cohort_delivered_fraction << "  " << std::setprecision(3) << std::setw(18) << n.extra_per_delivered
        << "\n";
  out.unsetf(std::ios::floatfield);
  out << "\nmessages published " << fleet.published() << ", forwarded batches " << fleet.forwarded_batches()
      << "; head-end batches: accepted " << batches.value("accepted", -1) << ", duplicates "
      << batches.value("duplicates", -1) << ", rejected " << batches.value("rejected", -1) << "\n"
      << "fanout from the head-end: " << fleet.FanoutsTold() << "; outcome reports published "
      << fleet.outcomes_published() << ", stored by the head-end " << outcome_reports << " ("
      << (outcomes_match ? "match" : "MISMATCH") << "; meters with a failing uplink now: " << failing_uplinks << ")\n";
  const bool match = stored == fleet.delivered() && quarantined == 0 && outcomes_match;
  out << "server check: the fleet delivered " << fleet.delivered() << " readings (" << report->undelivered_readings
      << " still queued); the server stores " << stored << ", quarantined " << quarantined << ": "
      << (match ? "match" : "MISMATCH") << "\n"
      << "wall time " << std::setprecision(3) << wall << " s\n";
  return match ? 0 : 1;
}

}  // namespace mh::sim
