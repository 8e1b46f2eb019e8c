#include "sim/audit_sim.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>

#include <CLI/CLI.hpp>

#include "audit/audit.h"
#include "audit/consumption_source.h"
#include "audit/cycle_planner.h"
#include "audit/ledger_records.h"
#include "audit/ledger_view.h"
#include "audit/verified_ledger.h"
#include "crypto/crypto.h"
#include "base/progress.h"
#include "base/tool_args.h"
#include "meter/audit/firmware.h"
#include "meter/audit/plugin.h"
#include "meter/audit/schedule.h"
#include "sim/rng.h"
#include "store/audit_store.h"

namespace mh::sim {
namespace {

namespace ma = meter::audit;
using audit::Alarm;

// The real Merkle ledger over a memory LedgerStore, one per meter (the audit reads one meter at a
// time; a shared log would only make the run slower). Signed with a key derived from the seed, so
// a run is reproducible; an altered row is caught by its inclusion proof against the signed head.
Result<std::unique_ptr<audit::AuditLedger>> MakeLedger(const Clock& clock, uint64_t seed) {
  const crypto::Digest key = crypto::Sha256("meterhub sim audit ledger key " + std::to_string(seed));
  return audit::AuditLedger::InMemory(clock, std::string(key.begin(), key.end()));
}

// One simulated meter with its ledger, and where it is in its cycles.
struct SimMeter {
  std::unique_ptr<audit::AuditLedger> ledger;
  std::unique_ptr<audit::LedgerUploader> uploader;
  std::unique_ptr<AuditDevice> device;
  store::AuditMeterRow row;
  AuditCyclePlan plan;
  bool in_cycle = false;
  int64_t mid = -1;  // the moment of this cycle's mid-cycle audit (clean cycles), -1: none
  int audited = 0;   // cycles audited so far; past options.cycles it only meters (for its region)
};

// One region's meters, run day by day in lockstep so that each meter's cycle length (SPEC 4.1) is
// set, as the daemon does, from its readings against those of its region over the same days.
class RegionRun {
 public:
  RegionRun(const AuditSimOptions& o, AuditSimReport* rep, const Clock& clock)
      : o_(o), rep_(rep), clock_(clock), store_(store::NewMemoryAuditStore()), planner_(&readings_, store_.get()) {}

  Status AddMeter(const std::string& id, const AuditMeterSetup& setup, uint64_t load_seed, uint64_t attack_seed,
                  const std::string& region) {
    SimMeter m;
    MH_ASSIGN_OR_RETURN(m.ledger, MakeLedger(clock_, o_.seed));
    const int64_t commissioned = (o_.first_day - 1) * ma::kDaySeconds;
    MH_RETURN_IF_ERROR(m.ledger->AppendAll({audit::EncodeCodeRegistration(id, ma::DefaultFixedImage(), commissioned),
                                            audit::EncodeComparisonTable(id, ma::FormatComparisonTable(ma::DefaultComparisonLines()),
                                                                         commissioned, "commissioning")}));
    m.uploader = std::make_unique<audit::LedgerUploader>(m.ledger.get());
    AuditDeviceOptions device_options;
    device_options.mean_off_h = o_.mean_off_h;
    device_options.mean_on_h = o_.mean_on_h;
    device_options.tolerance_s = o_.tolerance_s;
    MH_ASSIGN_OR_RETURN(m.device, AuditDevice::Create(id, setup, ma::Cycle{o_.first_day, setup.d0, 0}, load_seed,
                                                      attack_seed, m.uploader.get(), device_options));
    m.row = store::AuditMeterRow{id, setup.q == ma::kEnterpriseQ ? "enterprise" : "residential", region};
    MH_RETURN_IF_ERROR(store_->PutMeter(m.row));
    readings_.AddReading(id, o_.first_day * ma::kDaySeconds, m.device->register_kwh());
    meters_.push_back(std::move(m));
    return Status::Ok();
  }

