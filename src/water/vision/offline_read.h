// The offline `meterhub water read` tool (SPEC 3, "Offline tool"): reads the register shown in
// each photo and prints `IMAGE,VALUE` or `IMAGE,unreadable: REASON`, one line per image.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mh::water::vision {

// args = the command line after `meterhub water read`: IMAGE... [--digits N] [--model FILE.yml]
// (options as "--opt value" or "--opt=value", anywhere). Exit 0 when every image was read, 3 when
// some were unreadable (a file that cannot be opened or decoded is one of those: "unreadable:
// cannot open"), 2 on bad usage (no image, unknown option, bad --digits, unreadable --model),
// with the message on `err`. `--help` prints the usage to `out` and returns 0.
int RunWaterReadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

const char* WaterReadUsage();

}  // namespace mh::water::vision
