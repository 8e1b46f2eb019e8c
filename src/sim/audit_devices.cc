#include "sim/audit_devices.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <iterator>

#include "audit/messages.h"
#include "meter/audit/fixed_segment.h"

namespace mh::sim {
namespace {

namespace ma = meter::audit;

// One alteration per comparison-table line of the default fixed segment; each still compiles and
// lowers the energy or the charge (what a thief wants).
struct Alteration {
  const char* from;
  const char* to;
};
constexpr Alteration kAlterations[] = {
    {"RATE 0 8 0.35", "RATE 0 8 0.25"},   {"RATE 8 22 0.62", "RATE 8 22 0.52"}, {"RATE 22 24 0.35", "RATE 22 24 0.25"},
    {"MUL R0 P DT", "MIN R0 P DT"},     {"DIV R0 R0 3600000", "DIV R0 R0 4000000"},
    {"ADD E E R0", "ADD E E R2"},         {"TARIFF R1 HOUR", "TARIFF R1 3"},
    {"MUL R2 R0 R1", "MUL R2 R0 0.30"},   {"ADD C C R2", "SUB C C R2"},
};

std::string Altered(const std::string& image, const Alteration& a) {
  std::string out = image;
  out.replace(out.find(a.from), std::string(a.from).size(), a.to);
  return out;
}

// The 1-based line of the image an alteration changes.
int LineOf(const std::string& image, const Alteration& a) {
  const size_t at = image.find(a.from);
  return 1 + static_cast<int>(std::count(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

double Exponential(SimRng& rng, double mean) { return -mean * std::log(1.0 - Uniform01(rng)); }

// Intervals [a, b) where the signal is on within [from, to), from the load changes.
std::vector<std::pair<int64_t, int64_t>> OnIntervals(bool on_at_from, int64_t from, int64_t to,
                                                     const std::vector<std::pair<int64_t, double>>& changes,
                                                     double threshold) {
  std::vector<std::pair<int64_t, int64_t>> out;
  bool on = on_at_from;
  int64_t since = from;
  for (const auto& [t, w] : changes) {
    const bool now_on = w >= threshold;
    if (now_on == on) continue;
    if (on && t > since) out.emplace_back(since, t);
    on = now_on;
    since = t;
  }
  if (on && to > since) out.emplace_back(since, to);
  return out;
}

}  // namespace

const char* AuditAttackName(AuditAttack a) {
  switch (a) {
    case AuditAttack::kNone: return "none";
    case AuditAttack::kAlteredCode: return "altered fixed segment";
    case AuditAttack::kReplayedCode: return "original code replayed";
    case AuditAttack::kBypass: return "metering bypassed";
    case AuditAttack::kLedgerRow: return "altered ledger row";
    case AuditAttack::kCompareTable: return "shrunken comparison table";
  }
  return "?";
}

Result<std::vector<AuditMeterSetup>> DrawAuditMeterSetups(int meters, uint64_t seed, double enterprise_share,
                                                          double baseload_share, int region_size) {
  if (meters < 1) return InvalidArgument("audit meters must be >= 1");
  if (region_size < 2) return InvalidArgument("region_size must be >= 2");
  std::vector<AuditMeterSetup> setup(meters);
  std::vector<double> consumption(meters);
  for (int m = 0; m < meters; ++m) {
    SimRng rng(MixSeed(seed, m, 1));
    setup[m].q = Uniform01(rng) < enterprise_share ? ma::kEnterpriseQ : ma::kResidentialQ;
    setup[m].baseload = Uniform01(rng) < baseload_share;
    consumption[m] = 300.0 * std::exp(0.5 * Normal(rng));
  }
  for (int m = 0; m < meters; ++m) {
    const int region = m / region_size;
    std::vector<double> others;
    for (int k = region * region_size; k < std::min(meters, (region + 1) * region_size); ++k) {
      if (k != m) others.push_back(consumption[k]);
    }
    MH_ASSIGN_OR_RETURN(setup[m].d0, ma::CycleLength(consumption[m], ma::RegionMean(others), setup[m].q));
  }
  return setup;
}

// A household or business load: an optional baseload that never switches off, and appliance
// sessions arriving as a renewal process. Emits (t, watts) at each change.
class AuditDevice::Load {
 public:
  Load(uint64_t seed, bool baseload, const AuditDeviceOptions& o, int64_t t0)
      : rng_(seed), options_(o), base_w_(baseload ? Uniform(rng_, 30, 150) : 0) {
    next_ = t0 + Gap(options_.mean_off_h);
  }
  double base_w() const { return base_w_; }
  // The changes in [.., until), in order.
  void Until(int64_t until, std::vector<std::pair<int64_t, double>>* out) {
    while (next_ < until) {
      if (session_) {
        out->emplace_back(next_, base_w_);
        session_ = false;
        next_ += Gap(options_.mean_off_h);
      } else {
        out->emplace_back(next_, base_w_ + Uniform(rng_, 200, 3000));
        session_ = true;
        next_ += Gap(options_.mean_on_h);
      }
    }
  }

 private:
  int64_t Gap(double mean_h) { return std::max<int64_t>(60, std::llround(Exponential(rng_, mean_h * 3600))); }
  SimRng rng_;
  AuditDeviceOptions options_;
  double base_w_;
  bool session_ = false;
  int64_t next_ = 0;
};

AuditDevice::AuditDevice(const std::string& id, const AuditMeterSetup& setup, const ma::Cycle& first_cycle,
                         uint64_t load_seed, uint64_t attack_seed, ma::Uploader* uploader, const AuditDeviceOptions& o)
    : id_(id),
      options_(o),
      original_(ma::DefaultFixedImage()),
      original_table_(ma::FormatComparisonTable(ma::DefaultComparisonLines())),
      compare_text_(original_table_),
      rng_(attack_seed),
      load_(std::make_unique<Load>(load_seed, setup.baseload, o,
                                   first_cycle.first_day * ma::kDaySeconds - first_cycle.tz_offset_s - 3600)),
      plugin_(id, first_cycle, uploader),
      cycle_(first_cycle) {}

AuditDevice::~AuditDevice() = default;

Result<std::unique_ptr<AuditDevice>> AuditDevice::Create(const std::string& id, const AuditMeterSetup& setup,
                                                         const ma::Cycle& first_cycle, uint64_t load_seed,
                                                         uint64_t attack_seed, ma::Uploader* uploader,
                                                         const AuditDeviceOptions& options) {
  std::unique_ptr<AuditDevice> d(new AuditDevice(id, setup, first_cycle, load_seed, attack_seed, uploader, options));
  d->plugin_.SetCycleEndHook([dev = d.get()](const ma::DynamicSegment& s) { dev->finished_ = s; });
  ma::FirmwareOptions fo;
  fo.tz_offset_s = first_cycle.tz_offset_s;  // the tariff's local hours are the meter's
  MH_ASSIGN_OR_RETURN(d->fw_, ma::MeterFirmware::Create(d->original_, &d->plugin_, fo));
  const int64_t t0 = first_cycle.first_day * ma::kDaySeconds - first_cycle.tz_offset_s - 3600;
  d->fw_->SetPower(t0, d->load_->base_w());
  // The hour before the first cycle, so that attacks applied at its start come in time order.
  std::vector<std::pair<int64_t, double>> before;
  d->load_->Until(t0 + 3600, &before);
  for (const auto& [t, w] : before) d->fw_->SetPower(t, w);
  return d;
}

Result<AuditCyclePlan> AuditDevice::BeginCycle(double attack_rate) {
  cycle_ = plugin_.cycle();
  start_ = cycle_.first_day * ma::kDaySeconds - cycle_.tz_offset_s;
  end_ = cycle_.EndDay() * ma::kDaySeconds - cycle_.tz_offset_s;
  changes_.clear();
  modes_.clear();
  next_change_ = next_mode_ = 0;
  finished_.reset();
  load_->Until(end_, &changes_);

  plan_ = AuditCyclePlan{};
  if (Uniform01(rng_) < attack_rate) plan_.attack = static_cast<AuditAttack>(1 + rng_() % (kAuditAttackKinds - 1));
  // Where energy flows inside the monitored windows this cycle.
  const auto on = OnIntervals(fw_->signal_on(), start_, end_, changes_, ma::FirmwareOptions{}.signal_threshold_w);
  std::vector<std::pair<int64_t, int64_t>> in_window;  // on ∩ window, per window
  for (int w = 1; w <= cycle_.d; ++w) {
    for (const auto& iv : on) {
      const int64_t a = std::max(iv.first, cycle_.WindowStartUtc(w)), b = std::min(iv.second, cycle_.WindowEndUtc(w));
      if (b > a) in_window.emplace_back(a, b);
    }
  }
  for (const auto& iv : in_window) plan_.metering_in_window |= iv.second - iv.first > options_.tolerance_s;

  const Alteration& alt = kAlterations[rng_() % std::size(kAlterations)];
  switch (plan_.attack) {
    case AuditAttack::kAlteredCode:
      MH_RETURN_IF_ERROR(fw_->ReplaceFixedSegment(start_, Altered(original_, alt)));
      break;
    case AuditAttack::kCompareTable: {
      // The altered line left out of the table the meter sends, as if the table said so.
      MH_RETURN_IF_ERROR(fw_->ReplaceFixedSegment(start_, Altered(original_, alt)));
      std::vector<int> lines = ma::DefaultComparisonLines();
      lines.erase(std::remove(lines.begin(), lines.end(), LineOf(original_, alt)), lines.end());
      compare_text_ = ma::FormatComparisonTable(lines);
      break;
    }
    case AuditAttack::kReplayedCode: {
      MH_ASSIGN_OR_RETURN(ma::FixedProgram hidden, ma::FixedProgram::Compile(Altered(original_, alt)));
      fw_->SetHiddenProgram(std::move(hidden));
      modes_.emplace_back(start_, ma::ProcessorMode::kHiddenCopy);
      // Back to normal a second before the cycle ends: at the very instant of the end the next
      // cycle's first window opens first, and an interface resuming then would look, to the label
      // check, like a pseudo start dropped from the clean cycle after the attack.
      modes_.emplace_back(end_ - 1, ma::ProcessorMode::kNormal);
      break;
    }
    case AuditAttack::kBypass: {
      // The thief bypasses metering while a load runs inside a monitored window.
      // Metering resumes before the cycle's last second (see the replay above).
      std::vector<std::pair<int64_t, int64_t>> candidates;
      for (auto iv : in_window) {
        iv.second = std::min(iv.second, end_ - 1);
        if (iv.second - iv.first > 2 * options_.tolerance_s + 2) candidates.push_back(iv);
      }
      if (candidates.empty()) {
        plan_.attack = AuditAttack::kNone;
        plan_.no_opportunity = true;
        break;
      }
      const auto iv = candidates[rng_() % candidates.size()];
      const int64_t len = iv.second - iv.first;
      const int64_t span =
          std::clamp<int64_t>(std::llround(Uniform(rng_, 600, 7200)), 2 * options_.tolerance_s + 2, len);
      const int64_t a = iv.first + static_cast<int64_t>(rng_() % static_cast<uint64_t>(len - span + 1));
      modes_.emplace_back(a, ma::ProcessorMode::kBypassed);
      modes_.emplace_back(a + span, ma::ProcessorMode::kNormal);
      break;
    }
    default: break;
  }
  return plan_;
}

void AuditDevice::RunTo(int64_t t) {
  // Load changes and mode switches in time order; a switch goes first at the same second.
  while (next_change_ < changes_.size() || next_mode_ < modes_.size()) {
    const int64_t change_t = next_change_ < changes_.size() ? changes_[next_change_].first : INT64_MAX;
    const int64_t mode_t = next_mode_ < modes_.size() ? modes_[next_mode_].first : INT64_MAX;
    if (std::min(change_t, mode_t) > t) break;
    if (mode_t <= change_t) {
      fw_->SetMode(mode_t, modes_[next_mode_].second);
      ++next_mode_;
    } else {
      fw_->SetPower(change_t, changes_[next_change_].second);
      ++next_change_;
    }
  }
  fw_->AdvanceTo(t);
}

Result<ma::DynamicSegment> AuditDevice::FinishCycle() {
  // Everything planned, including a bypass ending exactly at the cycle end (after the hook has
  // captured the finished segment).
  RunTo(end_);
  if (!finished_ || !(finished_->cycle == cycle_)) {
    return Internal("audit device " + id_ + ": the cycle of " + ma::FormatDay(cycle_.first_day) +
                    " (D=" + std::to_string(cycle_.d) + ") did not end where expected" +
                    (finished_ ? " (ended " + ma::FormatDay(finished_->cycle.first_day) + ")" : " (no end)"));
  }
  return *finished_;
}

Status AuditDevice::Repair() {
  if (plan_.attack == AuditAttack::kAlteredCode || plan_.attack == AuditAttack::kCompareTable) {
    MH_RETURN_IF_ERROR(fw_->ReplaceFixedSegment(end_, original_));
  }
  compare_text_ = original_table_;
  return Status::Ok();
}

std::string AuditDevice::SegmentsMessage(const ma::DynamicSegment& dynamic, const std::string& request_id) const {
  return audit::FormatSegmentsMessage(
      audit::SegmentsMessage{fw_->stored_image(), ma::FormatDynamicSegment(dynamic), compare_text_, request_id});
}

Result<std::optional<std::string>> AuditDevice::HandleCommand(std::string_view payload) {
  MH_ASSIGN_OR_RETURN(audit::AuditCommand command, audit::ParseAuditCommand(payload));
  if (const auto* cycle = std::get_if<audit::AuditCycleCommand>(&command)) {
    plugin_.SetServerCycleLength(cycle->d, cycle->from_day);
  } else if (const auto* send = std::get_if<audit::SendSegmentsCommand>(&command)) {
    return std::optional<std::string>(SegmentsMessage(plugin_.ReportedSegment(), send->request_id));
  }
  return std::optional<std::string>();
}

Result<std::string> ShiftedSignalPayload(const std::string& payload, SimRng& rng) {
  const size_t at = payload.find(" t=");
  if (at == std::string::npos) return InvalidArgument("signal row without a t= field: " + payload);
  const size_t from = at + 3;
  size_t to = from;
  while (to < payload.size() && (std::isdigit(static_cast<unsigned char>(payload[to])) || (to == from && payload[to] == '-'))) ++to;
  if (to == from) return InvalidArgument("signal row with an empty t= field: " + payload);
  const int64_t t = std::stoll(payload.substr(from, to - from));
  const int64_t shift = (rng() % 2 ? 1 : -1) * std::llround(Uniform(rng, 60, 1800));
  return payload.substr(0, from) + std::to_string(t + shift) + payload.substr(to);
}

}  // namespace mh::sim
