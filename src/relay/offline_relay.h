// The offline `meterhub relay` tools (SPEC 2.8) as a library function over the portable meter
// algorithms: slots (2.1), level (2.2), score (2.4), password (2.5), and beacons (a pcap of real
// 802.11 beacon frames, src/codec/wifi).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "meter/access_password.h"

namespace mh::relay {

// argv = the command line after `meterhub relay`; argv[0] is the verb, options are
// "--opt value" or "--opt=value". Writes the result to `out`; returns 0 on success, 2 with a
// message on `err` naming the bad option, file or line. `--help` (or `help`) prints the usage
// to `out` and returns 0.
int RunRelayCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

const char* RelayUsage();

// The region of `meterhub relay beacons` and its key (id 1): a fixed demo street, so that tests
// and anyone inspecting the pcap can decrypt the vendor elements.
inline constexpr const char* kDemoRegionCode = "440305001";
meter::RegionKey DemoRegionKey();

}  // namespace mh::relay
