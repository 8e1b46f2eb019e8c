// `meterhub demo`'s meters on real protocols (issue 16): a simulated DTU with DL/T 645 and CJ/T 188
// meters polled by the daemon's TCP gateway, a DLMS meter pushing over TCP, and a wM-Bus receiver
// publishing a telegram on raw/wmbus; the summary counts their readings by protocol.
#pragma once

#include <memory>

#include "app/demo_part.h"

namespace mh::app {

std::unique_ptr<DemoPart> MakeProtocolDemoPart();

}  // namespace mh::app
