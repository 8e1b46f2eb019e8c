#include "app/demo_audit.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/daemon.h"
#include "app/demo.h"
#include "app/webhook_receiver.h"
#include "audit/ledger_records.h"
#include "audit/messages.h"
#include "core/time.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/fixed_segment.h"
#include "meter/audit/schedule.h"
#include "sim/audit_devices.h"
#include "sim/audit_link.h"
#include "sim/rng.h"

namespace mh::app {
namespace {

namespace ma = meter::audit;
using json = nlohmann::json;
using sim::AuditAttack;

constexpr char kInspections[] = "/audit/inspections";
constexpr double kIngestTimeoutS = 60;  // for the daemon to take a cycle end's signals and segments
constexpr int64_t kReadingInterval = 3600;  // the audited meters' readings (for their cycle lengths)
constexpr char kRegion[] = "110101001";     // their region (SPEC 0.1 region code) at commissioning

std::string MeterName(int index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "AUD-%03d", index + 1);
  return buf;
}

class AuditDemoPart final : public DemoPart {
 public:
  explicit AuditDemoPart(const DemoArgs& args)
      : meter_count_(args.audit_meters), attack_rate_(args.audit_attack_rate), seed_(sim::MixSeed(args.seed, 0xA0D17)) {}
  ~AuditDemoPart() override {
    if (db_) sqlite3_close(db_);
  }

  void Configure(Config& config, const WebhookReceiver& receiver) override {
    config.audit.enabled = true;
    // Audits are requested over REST at each meter's cycle end on the simulated clock (AdvanceTo):
    // the daemon's own schedule runs on the wall clock, which the replay compresses, so it is off.
    config.audit.interval = "0";
    config.audit.inspection_webhook = receiver.url(kInspections);
    db_path_ = config.store.path;
  }

