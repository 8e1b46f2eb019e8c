// Logging glue: one call sets up spdlog (plain text to stderr, or JSON lines for log shippers).
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace mh {

// level: trace|debug|info|warn|error|off. json: one JSON object per line.
void InitLogging(const std::string& level, bool json);

}  // namespace mh
