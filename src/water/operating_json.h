// The terminal's operating parameters on the wire (issue 17 item 2): in a command's "operating"
// object (only the fields to change), in an ack's "before" and "after" (all three), and in the
// engineer's POST /api/v1/water/work-orders/{id}/parameters. One codec for platform and devices.
#pragma once

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "meter/water/self_maintenance.h"

namespace mh::water {

using meter::water::OperatingChange;
using meter::water::OperatingParameters;

// {"zero_offset","low_flow_cutoff","gain"}
nlohmann::json OperatingJson(const OperatingParameters& p);
Result<OperatingParameters> ParseOperatingJson(const nlohmann::json& j);
// The fields given only; each validated against the safe ranges (OperatingParameters::Validate).
nlohmann::json OperatingChangeJson(const OperatingChange& c);
// InvalidArgument naming the field; an object with none of the three fields, or another field, is refused.
Result<OperatingChange> ParseOperatingChangeJson(const nlohmann::json& j);

}  // namespace mh::water