  Status Start(DemoContext& ctx) override {
    daemon_ = &ctx.daemon;
    receiver_ = &ctx.receiver;
    http_base_ = ctx.http_base;
    token_ = ctx.token;
    ca_file_ = ctx.tls.ca_file;
    if (!daemon_->audit()) return FailedPrecondition("demo audit: the daemon runs no audit server ([audit] enabled)");
    api_ = std::make_unique<httplib::Client>(http_base_);
    if (!ca_file_.empty()) api_->set_ca_cert_path(ca_file_.c_str());
    api_->set_keep_alive(true);
    api_->set_tcp_nodelay(true);  // small POSTs one after another: no Nagle + delayed-ACK pause each
    api_->set_read_timeout(60, 0);
    api_->set_bearer_token_auth(token_);
    MH_RETURN_IF_ERROR(link_.Connect(ctx.broker_port, "meterhub-demo-audit", ctx.tls));
    // The meters' commands (their next cycle length, requests for their segments) arrive on the
    // link's network thread; it only touches what commands_mu_ guards (OnCommand).
    link_.SetCommandHandler([this](const std::string& meter, const std::string& payload) { OnCommand(meter, payload); });
    // The second connection to the daemon's database file, for the altered-ledger-row attack.
    if (sqlite3_open_v2(db_path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      return Unavailable("demo audit: cannot open '" + db_path_ + "': " + sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 10000);

    MH_ASSIGN_OR_RETURN(std::vector<sim::AuditMeterSetup> setup,
                        sim::DrawAuditMeterSetups(meter_count_, seed_, 0.2, 0.6, 50));
    const int64_t first_day = ma::LocalDay(ctx.sim_start, ctx.tz_offset_s);
    for (int m = 0; m < meter_count_; ++m) {
      const std::string id = MeterName(m);
      // As an operator would: the meter into the readings store (its readings set its cycle
      // length), then commissioning — the fixed code, the comparison table (the reference one),
      // the user attribute and the region into the ledger and the audit server.
      MH_RETURN_IF_ERROR(Call("/api/v1/meters",
                              {{"meter_id", id}, {"kind", "electricity"}, {"timezone", FormatUtcOffset(ctx.tz_offset_s)},
                               {"interval_s", kReadingInterval}},
                              201)
                             .status());
      MH_RETURN_IF_ERROR(Call("/api/v1/audit/meters/" + id + "/commission",
                              {{"fixed_image", ma::DefaultFixedImage()},
                               {"registered_at", ctx.sim_start - 86400},
                               {"user_attribute", setup[m].q == ma::kEnterpriseQ ? "enterprise" : "residential"},
                               {"region", kRegion}},
                              201)
                             .status());
      MH_RETURN_IF_ERROR(link_.SubscribeCommands(id));
    }
    // Subscribed before the meters start: the first window's open already brings a command.
    if (!link_.WaitSubscribed(kIngestTimeoutS)) return Unavailable("demo audit: the broker did not acknowledge the subscriptions");
    for (int m = 0; m < meter_count_; ++m) {
      const std::string id = MeterName(m);
      Meter meter;
      meter.uploader = std::make_unique<CountingUploader>(&link_);
      MH_ASSIGN_OR_RETURN(meter.device,
                          sim::AuditDevice::Create(id, setup[m], ma::Cycle{first_day, setup[m].d0, ctx.tz_offset_s},
                                                   sim::MixSeed(seed_, m, 3), sim::MixSeed(seed_, m, 2), meter.uploader.get()));
      MH_RETURN_IF_ERROR(BeginCycle(&meter));
      index_[id] = meters_.size();
      meters_.push_back(std::move(meter));
    }
    next_reading_ = ctx.sim_start;
    return Status::Ok();
  }

  // The meters meter their load up to `sim_time`. At a cycle end (a local midnight) a meter sends
  // its segments and starts its next cycle; its audit is requested at the start of the next call
  // (the fleet's next upload went out meanwhile, so the daemon is not left idle while the part
  // waits for it to hold the cycle's signals), and always before the first window of the meter's
  // next cycle closes (a later closed window would make the segment stale: SPEC 4.5).
  Status AdvanceTo(int64_t sim_time) override {
    const auto wall = std::chrono::steady_clock::now();
    Status s = Advance(sim_time);
    busy_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    return s;
  }

  void Drain(double timeout_s) override {
    const auto wall = std::chrono::steady_clock::now();
    link_.WaitAcked(timeout_s);
    if (Status s = RunPendingAudits(); !s.ok() && drain_status_.ok()) drain_status_ = s;
    // No idle keep-alive connection left for the daemon's HTTP workers to wait out when it stops
    // (the next call, if any, connects again).
    api_->stop();
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (receiver_->received(kInspections) < alarmed_ && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    busy_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  }

  void PrintSummary(std::ostream& out) override {
    uint64_t audits = clean_audits_;
    for (const auto& t : tally_) audits += t.injected;
    out << "  audit meters:         " << meter_count_ << " (" << MeterName(0) << ".." << MeterName(meter_count_ - 1)
        << "), " << audits << " cycle-end audits requested over REST, " << link_.signals()
        << " first monitoring times and " << link_.readings() << " hourly readings sent\n"
        << "  audit wall time:      " << busy_s_ << " s in the audit part, " << wait_s_
        << " s of it waiting for the daemon to hold a cycle's signals\n";
    if (!drain_status_.ok()) out << "  audit error:          " << drain_status_.message() << "\n";
    out
        << "  audit attacks:        caught/injected (audits raising a code / time / ledger alarm)\n";
    for (int k = 1; k < sim::kAuditAttackKinds; ++k) {
      const auto& t = tally_[k];
      out << "    " << sim::AuditAttackName(static_cast<AuditAttack>(k)) << ": " << t.caught << "/" << t.injected
          << " (code " << t.by_code << ", time " << t.by_time << ", ledger " << t.by_ledger;
      if (k == static_cast<int>(AuditAttack::kReplayedCode)) {
        out << "; " << t.no_metering_in_window << " without metering in any window: undetectable";
      }
      out << ")\n";
    }
    out << "  audit clean audits:   " << clean_audits_ << " (false alarms " << false_alarms_ << ")\n"
        << "  audit segments:       " << fresh_ << " audits on segments fetched from the meter on request, "
        << stored_ << " on stored ones; " << cycles_applied_ << " cycle lengths (SPEC 4.1) applied by the meters, "
        << tables_ignored_ << " meter tables ignored\n"
        << "  inspection orders:    " << receiver_->received(kInspections)
        << " received by the inspectors' webhook (audits alarmed " << alarmed_ << ")\n";
    auto samples = receiver_->samples(kInspections);
    if (!samples.empty()) {
      std::string s = samples.front();
      if (s.size() > 300) s = s.substr(0, 300) + "…";
      out << "  an inspection order:  " << s << "\n";
    }
  }

  std::string Banner() const override {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.3g", attack_rate_);
    return "audit:      " + std::to_string(meter_count_) + " audited meters " + MeterName(0) + ".." +
           MeterName(meter_count_ - 1) + " (attack rate " + rate +
           " per meter-cycle); alarms: curl -H 'Authorization: Bearer <token>' " + http_base_ +
           "/api/v1/audit/alarms?limit=5";
  }

 private:
  Status Advance(int64_t sim_time) {
    MH_RETURN_IF_ERROR(RunPendingAudits());
    while (true) {
      int64_t next = std::min(sim_time, next_reading_);
      for (const Meter& m : meters_) next = std::min(next, m.device->cycle_end());
      bool due = false;
      for (const Pending& p : pending_) due |= p.deadline <= next;
      if (due) {
        MH_RETURN_IF_ERROR(RunPendingAudits());
        continue;
      }
      MH_RETURN_IF_ERROR(Step(next));
      if (next >= sim_time) break;
    }
    // The hourly readings go out once per call, one message per meter.
    for (Meter& m : meters_) {
      MH_RETURN_IF_ERROR(link_.PublishReadings(m.device->id(), m.readings));
      m.readings.clear();
    }
    return Status::Ok();
  }

  // Every meter up to `t`: a cycle ending then sends its segments and starts the next one; on the
  // hour the meters publish their readings.
  Status Step(int64_t t) {
    ApplyCycles();
    for (size_t i = 0; i < meters_.size(); ++i) {
      Meter& m = meters_[i];
      sim::AuditDevice& d = *m.device;
      if (d.cycle_end() != t) {
        d.RunTo(t);
        continue;
      }
      MH_ASSIGN_OR_RETURN(ma::DynamicSegment segment, d.FinishCycle());
      Pending p{i, segment.cycle, ma::FormatDynamicSegment(segment), m.plan, 0};
      MH_RETURN_IF_ERROR(link_.Publish(d.id(), "audit/segments", d.SegmentsMessage(segment)));
      // Asked for its segments before its audit, the meter answers as it was at the cycle end:
      // the repair below stands for the one the audit's inspection would do afterwards.
      {
        std::lock_guard commands(commands_mu_);
        answers_[d.id()] = *audit::ParseSegmentsMessage(d.SegmentsMessage(segment));
      }
      // The meter goes on clean, in a new cycle.
      MH_RETURN_IF_ERROR(d.Repair());
      MH_RETURN_IF_ERROR(BeginCycle(&m));
      p.deadline = d.cycle().WindowEndUtc(1);
      pending_.push_back(std::move(p));
    }
    if (t == next_reading_) {
      for (Meter& m : meters_) m.readings.emplace_back(t, m.device->register_kwh());
      next_reading_ += kReadingInterval;
    }
    return Status::Ok();
  }

  // On the link's network thread, which must never wait for this part's thread (that one may be
  // publishing and waiting for acks): a request for segments is answered from the segments kept
  // for the pending audit; a cycle length is queued for the meter, applied at the next Step.
  void OnCommand(const std::string& meter, const std::string& payload) {
    std::optional<audit::SegmentsMessage> answer;
    {
      std::lock_guard lock(commands_mu_);
      auto command = audit::ParseAuditCommand(payload);
      if (!command.ok()) return;
      if (const auto* send = std::get_if<audit::SendSegmentsCommand>(&*command)) {
        auto it = answers_.find(meter);
        if (it == answers_.end()) return;  // no audit pending: nothing asked for in the demo
        answer = it->second;
        answer->request_id = send->request_id;
      } else if (const auto* cycle = std::get_if<audit::AuditCycleCommand>(&*command)) {
        cycles_in_.emplace_back(meter, *cycle);
      }
    }
    if (answer) (void)link_.Publish(meter, "audit/segments", audit::FormatSegmentsMessage(*answer));
  }

  // The cycle lengths received since the last Step, to the meters' plugins.
  void ApplyCycles() {
    std::vector<std::pair<std::string, audit::AuditCycleCommand>> in;
    {
      std::lock_guard lock(commands_mu_);
      in.swap(cycles_in_);
    }
    for (const auto& [meter, c] : in) {
      auto it = index_.find(meter);  // fixed after Start: read without the lock
      if (it == index_.end()) continue;
      meters_[it->second].device->plugin().SetServerCycleLength(c.d, c.from_day);
      ++cycles_applied_;
    }
  }

  // Counts a meter's first monitoring times per local day on their way to the link, so that the
  // part knows how many ledger rows of a cycle the daemon must hold before the audit.
  class CountingUploader final : public ma::Uploader {
   public:
    explicit CountingUploader(ma::Uploader* next) : next_(next) {}
    void Upload(const ma::SignalEvent& e) override {
      ++per_day_[e.day];
      next_->Upload(e);
    }
    int64_t CountIn(int64_t from_day, int64_t to_day) const {
      int64_t n = 0;
      for (auto it = per_day_.lower_bound(from_day); it != per_day_.end() && it->first < to_day; ++it) n += it->second;
      return n;
    }

   private:
    ma::Uploader* next_;
    std::map<int64_t, int64_t> per_day_;
  };
  struct Meter {
    std::unique_ptr<CountingUploader> uploader;  // declared first: outlives the device
    std::unique_ptr<sim::AuditDevice> device;
    sim::AuditCyclePlan plan;
    std::vector<std::pair<int64_t, double>> readings;  // hourly, not published yet
  };
  // A cycle that ended and awaits its audit.
  struct Pending {
    size_t meter = 0;
    ma::Cycle cycle;
    std::string dynamic_text;
    sim::AuditCyclePlan plan;
    int64_t deadline = 0;  // the audit must run before the meter reaches this (SPEC 4.5 staleness)
  };

  Status BeginCycle(Meter* m) {
    MH_ASSIGN_OR_RETURN(m->plan, m->device->BeginCycle(attack_rate_));
    return Status::Ok();
  }

  Result<json> Call(const std::string& path, const json& body, int expect) { return Call(*api_, path, body, expect); }
  static Result<json> Call(httplib::Client& client, const std::string& path, const json& body, int expect) {
    auto r = client.Post(path, body.dump(), "application/json");
    if (!r) return Unavailable("demo audit: POST " + path + ": " + httplib::to_string(r.error()));
    if (r->status != expect) {
      return Internal("demo audit: POST " + path + ": HTTP " + std::to_string(r->status) + ": " + r->body);
    }
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return Internal("demo audit: POST " + path + ": not JSON: " + r->body);
    return j;
  }

  // The number of a meter's first-monitoring-time rows of local days [from, to) in the ledger.
  Result<int64_t> LedgerRows(const std::string& meter, int64_t from_day, int64_t to_day) {
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "SELECT count(*) FROM ledger_leaves WHERE meter_id = ?1 AND kind = ?2 AND window_no >= ?3 AND window_no < ?4";
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      return Internal(std::string("demo audit: ") + sqlite3_errmsg(db_));
    }
    sqlite3_bind_text(st, 1, meter.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, audit::kSignalKind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, from_day);
    sqlite3_bind_int64(st, 4, to_day);
    const int rc = sqlite3_step(st);
    const int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return Internal(std::string("demo audit: counting ledger rows: ") + sqlite3_errmsg(db_));
    return n;
  }

  // Until the daemon holds every first monitoring time of the pending cycles and their segments.
  Status WaitIngested() {
    audit::AuditService& as = *daemon_->audit();
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(kIngestTimeoutS);
    for (const Pending& p : pending_) {
      const Meter& m = meters_[p.meter];
      const std::string& id = m.device->id();
      const int64_t sent = m.uploader->CountIn(p.cycle.first_day, p.cycle.EndDay());
      while (true) {
        MH_ASSIGN_OR_RETURN(int64_t rows, LedgerRows(id, p.cycle.first_day, p.cycle.EndDay()));
        auto seg = as.store().GetSegments(id);
        if (rows >= sent && seg.ok() && seg->has_value() && (*seg)->dynamic_text == p.dynamic_text) break;
        if (std::chrono::steady_clock::now() >= until) {
          return Unavailable("demo audit: after " + std::to_string(kIngestTimeoutS) + " s the daemon holds " +
                             std::to_string(rows) + " of the " + std::to_string(sent) + " first monitoring times of " +
                             id + "'s cycle from " + ma::FormatDay(p.cycle.first_day) +
                             (seg.ok() && seg->has_value() && (*seg)->dynamic_text == p.dynamic_text
                                  ? ""
                                  : ", and not its segments"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    return Status::Ok();
  }

  // The altered-ledger-row attack: someone with write access to the daemon's database file moves
  // one first monitoring time of the cycle, through a connection of their own. The daemon keeps no
  // copy of the rows: its ledger holds only the tree's right edge (compact range) in memory and
  // reads a meter's rows from the file for every audit, so the next audit sees the change — and its
  // leaf hash no longer matches the signed tree. Returns the row and its original payload.
  Result<std::pair<int64_t, std::string>> AlterLedgerRow(const std::string& meter, const ma::Cycle& cycle,
                                                         sim::SimRng& rng) {
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "SELECT idx, CAST(payload AS TEXT) FROM ledger_leaves WHERE meter_id = ?1 AND kind = ?2 AND window_no >= ?3 "
        "AND window_no < ?4 ORDER BY idx";
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      return Internal(std::string("demo audit: ") + sqlite3_errmsg(db_));
    }
    sqlite3_bind_text(st, 1, meter.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, audit::kSignalKind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cycle.first_day);
    sqlite3_bind_int64(st, 4, cycle.EndDay());
    std::vector<std::pair<int64_t, std::string>> rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
      rows.emplace_back(sqlite3_column_int64(st, 0), text ? text : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Internal(std::string("demo audit: reading ledger rows: ") + sqlite3_errmsg(db_));
    if (rows.empty()) return NotFound("demo audit: no ledger rows of " + meter + " in its cycle");
    const auto row = rows[rng() % rows.size()];
    MH_ASSIGN_OR_RETURN(std::string altered, sim::ShiftedSignalPayload(row.second, rng));
    MH_RETURN_IF_ERROR(SetLedgerPayload(row.first, altered));
    return row;
  }

  Status SetLedgerPayload(int64_t idx, const std::string& payload) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "UPDATE ledger_leaves SET payload = ?1 WHERE idx = ?2", -1, &st, nullptr) != SQLITE_OK) {
      return Internal(std::string("demo audit: ") + sqlite3_errmsg(db_));
    }
    sqlite3_bind_blob(st, 1, payload.data(), static_cast<int>(payload.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, idx);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return Internal(std::string("demo audit: altering ledger row: ") + sqlite3_errmsg(db_));
    return Status::Ok();
  }

  // The pending meters' audits over REST, a few at a time: each waits in the daemon for its
  // meter's answer over MQTT, and the daemon lets [audit] max_waiting_runs (4) wait at once.
  std::vector<Result<json>> RequestAudits() {
    constexpr size_t kAtOnce = 4;
    std::vector<Result<json>> out(pending_.size(), Result<json>(Internal("demo audit: not requested")));
    std::atomic<size_t> next{0};
    auto worker = [&] {
      httplib::Client client(http_base_);
      if (!ca_file_.empty()) client.set_ca_cert_path(ca_file_.c_str());
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      client.set_bearer_token_auth(token_);
      for (size_t i; (i = next++) < pending_.size();) {
        const std::string id = meters_[pending_[i].meter].device->id();
        out[i] = Call(client, "/api/v1/audit/meters/" + id + "/run", json::object(), 200);
        std::lock_guard lock(commands_mu_);
        answers_.erase(id);
      }
    };
    std::vector<std::thread> threads;
    for (size_t k = 0; k < std::min(kAtOnce, pending_.size()); ++k) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
    return out;
  }

  Status RunPendingAudits() {
    if (pending_.empty()) return Status::Ok();
    const auto wall = std::chrono::steady_clock::now();
    MH_RETURN_IF_ERROR(WaitIngested());
    wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    std::vector<std::pair<int64_t, std::string>> altered;
    for (const Pending& p : pending_) {
      if (p.plan.attack != AuditAttack::kLedgerRow) continue;
      Meter& m = meters_[p.meter];
      MH_ASSIGN_OR_RETURN(auto row, AlterLedgerRow(m.device->id(), p.cycle, m.device->rng()));
      altered.push_back(std::move(row));
    }
    std::vector<Result<json>> results = RequestAudits();
    for (size_t i = 0; i < pending_.size(); ++i) {
      const Pending& p = pending_[i];
      MH_ASSIGN_OR_RETURN(json r, std::move(results[i]));
      const bool pass = r.value("result", "") == "pass";
      alarmed_ += !pass;
      (r.value("segments", "") == "fresh" ? fresh_ : stored_) += 1;
      for (const auto& n : r.value("notes", json::array())) {
        tables_ignored_ += n.is_string() && n.get<std::string>().find("comparison table") != std::string::npos;
      }
      if (p.plan.attack == AuditAttack::kNone) {
        ++clean_audits_;
        false_alarms_ += !pass;
        continue;
      }
      bool code = false, time = false, ledger = false;
      for (const auto& a : r.value("alarms", json::array())) {
        const std::string line = a.is_string() ? a.get<std::string>() : "";
        code |= line.rfind("code-alarm", 0) == 0;
        time |= line.rfind("time-alarm", 0) == 0;
        ledger |= line.rfind("ledger-alarm", 0) == 0;
      }
      sim::AuditAttackTally& t = tally_[static_cast<int>(p.plan.attack)];
      ++t.injected;
      t.caught += !pass;
      t.by_code += code;
      t.by_time += time;
      t.by_ledger += ledger;
      if (p.plan.attack == AuditAttack::kReplayedCode && !p.plan.metering_in_window) ++t.no_metering_in_window;
    }
    // The inspection restores the row (from a replica of the ledger).
    for (const auto& [idx, payload] : altered) MH_RETURN_IF_ERROR(SetLedgerPayload(idx, payload));
    pending_.clear();
    return Status::Ok();
  }

  const int meter_count_;
  const double attack_rate_;
  const uint64_t seed_;
  std::string db_path_;
  Daemon* daemon_ = nullptr;
  WebhookReceiver* receiver_ = nullptr;
  std::string http_base_, token_, ca_file_;
  std::unique_ptr<httplib::Client> api_;
  sim::AuditMqttLink link_;
  sqlite3* db_ = nullptr;
  std::vector<Meter> meters_;  // this part's thread only
  std::map<std::string, size_t> index_;  // filled in Start
  std::mutex commands_mu_;     // what the link's network thread touches (OnCommand)
  std::map<std::string, audit::SegmentsMessage> answers_;  // guarded by commands_mu_: pending audits' segments
  std::vector<std::pair<std::string, audit::AuditCycleCommand>> cycles_in_;  // guarded by commands_mu_
  int64_t next_reading_ = 0;   // the next hour the meters publish their readings
  std::vector<Pending> pending_;
  Status drain_status_ = Status::Ok();

  std::array<sim::AuditAttackTally, sim::kAuditAttackKinds> tally_{};
  uint64_t clean_audits_ = 0, false_alarms_ = 0;
  uint64_t fresh_ = 0, stored_ = 0, tables_ignored_ = 0;
  uint64_t cycles_applied_ = 0;
  int64_t alarmed_ = 0;
  double busy_s_ = 0;  // wall time spent in AdvanceTo and Drain
  double wait_s_ = 0;  // of which waiting for the daemon to hold a cycle's signals and segments
};

}  // namespace

std::unique_ptr<DemoPart> MakeAuditDemoPart(const DemoArgs& args) { return std::make_unique<AuditDemoPart>(args); }

}  // namespace mh::app
