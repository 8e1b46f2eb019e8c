#include "meter/water/self_maintenance.h"

#include <cmath>

namespace mh::meter::water {

Status OperatingParameters::Validate() const {
  if (!std::isfinite(zero_offset) || std::abs(zero_offset) > 0.1) {
    return InvalidArgument("operating parameters: zero_offset " + std::to_string(zero_offset) + " m3/h is outside -0.1 .. 0.1");
  }
  if (!std::isfinite(low_flow_cutoff) || low_flow_cutoff < 0 || low_flow_cutoff > 0.1) {
    return InvalidArgument("operating parameters: low_flow_cutoff " + std::to_string(low_flow_cutoff) +
                           " m3/h is outside 0 .. 0.1");
  }
  if (!std::isfinite(gain) || gain < 0.5 || gain > 2) {
    return InvalidArgument("operating parameters: gain " + std::to_string(gain) + " is outside 0.5 .. 2");
  }
  return Status::Ok();
}

OperatingParameters OperatingChange::AppliedTo(OperatingParameters p) const {
  if (zero_offset) p.zero_offset = *zero_offset;
  if (low_flow_cutoff) p.low_flow_cutoff = *low_flow_cutoff;
  if (gain) p.gain = *gain;
  return p;
}

Result<MaintenanceAck> TerminalSelfMaintenance::Apply(const MaintenanceCommand& cmd, int64_t now) {
  if (cmd.command_id.empty()) return InvalidArgument("maintenance command: empty command_id");
  if (cmd.feature_code != feature_code_) {
    return PermissionDenied("maintenance command " + cmd.command_id + ": feature code " + cmd.feature_code +
                            " is not this terminal's (" + feature_code_ + ")");
  }
  if (cmd.command_id == last_command_id_) {
    return MaintenanceAck{cmd.command_id, feature_code_, last_applied_at_, last_before_, operating_};
  }
  if (now > cmd.expires_at) {
    return FailedPrecondition("maintenance command " + cmd.command_id + ": expired at " +
                              std::to_string(cmd.expires_at) + ", now " + std::to_string(now));
  }
  if (!cmd.keep_correction) MH_RETURN_IF_ERROR(cmd.correction.Validate().WithContext("maintenance command " + cmd.command_id));
  const OperatingParameters after = cmd.operating.AppliedTo(operating_);
  MH_RETURN_IF_ERROR(after.Validate().WithContext("maintenance command " + cmd.command_id));
  // Checked whole before anything changes: a refused command leaves the terminal as it was.
  last_before_ = operating_;
  if (!cmd.keep_correction) correction_ = cmd.correction;
  operating_ = after;
  last_command_id_ = cmd.command_id;
  last_applied_at_ = now;
  return MaintenanceAck{cmd.command_id, feature_code_, now, last_before_, operating_};
}

}  // namespace mh::meter::water
