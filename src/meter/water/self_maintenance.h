// The terminal side of remote maintenance (SPEC 3.5): a water meter terminal receives a maintenance
// command, checks it is meant for it and not expired, applies the correction to its raw flow from
// then on, and acknowledges. Portable: base only, time handed in.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "meter/water/correction.h"

namespace mh::meter::water {

// What the platform sends on the terminal's command topic.
struct MaintenanceCommand {
  std::string command_id;    // unique per case and attempt, e.g. "<feature>-<case>-<attempt>"
  std::string feature_code;  // of the target terminal
  int64_t issued_at = 0;     // epoch seconds
  int64_t expires_at = 0;    // the terminal refuses it after this instant
  Correction correction;     // absolute: raw → true, replaces any earlier correction
};

struct MaintenanceAck {
  std::string command_id;
  std::string feature_code;
  int64_t applied_at = 0;
};

class TerminalSelfMaintenance {
 public:
  explicit TerminalSelfMaintenance(std::string feature_code) : feature_code_(std::move(feature_code)) {}

  // Self-maintenance procedure: reset, apply the correction, acknowledge. Refuses (and keeps the
  // current correction) a command for another terminal, an expired one, or unsafe parameters.
  // A command already applied is acknowledged again without re-applying (the ack may have been lost).
  Result<MaintenanceAck> Apply(const MaintenanceCommand& command, int64_t now);

  // The flow this terminal reports for a raw measured flow.
  double Report(double raw_flow) const { return correction_.Inverse(raw_flow); }

  const Correction& correction() const { return correction_; }
  const std::string& feature_code() const { return feature_code_; }
  const std::string& last_command_id() const { return last_command_id_; }

 private:
  std::string feature_code_;
  Correction correction_;
  std::string last_command_id_;
  int64_t last_applied_at_ = 0;
};

}  // namespace mh::meter::water