  // Until every meter had its cycles audited; the meters done go on metering for the others' Ē.
  Status Run() {
    for (int64_t day = o_.first_day;; ++day) {
      if (std::all_of(meters_.begin(), meters_.end(), [&](const SimMeter& m) { return m.audited >= o_.cycles; })) break;
      for (SimMeter& m : meters_) MH_RETURN_IF_ERROR(Day(m, day));
    }
    for (const SimMeter& m : meters_) {
      rep_->energy_true_kwh += m.device->firmware().true_energy_kwh();
      rep_->energy_billed_kwh += m.device->firmware().energy_kwh();
      rep_->ledger_entries += m.ledger->size();
    }
    return Status::Ok();
  }

 private:
  Status Day(SimMeter& m, int64_t day) {
    AuditDevice& d = *m.device;
    const bool audit = m.audited < o_.cycles;
    if (!m.in_cycle) {
      MH_ASSIGN_OR_RETURN(m.plan, d.BeginCycle(audit ? o_.attack_rate : 0));
      m.in_cycle = true;
      // The head-end at the open of the cycle's first window: the next cycle's length from the
      // days before this one (the plugin applies it, labels adjusting it, from the next cycle on).
      MH_ASSIGN_OR_RETURN(audit::CyclePlan next, planner_.Plan(m.row, day, d.cycle().tz_offset_s));
      d.plugin().SetServerCycleLength(next.d, d.cycle().EndDay());
      // Clean meter-cycles are also audited once at a random moment inside the cycle, on the live
      // dynamic segment: windows still open must not raise false alarms.
      m.mid = -1;
      const int64_t mid = d.cycle_start() + static_cast<int64_t>(d.rng()() % static_cast<uint64_t>(d.cycle_end() - d.cycle_start()));
      if (audit && m.plan.attack == AuditAttack::kNone) m.mid = mid;
      if (audit) {
        rep_->cycles_by_d[std::min(d.cycle().d, 7)]++;
        rep_->no_opportunity += m.plan.no_opportunity;
      }
    }
    const int64_t day_end = (day + 1) * ma::kDaySeconds - d.cycle().tz_offset_s;
    if (m.mid >= 0 && m.mid < day_end) {
      d.RunTo(m.mid);
      MH_ASSIGN_OR_RETURN(audit::AuditResult r, audit::RunAudit(*m.ledger, d.id(), d.firmware().stored_image(),
                                                                d.plugin().dynamic_segment(), Reference(), m.mid, Options()));
      ++rep_->mid_cycle_audits;
      rep_->mid_cycle_false_alarms += !r.pass();
      m.mid = -1;
    }
    if (d.cycle_end() == day_end) {
      MH_ASSIGN_OR_RETURN(ma::DynamicSegment finished, d.FinishCycle());
      if (audit) MH_RETURN_IF_ERROR(AuditCycle(m, finished));
      MH_RETURN_IF_ERROR(d.Repair());
      m.in_cycle = false;
    } else {
      d.RunTo(day_end);
    }
    // The meter's daily reading (what it publishes on its readings topic), for the cycle lengths.
    readings_.AddReading(d.id(), day_end, d.register_kwh());
    return Status::Ok();
  }

