// The meter firmware model for the tamper audit (SPEC 4.3–4.4): a metrology front end that sees
// the metering signal (energy flowing), a processor that invokes the fixed segment through one
// code interface while it flows, and the fixed segment executed tick by tick. The plugin watches
// the signal (first monitoring times) and the interface (second monitoring times).
//
// The load is piecewise constant: SetPower(t, W) at each change. Between changes the processor
// runs ticks of at most tick_s seconds, split at local hour boundaries so the tariff is exact.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "meter/audit/fixed_segment.h"

namespace mh::meter::audit {

// What watches the metering signal and the code interface; the plugin implements it.
class FirmwareObserver {
 public:
  virtual ~FirmwareObserver() = default;
  // Called before anything else happens at `t` (window edges up to and including `t`).
  virtual void AdvanceTo(int64_t t) = 0;
  // The metering signal appeared (on) or vanished at `t`.
  virtual void OnSignal(int64_t t, bool on) = 0;
  // The processor entered / left the fixed segment through the code interface at `t`.
  virtual void OnInvocationStart(int64_t t) = 0;
  virtual void OnInvocationEnd(int64_t t) = 0;
};

// The code interface between the processor and the storage unit holding the fixed segment.
class FixedSegmentInterface {
 public:
  explicit FixedSegmentInterface(FixedProgram* program) : program_(program) {}
  void SetObserver(FirmwareObserver* observer) { observer_ = observer; }
  void Begin(int64_t t);
  void Tick(const TickInputs& in) { program_->Tick(in); }
  void End(int64_t t);
  bool active() const { return active_; }

 private:
  FixedProgram* program_;
  FirmwareObserver* observer_ = nullptr;
  bool active_ = false;
};

struct FirmwareOptions {
  double signal_threshold_w = 1.0;  // the metering signal is on while P >= this
  int64_t tick_s = 900;             // longest metering tick
  int32_t tz_offset_s = 0;          // local hours for the tariff
};

// How the processor meters: the honest path, or one of the attacks of SPEC 4.7.
enum class ProcessorMode {
  kNormal,      // through the code interface
  kBypassed,    // metering bypassed: energy flows, nothing is computed
  kHiddenCopy,  // an altered copy runs outside the interface; the stored image stays original
};

class MeterFirmware {
 public:
  // `stored_image` is the fixed segment as it sits in storage (what an audit reads); it is
  // compiled and executed. InvalidArgument when it does not compile.
  static Result<std::unique_ptr<MeterFirmware>> Create(const std::string& stored_image, FirmwareObserver* observer,
                                       const FirmwareOptions& options = {});
  MeterFirmware(const MeterFirmware&) = delete;
  MeterFirmware& operator=(const MeterFirmware&) = delete;

  // The load changes to `watts` at `t`. Time never runs backwards: a `t` before the last one is
  // taken as the last one.
  void SetPower(int64_t t, double watts);
  // Runs the ticks up to `t` with the current load.
  void AdvanceTo(int64_t t);
  // Switches the processor's mode at `t`. kHiddenCopy needs SetHiddenProgram first.
  void SetMode(int64_t t, ProcessorMode mode);
  void SetHiddenProgram(FixedProgram program) {
    if (hidden_) {
      retired_energy_kwh_ += hidden_->energy_kwh();
      retired_charge_ += hidden_->charge();
    }
    hidden_ = std::move(program);
  }
  // Re-flashes the fixed segment at `t` (an attacker's patch, or the repair after an inspection):
  // the stored image and the executed program both change; the registers so far are kept in the
  // totals. InvalidArgument (nothing changed) when the image does not compile.
  Status ReplaceFixedSegment(int64_t t, const std::string& image);

  const std::string& stored_image() const { return stored_image_; }
  // Energy and charge registers of the program that actually ran (the hidden one included).
  double energy_kwh() const { return retired_energy_kwh_ + program_.energy_kwh() + (hidden_ ? hidden_->energy_kwh() : 0); }
  double charge() const { return retired_charge_ + program_.charge() + (hidden_ ? hidden_->charge() : 0); }
  // The energy that flowed (ground truth, kWh), whatever the firmware computed.
  double true_energy_kwh() const { return true_energy_kwh_; }
  bool signal_on() const { return signal_on_; }

 private:
  MeterFirmware(std::string image, FixedProgram program, FirmwareObserver* observer, const FirmwareOptions& o);
  void UpdateInvocation(int64_t t);

  std::string stored_image_;
  FixedProgram program_;
  std::optional<FixedProgram> hidden_;
  FixedSegmentInterface interface_;
  FirmwareObserver* observer_;
  FirmwareOptions options_;
  ProcessorMode mode_ = ProcessorMode::kNormal;
  int64_t now_ = INT64_MIN;
  double power_w_ = 0;
  bool signal_on_ = false;
  double true_energy_kwh_ = 0;
  double retired_energy_kwh_ = 0;  // computed by fixed segments since replaced
  double retired_charge_ = 0;
};

}  // namespace mh::meter::audit
