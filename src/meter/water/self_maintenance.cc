#include "meter/water/self_maintenance.h"

namespace mh::meter::water {

Result<MaintenanceAck> TerminalSelfMaintenance::Apply(const MaintenanceCommand& cmd, int64_t now) {
  if (cmd.command_id.empty()) return InvalidArgument("maintenance command: empty command_id");
  if (cmd.feature_code != feature_code_) {
    return PermissionDenied("maintenance command " + cmd.command_id + ": feature code " + cmd.feature_code +
                            " is not this terminal's (" + feature_code_ + ")");
  }
  if (cmd.command_id == last_command_id_) return MaintenanceAck{cmd.command_id, feature_code_, last_applied_at_};
  if (now > cmd.expires_at) {
    return FailedPrecondition("maintenance command " + cmd.command_id + ": expired at " +
                              std::to_string(cmd.expires_at) + ", now " + std::to_string(now));
  }
  MH_RETURN_IF_ERROR(cmd.correction.Validate().WithContext("maintenance command " + cmd.command_id));
  correction_ = cmd.correction;
  last_command_id_ = cmd.command_id;
  last_applied_at_ = now;
  return MaintenanceAck{cmd.command_id, feature_code_, now};
}

}  // namespace mh::meter::water
