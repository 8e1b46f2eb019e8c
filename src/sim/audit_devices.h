// The device side of the tamper-audit simulations (SPEC 4, 6): one meter running the firmware
// model and the monitoring plugin on a random household or business load, cycle after cycle, with
// the attacks of SPEC 4.7 drawn and injected per cycle, answering the audit server's commands (its
// next cycle length, a request for its segments). Written once, used by `meterhub sim audit`
// (in-process ledger) and by `meterhub demo` (signals, segments and readings over MQTT to the
// daemon). The ledger-row attack is the ledger's business: the device only picks how to alter a row.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/firmware.h"
#include "meter/audit/plugin.h"
#include "meter/audit/schedule.h"
#include "sim/rng.h"

namespace mh::sim {

// kCompareTable: the fixed segment altered and the comparison table the meter sends shrunk to
// leave the altered line out (issue 11: the audit must use the ledger's table, not the meter's).
enum class AuditAttack { kNone = 0, kAlteredCode, kReplayedCode, kBypass, kLedgerRow, kCompareTable };
inline constexpr int kAuditAttackKinds = 6;
const char* AuditAttackName(AuditAttack attack);

struct AuditAttackTally {
  uint64_t injected = 0;
  uint64_t caught = 0;             // any alarm
  uint64_t by_code = 0, by_time = 0, by_ledger = 0;  // audits raising that alarm kind
  // Attacks that touched no metering inside a monitored window (only possible for replay when no
  // energy flowed in any window of the cycle): undetectable by the method, reported apart.
  uint64_t no_metering_in_window = 0;
  uint64_t caught_by_time_alone = 0;  // ledger rows: caught with the ledger's own check switched off
};

// The load and the attack parameters shared by every meter of a run.
struct AuditDeviceOptions {
  double mean_off_h = 3.0;   // intermittent load: mean gap between appliance sessions
  double mean_on_h = 0.75;   // mean session length
  int64_t tolerance_s = 1;   // the audit's time tolerance: a bypass lasts longer than 2·tolerance + 2
};

// A meter of the fleet: its user attribute Q, whether a baseload keeps the signal on, and its first
// cycle length D from SPEC 4.1.
struct AuditMeterSetup {
  double q = meter::audit::kResidentialQ;
  bool baseload = false;
  int d0 = 3;
};

// The fleet's meters: Q and baseload drawn per meter, last period's consumption log-normal around
// 300 kWh, D from each meter's consumption against the mean of the other meters of its region
// (`region_size` meters in index order). Deterministic for a seed.
Result<std::vector<AuditMeterSetup>> DrawAuditMeterSetups(int meters, uint64_t seed, double enterprise_share,
                                                          double baseload_share, int region_size);

// What happened in one cycle, for the tallies.
struct AuditCyclePlan {
  AuditAttack attack = AuditAttack::kNone;
  bool metering_in_window = false;  // energy flowed (> tolerance) inside a monitored window
  bool no_opportunity = false;      // a bypass was drawn but no load ran in a window: runs clean
};

class AuditDevice {
 public:
  // The meter `id` with the original fixed image (meter::audit::DefaultFixedImage), its plugin
  // starting at `first_cycle` and uploading to `uploader` (which must outlive the device). The load
  // starts an hour before the first cycle. `load_seed` drives the load, `attack_seed` the attacks.
  static Result<std::unique_ptr<AuditDevice>> Create(const std::string& id, const AuditMeterSetup& setup,
                                                     const meter::audit::Cycle& first_cycle, uint64_t load_seed,
                                                     uint64_t attack_seed, meter::audit::Uploader* uploader,
                                                     const AuditDeviceOptions& options = {});
  AuditDevice(const AuditDevice&) = delete;
  AuditDevice& operator=(const AuditDevice&) = delete;
  ~AuditDevice();

  // At the start of the current cycle: draws the cycle's load and whether (with probability
  // `attack_rate`, kind uniform) and how it is attacked, and applies a code attack at once.
  Result<AuditCyclePlan> BeginCycle(double attack_rate);
  // Meters the load (and the planned attack) up to `t`, inside the current cycle.
  void RunTo(int64_t t);
  // Runs to the cycle end; returns the finished dynamic segment (what the meter reports).
  Result<meter::audit::DynamicSegment> FinishCycle();
  // After the audit (and the inspection an alarm orders) the meter is clean again.
  Status Repair();

  // A command from the audit server (meters/<shard>/<id>/commands): audit_cycle sets the plugin's
  // next cycle length, send_segments returns the answer to publish on audit/segments. Commands
  // of other areas are ignored (nullopt); a malformed audit command is an error.
  Result<std::optional<std::string>> HandleCommand(std::string_view payload);
  // The segments message the meter sends (at a cycle end: `dynamic` is the finished segment).
  std::string SegmentsMessage(const meter::audit::DynamicSegment& dynamic, const std::string& request_id = "") const;
  // The comparison table the meter sends: the reference one, shrunk under kCompareTable.
  const std::string& compare_text() const { return compare_text_; }
  // The energy register (kWh) as the firmware computed it: what the meter reports as its reading.
  double register_kwh() const { return fw_->energy_kwh(); }
  const std::string& id() const { return id_; }
  const meter::audit::Cycle& cycle() const { return cycle_; }  // the current (planned) cycle
  int64_t cycle_start() const { return start_; }
  int64_t cycle_end() const { return end_; }
  const AuditCyclePlan& plan() const { return plan_; }
  meter::audit::AuditPlugin& plugin() { return plugin_; }
  meter::audit::MeterFirmware& firmware() { return *fw_; }
  // The attack stream: callers draw from it after BeginCycle (audit moments, ledger rows), so that
  // a seed means the same run.
  SimRng& rng() { return rng_; }

 private:
  AuditDevice(const std::string& id, const AuditMeterSetup& setup, const meter::audit::Cycle& first_cycle,
              uint64_t load_seed, uint64_t attack_seed, meter::audit::Uploader* uploader, const AuditDeviceOptions& o);
  class Load;

  const std::string id_;
  const AuditDeviceOptions options_;
  const std::string original_;
  const std::string original_table_;
  std::string compare_text_;
  SimRng rng_;
  std::unique_ptr<Load> load_;
  meter::audit::AuditPlugin plugin_;
  std::unique_ptr<meter::audit::MeterFirmware> fw_;
  std::optional<meter::audit::DynamicSegment> finished_;

  // The current cycle: its span, the load changes and mode switches still to apply, in time order.
  meter::audit::Cycle cycle_;
  int64_t start_ = 0, end_ = 0;
  AuditCyclePlan plan_;
  std::vector<std::pair<int64_t, double>> changes_;
  std::vector<std::pair<int64_t, meter::audit::ProcessorMode>> modes_;
  size_t next_change_ = 0, next_mode_ = 0;
};

// The attacker's edit of a stored first-monitoring-time row: the payload's `t=` moved by 60–1800 s
// either way (drawn from `rng`). InvalidArgument when the payload has no `t=` field.
Result<std::string> ShiftedSignalPayload(const std::string& payload, SimRng& rng);

}  // namespace mh::sim
