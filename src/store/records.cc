#include "store/records.h"

namespace mh::store {

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

}  // namespace mh::store
