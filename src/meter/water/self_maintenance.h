// The terminal side of remote maintenance (SPEC 3.5): a water meter terminal receives a maintenance
// command, checks it is meant for it and not expired, applies the correction to its raw flow from
// then on, and acknowledges. Portable: base only, time handed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "meter/water/correction.h"

namespace mh::meter::water {

// The terminal's operating parameters (SPEC 3.5 "adjust operating parameters"; the seed names the
// sensor's sensitivity): how the transducer's signal becomes the raw flow the correction maps.
struct OperatingParameters {
  double zero_offset = 0;      // m³/h the transducer shows at zero flow; subtracted
  double low_flow_cutoff = 0;  // m³/h; a flow below it reads 0 (no creep from a closed tap)
  double gain = 1;             // sensor gain (sensitivity), multiplies the transducer's flow

  // Safe ranges: |zero_offset| ≤ 0.1 m³/h, cut-off 0 … 0.1 m³/h, gain 0.5 … 2.
  Status Validate() const;
  // The raw flow of the transducer's flow (gain, zero offset); the cut-off applies to the flow
  // reported, after the correction.
  double Raw(double sensor_flow) const { return gain * sensor_flow - zero_offset; }
  // (0 = no cut-off: the flow passes as computed.)
  double CutOff(double flow) const { return low_flow_cutoff > 0 && flow < low_flow_cutoff ? 0.0 : flow; }
  bool operator==(const OperatingParameters&) const = default;
};

// A change of some operating parameters; the others keep their values.
struct OperatingChange {
  std::optional<double> zero_offset, low_flow_cutoff, gain;
  bool empty() const { return !zero_offset && !low_flow_cutoff && !gain; }
  OperatingParameters AppliedTo(OperatingParameters p) const;
};

// What the platform sends on the terminal's command topic.
struct MaintenanceCommand {
  std::string command_id;    // unique per case and attempt, e.g. "<feature>-<case>-<attempt>"
  std::string feature_code;  // of the target terminal
  int64_t issued_at = 0;     // epoch seconds
  int64_t expires_at = 0;    // the terminal refuses it after this instant
  Correction correction;     // absolute: raw → true, replaces any earlier correction
  bool keep_correction = false;  // an operating-parameters-only command (an engineer's): correction unused
  OperatingChange operating;     // operating parameters to set (none = keep them)
};

struct MaintenanceAck {
  std::string command_id;
  std::string feature_code;
  int64_t applied_at = 0;
  // The operating parameters before and after the procedure (absent in acks of older terminals).
  std::optional<OperatingParameters> before, after;
};

class TerminalSelfMaintenance {
 public:
  explicit TerminalSelfMaintenance(std::string feature_code) : feature_code_(std::move(feature_code)) {}

  // Self-maintenance procedure: reset, apply the correction, adjust the operating parameters,
  // acknowledge with the operating parameters before and after. Refuses (and keeps everything as it
  // was) a command for another terminal, an expired one, or unsafe parameters. A command already
  // applied is acknowledged again without re-applying (the ack may have been lost).
  Result<MaintenanceAck> Apply(const MaintenanceCommand& command, int64_t now);

  // The flow this terminal reports for the transducer's flow: gain and zero offset, the correction
  // q = f⁻¹(raw), the low-flow cut-off. (With the default parameters raw = the transducer's flow.)
  double Report(double sensor_flow) const { return operating_.CutOff(correction_.Inverse(operating_.Raw(sensor_flow))); }

  const Correction& correction() const { return correction_; }
  const OperatingParameters& operating() const { return operating_; }
  const std::string& feature_code() const { return feature_code_; }
  const std::string& last_command_id() const { return last_command_id_; }

 private:
  std::string feature_code_;
  Correction correction_;
  OperatingParameters operating_;
  std::string last_command_id_;
  int64_t last_applied_at_ = 0;
  OperatingParameters last_before_;  // for a re-acknowledgement
};

}  // namespace mh::meter::water