  Status AuditCycle(SimMeter& m, const ma::DynamicSegment& finished) {
    AuditDevice& d = *m.device;
    SimRng& rng = d.rng();
    const AuditAttack attack = m.plan.attack;
    std::optional<audit::LedgerEntry> tampered;
    if (attack == AuditAttack::kLedgerRow) {
      const ma::Cycle& cur = finished.cycle;
      std::vector<audit::LedgerEntry> rows;
      MH_ASSIGN_OR_RETURN(std::vector<audit::LedgerEntry> stored, m.ledger->EntriesOf(d.id()));
      for (auto& e : stored) {
        if (e.kind == audit::kSignalKind && e.key.window >= cur.first_day && e.key.window < cur.EndDay()) rows.push_back(e);
      }
      const audit::LedgerEntry& row = rows[rng() % rows.size()];
      MH_ASSIGN_OR_RETURN(std::string payload, ShiftedSignalPayload(row.payload, rng));
      m.ledger->Tamper(row.key, payload);
      tampered = row;
    }
    const std::string& image = d.firmware().stored_image();
    const int64_t end = d.cycle_end();
    MH_ASSIGN_OR_RETURN(audit::AuditResult result, audit::RunAudit(*m.ledger, d.id(), image, finished, Reference(), end, Options()));
    // The table the meter sent is never the audit's: a different one is only noted.
    MH_ASSIGN_OR_RETURN(std::vector<int> sent, ma::ParseComparisonTable(d.compare_text()));
    rep_->tables_ignored += !result.has(Alarm::kLedger) && sent != result.table;
    ++rep_->meter_cycles;
    ++m.audited;
    rep_->windows_checked += static_cast<uint64_t>(result.windows_checked);
    if (attack == AuditAttack::kNone) {
      ++rep_->clean_audits;
      if (!result.pass()) ++rep_->false_alarms;
    } else {
      AuditAttackTally& t = rep_->attacks[static_cast<int>(attack)];
      ++t.injected;
      if (!result.pass()) ++t.caught;
      t.by_code += result.has(Alarm::kCode);
      t.by_time += result.has(Alarm::kTime);
      t.by_ledger += result.has(Alarm::kLedger);
      if (attack == AuditAttack::kReplayedCode && !m.plan.metering_in_window) ++t.no_metering_in_window;
      if (attack == AuditAttack::kLedgerRow) {
        m.ledger->set_verify(false);
        MH_ASSIGN_OR_RETURN(audit::AuditResult alone, audit::RunAudit(*m.ledger, d.id(), image, finished, Reference(), end, Options()));
        m.ledger->set_verify(true);
        t.caught_by_time_alone += !alone.pass();
      }
    }
    // After the audit (and the inspection an alarm orders) the ledger row is restored.
    if (tampered) m.ledger->Tamper(tampered->key, tampered->payload);
    return Status::Ok();
  }

  audit::AuditOptions Options() const {
    audit::AuditOptions ao;
    ao.tolerance_s = o_.tolerance_s;
    return ao;
  }
  static const std::vector<int>& Reference() {
    static const std::vector<int> lines = ma::DefaultComparisonLines();
    return lines;
  }

  const AuditSimOptions& o_;
  AuditSimReport* rep_;
  const Clock& clock_;
  audit::MemoryConsumptionSource readings_;
  std::unique_ptr<store::AuditStore> store_;
  audit::CyclePlanner planner_;
  std::vector<SimMeter> meters_;
};

}  // namespace

Result<AuditSimReport> RunAuditSimulation(const AuditSimOptions& o) {
  if (o.meters < 1 || o.cycles < 1) return InvalidArgument("--meters and --cycles must be >= 1");
  if (!(o.attack_rate >= 0 && o.attack_rate <= 1)) return InvalidArgument("--attack-rate must be in [0, 1]");
  if (o.tolerance_s < 0) return InvalidArgument("--tolerance must be >= 0");
  if (o.region_size < 2) return InvalidArgument("region_size must be >= 2");
  const auto start_wall = std::chrono::steady_clock::now();
  AuditSimReport rep;
  rep.options = o;
  // SPEC 4.1: each meter's first cycle length from last period's consumption and its region; the
  // later ones from its readings during the run.
  MH_ASSIGN_OR_RETURN(std::vector<AuditMeterSetup> setup,
                      DrawAuditMeterSetups(o.meters, o.seed, o.enterprise_share, o.baseload_share, o.region_size));
  SimulatedClock ledger_clock(o.first_day * ma::kDaySeconds * 1000);
  Progress progress("sim audit", static_cast<uint64_t>(o.meters));
  for (int first = 0; first < o.meters; first += o.region_size) {
    RegionRun region(o, &rep, ledger_clock);
    const int last = std::min(o.meters, first + o.region_size);
    for (int m = first; m < last; ++m) {
      MH_RETURN_IF_ERROR(region.AddMeter("M" + std::to_string(m + 1), setup[m], MixSeed(o.seed, m, 3), MixSeed(o.seed, m, 2),
                                         "R" + std::to_string(first / o.region_size + 1)));
    }
    MH_RETURN_IF_ERROR(region.Run());
    progress.Update(static_cast<uint64_t>(last));
  }
  progress.Finish();
  rep.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_wall).count();
  return rep;
}

