// SPEC 4.7 / 6: the tamper-audit simulation. Many meters run the firmware model and the plugin
// through whole monitoring cycles on a random load, uploading their first monitoring times to a
// ledger; some meter-cycles carry an injected attack (altered fixed segment, original code replayed
// while an altered copy meters, metering bypassed for part of a window, an altered ledger row, an
// altered fixed segment sent with a comparison table shrunk to leave the altered line out).
// Every meter is audited at the end of every cycle, against the code and table registered in its
// ledger at commissioning. The meters of a region run day by day together and report a daily
// reading; at each cycle start the head-end's cycle length D for the next cycle (SPEC 4.1) is
// computed from them, as the daemon does, and applied by the plugin. Reports attacks caught /
// injected per kind and false alarms / clean audits. Deterministic for a given seed.
//
// The meters are sim/audit_devices (shared with `meterhub demo`); the ledger is the real Merkle
// ledger over a memory store (AuditLedger::InMemory), one per meter: an altered row fails its
// inclusion proof; each altered-row attack is also audited with verification off, to count what
// the time check alone catches.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/audit_devices.h"

namespace mh::sim {

struct AuditSimOptions {
  int meters = 1000;
  int cycles = 10;             // monitoring cycles per meter
  uint64_t seed = 1;
  double attack_rate = 0.25;   // share of meter-cycles with an attack (kind uniform over the five)
  int64_t tolerance_s = 1;     // the audit's time tolerance
  double enterprise_share = 0.2;   // Q = 1 (else residential, Q = 3)
  double baseload_share = 0.6;     // meters never fully off (fridge, standby): the signal stays on
  double mean_off_h = 3.0;         // intermittent load: mean gap between appliance sessions
  double mean_on_h = 0.75;         // mean session length
  int region_size = 50;            // meters per region for Ē (SPEC 4.1)
  int64_t first_day = 20777;       // 2026-11-20
};

struct AuditSimReport {
  AuditSimOptions options;
  uint64_t meter_cycles = 0;
  uint64_t clean_audits = 0;
  uint64_t false_alarms = 0;
  uint64_t mid_cycle_audits = 0;        // clean meters audited at a random moment of the cycle
  uint64_t mid_cycle_false_alarms = 0;
  uint64_t windows_checked = 0;
  uint64_t ledger_entries = 0;
  uint64_t no_opportunity = 0;     // bypass drawn but no metering in any window: ran clean
  uint64_t tables_ignored = 0;     // audits where the meter sent another comparison table than its ledger's
  std::array<AuditAttackTally, kAuditAttackKinds> attacks{};
  std::array<uint64_t, 8> cycles_by_d{};  // meter-cycles audited with D = 1..7
  double energy_true_kwh = 0, energy_billed_kwh = 0;
  double wall_seconds = 0;
};

Result<AuditSimReport> RunAuditSimulation(const AuditSimOptions& options);
std::string FormatAuditSimReport(const AuditSimReport& report);
// One row per attack kind, then the clean audits (at cycle end and mid-cycle).
std::string FormatAuditSimCsv(const AuditSimReport& report);

// `meterhub sim audit [--meters N] [--cycles C] [--seed S] [--attack-rate R] [--tolerance S]
//  [--baseload-share X] [--enterprise-share X] [--mean-off-h H] [--csv OUT.csv]`.
// Exit 0 when every attack touching a monitored window was caught and no clean audit alarmed,
// 1 otherwise, 2 for bad options.
int RunAuditSim(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

}  // namespace mh::sim
