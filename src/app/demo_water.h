// The water part of `meterhub demo` (SPEC 3.7 end to end): simulated water meter terminals with
// reference flowmeters, drawn from sim::WaterFleet's fault mix, paired over the REST API and
// sending their RLE frames over MQTT; the terminals apply the daemon's maintenance commands with
// the portable meter library and acknowledge, so detect → command → corrected → verified → closed
// (or → work order) runs on the daemon as in service. The summary scores it against the truth.
#pragma once

#include <cstdint>
#include <memory>

#include "app/demo_part.h"

namespace mh::app {

// `meters` terminals (at least 1), each with its flowmeter; faults drawn with `seed`.
std::unique_ptr<DemoPart> MakeWaterDemoPart(int meters, uint64_t seed);

}  // namespace mh::app
