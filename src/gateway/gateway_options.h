// What the [gateway] section configures (docs/gateway.md): where DTUs and DLMS meters connect,
// how a DTU names itself, and the polling's timing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mh::gateway {

// A DTU's registration packet, the first thing it sends after connecting: its id as a line of
// ASCII ending "\n" ("\r\n" too), or as `bytes` fixed bytes (the id is then their hex, uppercase).
struct Registration {
  enum class Kind { kLine, kBinary };
  Kind kind = Kind::kLine;
  int bytes = 0;  // kBinary only: 1..64
};

// "line" or "binary:N" (N in 1..64); InvalidArgument naming what is wrong.
Result<Registration> ParseRegistration(std::string_view text);

struct GatewayOptions {
  std::string listen;                // "host:port" for DTUs; empty = none (port 0 = any free port)
  std::string dlms_listen;           // "host:port" for DLMS pushes; empty = none
  int64_t poll_timeout_ms = 5000;    // a meter's answer must arrive within this
  int poll_retries = 2;              // repeats of an unanswered request
  int64_t idle_timeout_s = 300;      // a connection silent this long is closed
  int max_connections = 1000;        // DTU and DLMS connections together
  Registration registration;
  int64_t poll_interval_s = 0;       // 0 = each meter's upload interval
};

}  // namespace mh::gateway
