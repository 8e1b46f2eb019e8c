// The offline `meterhub water check` tool (SPEC 3, a fixed contract): the pre-check and linear fit
// of seed 001 over a PAIRS.csv of (flowmeter, terminal) flows, one verdict per feature code and window.
// `meterhub water read` (photo digits) is the vision helper's RunWaterReadCommand; the daemon's
// main dispatches `read` to it and everything else here.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mh::water {

// argv = the command line after `meterhub water`; argv[0] is the verb ("check"). Options are
// "--opt value" or "--opt=value". Returns 0 on success, 2 with a message on `err` naming the bad
// option or file:line. `--help` prints the usage to `out` and returns 0.
int RunWaterCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

const char* WaterUsage();

}  // namespace mh::water
