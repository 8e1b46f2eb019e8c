#include "store/records.h"

#include <spdlog/spdlog.h>

namespace mh::store {

TimeZone ZoneOf(const MeterInfo& m) {
  if (m.timezone.empty()) return TimeZone::Fixed(m.tz_offset_s);
  auto tz = TimeZone::Parse(m.timezone);
  if (tz.ok()) return *tz;
  spdlog::warn("meter {}: {}; its periods use the offset {}", m.meter_id, tz.status().message(),
               FormatUtcOffset(m.tz_offset_s));
  return TimeZone::Fixed(m.tz_offset_s);
}

void SetZone(MeterInfo& m, const TimeZone& tz) {
  m.timezone = tz.is_fixed() ? "" : tz.Name();
  m.tz_offset_s = tz.FixedOffsetOrNow();
}

const char* DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending: return "pending";
    case DeliveryStatus::kSent: return "sent";
    case DeliveryStatus::kFailed: return "failed";
  }
  return "?";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  if (name == "pending") return DeliveryStatus::kPending;
  if (name == "sent") return DeliveryStatus::kSent;
  if (name == "failed") return DeliveryStatus::kFailed;
  return std::nullopt;
}

std::string BillingChannelOf(const MeterInfo& m) {
  if (!m.billing_channel.empty()) return m.billing_channel;
  return m.kind == "water" ? "volume_m3" : "import_kwh";
}

}  // namespace mh::store