std::string FormatAuditSimReport(const AuditSimReport& r) {
  const AuditSimOptions& o = r.options;
  std::string s;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "meterhub sim audit: meters=%d cycles=%d seed=%llu attack-rate=%.3g tolerance=%llds\n"
                "  load: enterprise %.0f%%, baseload %.0f%%, sessions every %.2g h for %.2g h; region %d meters\n",
                o.meters, o.cycles, static_cast<unsigned long long>(o.seed), o.attack_rate,
                static_cast<long long>(o.tolerance_s), 100 * o.enterprise_share, 100 * o.baseload_share, o.mean_off_h,
                o.mean_on_h, o.region_size);
  s += buf;
  std::snprintf(buf, sizeof buf, "meter-cycles: %llu   windows checked: %llu   ledger entries: %llu\n",
                static_cast<unsigned long long>(r.meter_cycles), static_cast<unsigned long long>(r.windows_checked),
                static_cast<unsigned long long>(r.ledger_entries));
  s += buf;
  s += "cycles by D:";
  for (int d = 1; d <= 7; ++d) {
    if (r.cycles_by_d[d]) s += " D=" + std::to_string(d) + ":" + std::to_string(r.cycles_by_d[d]);
  }
  s += "\n\n";
  std::snprintf(buf, sizeof buf, "%-26s %9s %9s %7s %7s %7s %7s  %s\n", "attack", "injected", "caught", "%", "code",
                "time", "ledger", "notes");
  s += buf;
  for (int k = 1; k < kAuditAttackKinds; ++k) {
    const AuditAttackTally& t = r.attacks[k];
    std::string notes;
    if (k == static_cast<int>(AuditAttack::kReplayedCode)) {
      notes = "no metering in any window: " + std::to_string(t.no_metering_in_window);
    }
    if (k == static_cast<int>(AuditAttack::kLedgerRow)) {
      notes = "time check alone: " + std::to_string(t.caught_by_time_alone) + "/" + std::to_string(t.injected);
    }
    if (k == static_cast<int>(AuditAttack::kBypass)) notes = "drawn without a load in a window (ran clean): " + std::to_string(r.no_opportunity);
    if (k == static_cast<int>(AuditAttack::kCompareTable)) {
      notes = "the meter's own table ignored in " + std::to_string(r.tables_ignored) + " audits";
    }
    std::snprintf(buf, sizeof buf, "%-26s %9llu %9llu %6.2f%% %7llu %7llu %7llu  %s\n", AuditAttackName(static_cast<AuditAttack>(k)),
                  static_cast<unsigned long long>(t.injected), static_cast<unsigned long long>(t.caught),
                  t.injected ? 100.0 * static_cast<double>(t.caught) / static_cast<double>(t.injected) : 100.0,
                  static_cast<unsigned long long>(t.by_code), static_cast<unsigned long long>(t.by_time),
                  static_cast<unsigned long long>(t.by_ledger), notes.c_str());
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "\nclean audits: %llu   false alarms: %llu\n", static_cast<unsigned long long>(r.clean_audits),
                static_cast<unsigned long long>(r.false_alarms));
  s += buf;
  std::snprintf(buf, sizeof buf, "mid-cycle audits of clean meters: %llu   false alarms: %llu\n",
                static_cast<unsigned long long>(r.mid_cycle_audits), static_cast<unsigned long long>(r.mid_cycle_false_alarms));
  s += buf;
  std::snprintf(buf, sizeof buf, "energy: flowed %.1f kWh, computed by the firmware %.1f kWh\nwall time: %.2f s\n",
                r.energy_true_kwh, r.energy_billed_kwh, r.wall_seconds);
  s += buf;
  return s;
}

std::string FormatAuditSimCsv(const AuditSimReport& r) {
  std::string s = "attack,injected,caught,by_code,by_time,by_ledger,no_metering_in_window,caught_by_time_alone\n";
  for (int k = 1; k < kAuditAttackKinds; ++k) {
    const AuditAttackTally& t = r.attacks[k];
    s += std::string(AuditAttackName(static_cast<AuditAttack>(k))) + "," + std::to_string(t.injected) + "," +
         std::to_string(t.caught) + "," + std::to_string(t.by_code) + "," + std::to_string(t.by_time) + "," +
         std::to_string(t.by_ledger) + "," + std::to_string(t.no_metering_in_window) + "," +
         std::to_string(t.caught_by_time_alone) + "\n";
  }
  s += "none (clean, cycle end)," + std::to_string(r.clean_audits) + "," + std::to_string(r.false_alarms) + ",,,,,\n";
  s += "none (clean, mid-cycle)," + std::to_string(r.mid_cycle_audits) + "," + std::to_string(r.mid_cycle_false_alarms) + ",,,,,\n";
  return s;
}

