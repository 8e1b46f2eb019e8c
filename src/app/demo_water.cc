#include "app/demo_water.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/daemon.h"
#include "app/webhook_receiver.h"
#include "sim/water_devices.h"
#include "sim/water_sim.h"

namespace mh::app {
namespace {

using json = nlohmann::json;
using sim::WaterFault;

constexpr int64_t kWindowS = 6 * 3600;  // [water] window = "6h", aligned to UTC midnight
constexpr int kIntervalS = 60;
constexpr char kSmsPath[] = "/water/sms";
constexpr char kWorkOrderPath[] = "/water/work-orders";

// Waits until `done` or `timeout_s` passed; returns done().
template <typename F>
bool WaitUntil(F done, double timeout_s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The demo's meters: every fault class at least once (from 6 meters on), the rest in the
// fleet's shares by largest remainder; few meters take the most telling classes first.
std::vector<int> FaultQuota(int meters, const double (&share)[sim::kWaterFaults]) {
  std::vector<int> quota(sim::kWaterFaults, 0);
  if (meters < sim::kWaterFaults) {
    const WaterFault order[] = {WaterFault::kLinearDrift, WaterFault::kUnsteady, WaterFault::kHealthy,
                                WaterFault::kOffsetDrift, WaterFault::kNonlinearDrift, WaterFault::kSmallDrift};
    for (int i = 0; i < meters; ++i) quota[static_cast<int>(order[i])] = 1;
    return quota;
  }
  double total = 0;
  for (double s : share) total += s;
  const int rest = meters - sim::kWaterFaults;
  int given = 0;
  std::vector<std::pair<double, int>> remainder;
  for (int f = 0; f < sim::kWaterFaults; ++f) {
    const double exact = rest * share[f] / total;
    quota[f] = 1 + static_cast<int>(std::floor(exact));
    given += quota[f];
    remainder.push_back({-(exact - std::floor(exact)), f});  // largest first, then fault order
  }
  std::sort(remainder.begin(), remainder.end());
  for (size_t i = 0; given < meters; ++i, ++given) quota[remainder[i % remainder.size()].second]++;
  return quota;
}

// Adds the wall time of its scope to *total.
class AddElapsed {
 public:
  explicit AddElapsed(double* total) : total_(total) {}
  ~AddElapsed() { *total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count(); }

 private:
  double* const total_;
  const std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

class WaterDemoPart final : public DemoPart {
 public:
  WaterDemoPart(int meters, uint64_t seed) : meters_(std::max(1, meters)), seed_(seed) {}

  void Configure(Config& config, const WebhookReceiver& receiver) override {
    config.water.enabled = true;
    config.water.window = "6h";
    config.water.work_order_url = receiver.url(kWorkOrderPath);
    // The customers' phones: an SMS gateway (only the water notices use it in the demo; the
    // consumption alerts go to the terminals' webhooks).
    config.alerts.sms.url = receiver.url(kSmsPath);
  }

  Status Start(DemoContext& ctx) override {
    AddElapsed timer(&busy_s_);
    ctx_ = &ctx;
    service_ = ctx.daemon.water();
    if (service_ == nullptr) return FailedPrecondition("demo water: the daemon's water loop is off");
    frames_base_ = service_->frames();
    // Windows aligned to UTC midnight: the first one starting at or after the simulated start.
    start_ = (ctx.sim_start + kWindowS - 1) / kWindowS * kWindowS;

    sim::WaterSimOptions o;
    o.seed = seed_;
    o.start = start_;
    o.window_s = kWindowS;
    o.interval_s = kIntervalS;
    o.windows_per_meter = 1;  // Window(m, w) is defined for every w; this only sizes the candidates
    o.windows = 6 * meters_ + 60;
    fleet_ = std::make_unique<sim::WaterFleet>(o);
    std::vector<int> quota = FaultQuota(meters_, o.share);
    std::vector<bool> used(fleet_->meters().size(), false);
    for (size_t m = 0; m < fleet_->meters().size() && static_cast<int>(chosen_.size()) < meters_; ++m) {
      int& q = quota[static_cast<int>(fleet_->meters()[m].fault)];
      if (q > 0) {
        --q;
        used[m] = true;
        chosen_.push_back(m);
      }
    }
    // A class the candidates ran short of (only with an unusual seed): any meters fill the count.
    for (size_t m = 0; m < fleet_->meters().size() && static_cast<int>(chosen_.size()) < meters_; ++m)
      if (!used[m]) chosen_.push_back(m);
    std::sort(chosen_.begin(), chosen_.end());

    // The operator pairs each terminal with its flowmeter and binds the customer's phone (REST).
    httplib::Client http(ctx.http_base);
    if (!ctx.tls.ca_file.empty()) http.set_ca_cert_path(ctx.tls.ca_file.c_str());
    const httplib::Headers auth = {{"Authorization", "Bearer " + ctx.token}};
    for (size_t i = 0; i < chosen_.size(); ++i) {
      const sim::SimWaterMeter& m = fleet_->meters()[chosen_[i]];
      char phone[40];
      std::snprintf(phone, sizeof phone, "+86139%08zu", i + 1);
      auto r = http.Post("/api/v1/water/pairs", auth,
                         json{{"terminal_id", m.terminal_id}, {"flowmeter_id", m.flowmeter_id}, {"phone", phone}}.dump(),
                         "application/json");
      if (!r) return Unavailable("demo water: pairing " + m.terminal_id + ": no answer from " + ctx.http_base);
      if (r->status != 201) {
        return Internal("demo water: pairing " + m.terminal_id + ": HTTP " + std::to_string(r->status) + " " + r->body);
      }
      terminals_.push_back(std::make_unique<sim::SimWaterTerminal>(m.terminal_id, m.flowmeter_id));
      observable_.push_back(false);
      MH_RETURN_IF_ERROR(terminals_.back()->Connect(ctx.broker_port, ctx.tls));
    }
    // (The demo publishes nothing before the daemon's own subscriptions are acknowledged.) A
    // command sent before a terminal's subscription is acknowledged would be dropped.
    if (!WaitUntil([&] {
          for (const auto& t : terminals_)
            if (!t->link().subscribed) return false;
          return true;
        }, 20)) {
      return Unavailable("demo water: the terminals' command subscriptions were not confirmed within 20 s");
    }
    return Status::Ok();
  }

  Status AdvanceTo(int64_t sim_time) override {
    AddElapsed timer(&busy_s_);
    return Advance(sim_time);
  }

  Status Advance(int64_t sim_time) {
    while (start_ + static_cast<int64_t>(next_window_ + 1) * kWindowS <= sim_time) {
      const int w = next_window_++;
      const int64_t ws = start_ + static_cast<int64_t>(w) * kWindowS;
      // What the daemon made of the previous window reaches the terminals before this one is sent.
      MH_RETURN_IF_ERROR(Sync(ws, 10));
      for (size_t i = 0; i < chosen_.size(); ++i) {
        const auto samples = fleet_->Window(chosen_[i], w);
        std::vector<double> reference(samples.size()), raw(samples.size());
        for (size_t k = 0; k < samples.size(); ++k) {
          reference[k] = samples[k].q1;
          raw[k] = samples[k].raw;
        }
        // The truth: does this window show the drift beyond the tolerance (SPEC 3.3)?
        if (fleet_->Expected(chosen_[i], samples) == water::Verdict::kSteady) observable_[i] = true;
        // One frame per device and window (hourly frames work the same, at six times the messages).
        MH_RETURN_IF_ERROR(terminals_[i]->PublishSpan(ws, kIntervalS, reference, raw, 0).WithContext("demo water"));
        frames_sent_ += 2;
      }
      ++windows_sent_;
    }
    return Status::Ok();
  }

  void Drain(double timeout_s) override {
    AddElapsed timer(&busy_s_);
    DrainNow(timeout_s);
  }

  void DrainNow(double timeout_s) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    auto left = [&] { return std::max(0.0, std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count()); };
    if (Status s = Sync(start_ + static_cast<int64_t>(next_window_) * kWindowS, left()); !s.ok()) sync_error_ = s.ToString();
    // The acks of the last commands, then the notices (phones, work orders) the daemon queued.
    WaitUntil([&] { return service_->frames() - frames_base_ >= frames_sent_ - frames_missing_ && AcksProcessed(); }, left());
    // (Notices are queued as the frames and acks are taken, so the count is final by now.)
    const int64_t queued = NoticesQueued();
    WaitUntil([&] { return receiver().received(kSmsPath) + receiver().received(kWorkOrderPath) >= queued; }, left());
  }

  void PrintSummary(std::ostream& out) override;

  std::string Banner() const override {
    std::string example = fleet_ && !chosen_.empty() ? fleet_->meters()[chosen_.front()].terminal_id : "WT-000001";
    for (size_t m : chosen_)
      if (fleet_->meters()[m].fault == WaterFault::kLinearDrift) {
        example = fleet_->meters()[m].terminal_id;
        break;
      }
    return "water:      " + std::to_string(chosen_.size()) +
           " terminals with reference flowmeters (topics meters/<shard>/<terminal>/water/frame|ack|commands); try: "
           "curl -H 'Authorization: Bearer <token>' " +
           (ctx_ ? ctx_->http_base : std::string("http://127.0.0.1:8080")) + "/api/v1/water/meters/" + example + "/history";
  }

 private:
  const WebhookReceiver& receiver() const { return ctx_->receiver; }

  // Waits (bounded) until the daemon took every frame sent, and the terminals received every command
  // it issued; then each terminal applies its commands at device time `now` and acks. The ack goes
  // out before the terminal's next frames on the same connection and topic tree, so the daemon
  // takes it before it checks the next window.
  Status Sync(int64_t now, double timeout_s) {
    if (frames_sent_ == 0) return Status::Ok();
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    auto left = [&] { return std::max(0.0, std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count()); };
    AddElapsed timer(&sync_s_);
    if (!WaitUntil([&] { return service_->frames() - frames_base_ >= frames_sent_ - frames_missing_; }, left())) {
      // Late or lost (a frame the daemon refused, or one the broker dropped): the loop goes on from
      // what the daemon has, so one missing frame costs one wait, not one per later window.
      ++sync_timeouts_;
      frames_missing_ = frames_sent_ - (service_->frames() - frames_base_);
      return Status::Ok();
    }
    store::WaterStore* st = service_->store();
    for (size_t i = 0; i < terminals_.size(); ++i) {
      MH_ASSIGN_OR_RETURN(auto commands, st->ListCommands(terminals_[i]->feature_code()));
      sim::WaterDeviceLink& link = terminals_[i]->link();
      if (!WaitUntil([&] { return link.received.load() >= static_cast<int>(commands.size()); }, left())) ++sync_timeouts_;
      for (const auto& o : terminals_[i]->HandleCommands(now)) {
        ++commands_received_;
        if (o.applied) {
          ++commands_applied_;
          acked_ids_.push_back({terminals_[i]->feature_code(), o.command_id});
        } else {
          ++commands_refused_;
          if (refusal_.empty()) refusal_ = terminals_[i]->terminal_id() + ": " + o.error;
        }
      }
    }
    return Status::Ok();
  }

  // Every ack sent was taken: the command is acknowledged, or the ack was refused (recorded).
  bool AcksProcessed() {
    while (!acked_ids_.empty()) {
      const auto& [feature_code, command_id] = acked_ids_.back();
      auto c = service_->store()->GetCommand(command_id);
      bool taken = c.ok() && *c && (*c)->status == "acknowledged";
      if (!taken) {
        auto h = service_->store()->ListHistory(feature_code);
        if (h.ok())
          for (const auto& r : *h) taken |= r.event == "ack_refused" && r.detail.rfind(command_id + ":", 0) == 0;
      }
      if (!taken) return false;
      acked_ids_.pop_back();
    }
    return true;
  }

  int64_t NoticesQueued() {
    int64_t n = 0;
    for (const auto& t : terminals_) {
      auto h = service_->store()->ListHistory(t->feature_code());
      if (!h.ok()) continue;
      for (const auto& r : *h) n += r.event == "notice_queued" || r.event == "work_order_opened";
    }
    return n;
  }

  const int meters_;
  const uint64_t seed_;
  DemoContext* ctx_ = nullptr;
  water::WaterService* service_ = nullptr;
  std::unique_ptr<sim::WaterFleet> fleet_;
  std::vector<size_t> chosen_;  // indices into fleet_->meters()
  std::vector<std::unique_ptr<sim::SimWaterTerminal>> terminals_;  // parallel to chosen_
  std::vector<bool> observable_;  // parallel to chosen_: some window showed the fault beyond tolerance
  double busy_s_ = 0, sync_s_ = 0;  // wall time in AdvanceTo/Drain, of it waiting for the daemon
  int64_t start_ = 0;           // first window start
  int next_window_ = 0;
  int64_t frames_base_ = 0, frames_sent_ = 0, windows_sent_ = 0;
  int64_t frames_missing_ = 0;  // sent and not stored by the last sync that gave up waiting
  int64_t commands_received_ = 0, commands_applied_ = 0, commands_refused_ = 0, sync_timeouts_ = 0;
  std::vector<std::pair<std::string, std::string>> acked_ids_;  // (feature code, command id) acked, not yet seen taken
  std::string refusal_, sync_error_;
};

void WaterDemoPart::PrintSummary(std::ostream& out) {
  if (!service_) return;
  store::WaterStore* st = service_->store();
  struct ClassStats {
    int meters = 0, observable = 0, untouched = 0, verified = 0, work_order = 0, open = 0;
    int cases = 0, commands = 0, acked = 0, refits = 0;
  };
  ClassStats by_fault[sim::kWaterFaults];
  int64_t cases = 0, commands = 0, acked = 0, closed = 0, refits = 0, work_orders = 0, windows = 0;
  std::map<std::string, int> verdicts;
  for (size_t i = 0; i < terminals_.size(); ++i) {
    const std::string& fc = terminals_[i]->feature_code();
    ClassStats& c = by_fault[static_cast<int>(fleet_->meters()[chosen_[i]].fault)];
    ++c.meters;
    c.observable += observable_[i];
    int detected = 0, n_closed = 0, n_work = 0, n_refit = 0;
    if (auto h = st->ListHistory(fc); h.ok()) {
      for (const auto& r : *h) {
        detected += r.event == "detected";
        n_closed += r.event == "closed";
        n_work += r.event == "work_order_opened";
        n_refit += r.event == "refit";
        if (r.event == "window_checked") {
          ++windows;
          const size_t colon = r.detail.find(": ");
          // "window <start>: <verdict>[ form A|B], <n> pairs"
          if (colon != std::string::npos) {
            verdicts[r.detail.substr(colon + 2, r.detail.find_first_of(", ", colon + 2) - colon - 2)]++;
          }
        }
      }
    }
    int n_commands = 0, n_acked = 0;
    if (auto cs = st->ListCommands(fc); cs.ok()) {
      n_commands = static_cast<int>(cs->size());
      for (const auto& cmd : *cs) n_acked += cmd.status == "acknowledged";
    }
    const bool open = detected > n_closed + n_work;
    if (detected == 0 && n_commands == 0 && n_work == 0) ++c.untouched;
    if (n_work > 0) ++c.work_order;
    else if (n_closed > 0 && !open) ++c.verified;
    c.open += open;
    c.cases += detected;
    c.commands += n_commands;
    c.acked += n_acked;
    c.refits += n_refit;
    cases += detected;
    commands += n_commands;
    acked += n_acked;
    closed += n_closed;
    refits += n_refit;
    work_orders += n_work;
  }
  out << "water maintenance (SPEC 3.7, " << terminals_.size() << " terminals with reference flowmeters, " << windows_sent_
      << " windows of 6 h, " << frames_sent_ << " RLE frames over MQTT, " << service_->frames() - frames_base_
      << " stored)\n"
      << "  windows checked:      " << windows;
  for (const auto& [v, n] : verdicts) out << ", " << v << " " << n;
  out << "\n"
      << "  cases opened:         " << cases << "; commands sent " << commands << ", applied by the terminals "
      << commands_applied_ << " (refused " << commands_refused_ << "), acknowledged " << acked << "; refits " << refits
      << "; verified and closed " << closed << "; work orders " << work_orders << "\n"
      << "  received:             phone notices " << receiver().received(kSmsPath) << ", work orders "
      << receiver().received(kWorkOrderPath) << " (the field-service webhook)\n"
      << "  per fault vs truth:  ";
  static const char* kHeadline[sim::kWaterFaults] = {"untouched", "untouched", "corrected and verified",
                                                     "corrected and verified", "corrected and verified", "work orders"};
  bool first = true;
  for (int f = 0; f < sim::kWaterFaults; ++f) {
    const ClassStats& c = by_fault[f];
    if (c.meters == 0) continue;
    // A drift is scored among the meters where it showed: one that stayed within the tolerance
    // at every flow its windows saw is nothing to correct (the truth's "none", SPEC 3.3).
    const bool drift = f >= 2 && f <= 4;
    const int good = f <= 1 ? c.untouched : f == 5 ? c.work_order : c.verified;
    out << (first ? " " : "\n                        ") << sim::WaterFaultName(static_cast<WaterFault>(f)) << " " << good << "/"
        << (drift ? c.observable : c.meters) << " " << kHeadline[f] << " (cases " << c.cases << ", commands " << c.commands
        << ", acked " << c.acked << ", refits " << c.refits << ", work orders " << c.work_order << ", open at end " << c.open;
    if (drift && c.meters > c.observable) out << "; " << c.meters - c.observable << " more never beyond tolerance";
    out << ")";
    first = false;
  }
  out << "\n";
  char timing[160];
  std::snprintf(timing, sizeof timing, "%.1f s in the replay loop, %.1f s of it waiting for the daemon to take the frames",
                busy_s_, sync_s_);
  out << "  devices' wall time:   " << timing << "\n";
  if (sync_timeouts_ > 0) {
    out << "  late:                 the devices stopped waiting for the daemon " << sync_timeouts_ << " times ("
        << frames_sent_ - (service_->frames() - frames_base_) << " frames not stored at the end)\n";
  }
  if (!refusal_.empty()) out << "  a refused command:    " << refusal_ << "\n";
  if (!sync_error_.empty()) out << "  error:                " << sync_error_ << "\n";
  auto sms = receiver().samples(kSmsPath);
  if (!sms.empty()) out << "  a phone notice:       " << sms.front() << "\n";
  auto orders = receiver().samples(kWorkOrderPath);
  if (!orders.empty()) out << "  a work order:         " << orders.front() << "\n";
}

}  // namespace

std::unique_ptr<DemoPart> MakeWaterDemoPart(int meters, uint64_t seed) {
  return std::make_unique<WaterDemoPart>(meters, seed);
}

}  // namespace mh::app
