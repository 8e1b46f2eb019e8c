#include "meter/audit/firmware.h"

#include <algorithm>
#include <climits>

namespace mh::meter::audit {

void FixedSegmentInterface::Begin(int64_t t) {
  if (active_) return;
  active_ = true;
  if (observer_) observer_->OnInvocationStart(t);
}

void FixedSegmentInterface::End(int64_t t) {
  if (!active_) return;
  active_ = false;
  if (observer_) observer_->OnInvocationEnd(t);
}

Result<std::unique_ptr<MeterFirmware>> MeterFirmware::Create(const std::string& stored_image, FirmwareObserver* observer,
                                                             const FirmwareOptions& options) {
  MH_ASSIGN_OR_RETURN(FixedProgram program, FixedProgram::Compile(stored_image));
  if (options.tick_s < 1) return InvalidArgument("firmware: tick_s must be >= 1");
  return std::unique_ptr<MeterFirmware>(new MeterFirmware(stored_image, std::move(program), observer, options));
}

MeterFirmware::MeterFirmware(std::string image, FixedProgram program, FirmwareObserver* observer, const FirmwareOptions& o)
    : stored_image_(std::move(image)), program_(std::move(program)), interface_(&program_), observer_(observer), options_(o) {
  interface_.SetObserver(observer);
}

void MeterFirmware::AdvanceTo(int64_t t) {
  if (now_ == INT64_MIN) now_ = t;
  t = std::max(t, now_);  // time never runs backwards: a late event happens now
  while (now_ < t) {
    const int64_t local = now_ + options_.tz_offset_s;
    const int64_t next_hour = now_ + (3600 - ((local % 3600) + 3600) % 3600);
    const int64_t end = std::min({t, now_ + options_.tick_s, next_hour});
    const double dt = static_cast<double>(end - now_);
    if (signal_on_) {
      true_energy_kwh_ += power_w_ * dt / 3.6e6;
      const int hour = static_cast<int>(((local % 86400) + 86400) % 86400 / 3600);
      const TickInputs in{power_w_, dt, hour};
      if (mode_ == ProcessorMode::kNormal && interface_.active()) {
        interface_.Tick(in);
      } else if (mode_ == ProcessorMode::kHiddenCopy && hidden_) {
        hidden_->Tick(in);
      }
    }
    now_ = end;
  }
  if (observer_) observer_->AdvanceTo(t);
}

void MeterFirmware::UpdateInvocation(int64_t t) {
  const bool want = signal_on_ && mode_ == ProcessorMode::kNormal;
  if (want && !interface_.active()) interface_.Begin(t);
  if (!want && interface_.active()) interface_.End(t);
}

void MeterFirmware::SetPower(int64_t t, double watts) {
  AdvanceTo(t);
  t = now_;
  power_w_ = watts;
  const bool on = watts >= options_.signal_threshold_w;
  if (on != signal_on_) {
    signal_on_ = on;
    if (observer_) observer_->OnSignal(t, on);
  }
  UpdateInvocation(t);
}

Status MeterFirmware::ReplaceFixedSegment(int64_t t, const std::string& image) {
  MH_ASSIGN_OR_RETURN(FixedProgram program, FixedProgram::Compile(image));
  AdvanceTo(t);
  retired_energy_kwh_ += program_.energy_kwh();
  retired_charge_ += program_.charge();
  program_ = std::move(program);  // the interface keeps pointing at program_
  stored_image_ = image;
  return Status::Ok();
}

void MeterFirmware::SetMode(int64_t t, ProcessorMode mode) {
  AdvanceTo(t);
  t = now_;
  mode_ = mode;
  UpdateInvocation(t);
}

}  // namespace mh::meter::audit