namespace {

constexpr char kUsage[] =
    "usage: meterhub sim audit [--meters 1000] [--cycles 10] [--seed 1] [--attack-rate 0.25] [--tolerance 1]\n"
    "                          [--baseload-share 0.6] [--enterprise-share 0.2] [--mean-off-h 3] [--csv OUT.csv]\n"
    "  (the CSV: per attack kind injected/caught and by which check; for the clean rows, 'caught'\n"
    "  counts false alarms)\n"
    "  runs meters through whole monitoring cycles with injected attacks (SPEC 4.7) and audits each\n"
    "  meter at each cycle end; exit 0 when every attack touching a monitored window was caught and\n"
    "  no clean audit alarmed, 1 otherwise, 2 for bad options.\n";

template <typename T>
bool ParseNum(const std::string& s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

int RunAuditSim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  AuditSimOptions o;
  std::string csv;
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
  }
  // Values are taken as text and checked here: a bad one is named with its range, as before.
  std::map<std::string, std::string> values;
  CLI::App app;
  for (const char* name : {"--meters", "--cycles", "--seed", "--attack-rate", "--baseload-share", "--enterprise-share",
                           "--mean-off-h", "--csv", "--tolerance"}) {
    app.add_option(name, values[name]);
  }
  if (Status s = ParseToolArgs(app, argv); !s.ok()) {
    err << "meterhub sim audit: " << s.message() << "\n" << kUsage;
    return 2;
  }
  for (const auto& [name, value] : values) {
    if (app.get_option(name)->count() == 0) continue;
    bool ok = true;
    if (name == "--meters") ok = ParseNum(value, &o.meters) && o.meters >= 1 && o.meters <= 10000000;
    else if (name == "--cycles") ok = ParseNum(value, &o.cycles) && o.cycles >= 1 && o.cycles <= 10000;
    else if (name == "--seed") ok = ParseNum(value, &o.seed);
    else if (name == "--attack-rate") ok = ParseNum(value, &o.attack_rate) && o.attack_rate >= 0 && o.attack_rate <= 1;
    else if (name == "--baseload-share") ok = ParseNum(value, &o.baseload_share) && o.baseload_share >= 0 && o.baseload_share <= 1;
    else if (name == "--enterprise-share") ok = ParseNum(value, &o.enterprise_share) && o.enterprise_share >= 0 && o.enterprise_share <= 1;
    else if (name == "--mean-off-h") ok = ParseNum(value, &o.mean_off_h) && o.mean_off_h > 0 && o.mean_off_h <= 1000;
    else if (name == "--csv") ok = !value.empty() && (csv = value, true);
    else if (name == "--tolerance") ok = ParseNum(value, &o.tolerance_s) && o.tolerance_s >= 0 && o.tolerance_s <= 3600;
    if (!ok) {
      err << "meterhub sim audit: " << name << " '" << value << "' is out of range or not a number\n";
      return 2;
    }
  }
  auto r = RunAuditSimulation(o);
  if (!r.ok()) {
    err << "meterhub sim audit: " << r.status().message() << "\n";
    return r.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  out << FormatAuditSimReport(*r);
  if (!csv.empty()) {
    std::FILE* f = csv == "-" ? stdout : std::fopen(csv.c_str(), "w");
    const std::string text = FormatAuditSimCsv(*r);
    if (!f || std::fwrite(text.data(), 1, text.size(), f) != text.size()) {
      err << "meterhub sim audit: cannot write '" << csv << "'\n";
      if (f && f != stdout) std::fclose(f);
      return 1;
    }
    if (f != stdout) std::fclose(f);
  }
  bool all = r->false_alarms == 0 && r->mid_cycle_false_alarms == 0;
  for (int k = 1; k < kAuditAttackKinds; ++k) {
    const AuditAttackTally& t = r->attacks[k];
    all &= t.caught + t.no_metering_in_window >= t.injected;
  }
  return all ? 0 : 1;
}

}  // namespace mh::sim
