#include "base/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace mh {

void InitLogging(const std::string& level, bool json) {
  auto logger = spdlog::stderr_color_mt("meterhub");
  if (json) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace mh
