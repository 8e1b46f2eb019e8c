// The tamper-audit part of `meterhub demo` (SPEC 4): audited meters (sim/audit_devices: firmware
// model + monitoring plugin on a random load), registered and commissioned over REST, send their
// first monitoring times, segments and hourly readings to the daemon over MQTT and apply the cycle
// lengths it sends; at each cycle end the part asks the daemon to audit the meter over REST (the
// daemon fetches the segments from the meter, which answers), with the attacks of SPEC 4.7 and the
// shrunken-table attack injected on some meter-cycles, and counts attacks caught, false alarms and
// the inspection orders that reach the receiver's /audit/inspections.
#pragma once

#include <memory>

#include "app/demo_part.h"

namespace mh::app {

// `args.audit_meters` meters (call only when > 0), attacked at `args.audit_attack_rate` per
// meter-cycle, from `args.seed`.
std::unique_ptr<DemoPart> MakeAuditDemoPart(const DemoArgs& args);

}  // namespace mh::app
