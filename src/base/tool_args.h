// Parses an offline tool's `--name value` / `--name=value` options with CLI11 (the one option
// parser) and words every usage error the same way, naming the option, so a script driving a tool
// never has a typo silently ignored: unknown, repeated, value-less and missing required options
// are errors. The caller prefixes the message with the command and exits 2.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace CLI {
class App;
}

namespace mh {

// `args` are the tool's arguments without the command words. Options declared `->required()` must
// be given with a non-empty value ("missing NAME" for a positional one). Errors (InvalidArgument): "unknown option --x", "unexpected
// argument 'x'", "option --x needs a value", "option --x given twice", "missing required option --x",
// or CLI11's own wording for anything else (a value its check refused).
Status ParseToolArgs(CLI::App& app, std::vector<std::string> args);

}  // namespace mh
