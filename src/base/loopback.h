// Loopback TCP ports for the local servers MeterHub starts itself (the demo's and the tests'
// Mosquitto and PostgreSQL): one that is free, and whether one accepts connections.
#pragma once

namespace mh {

// A TCP port on 127.0.0.1 that was free a moment ago (0 when none could be had).
int FreeLoopbackPort();
// True when something accepts TCP connections on 127.0.0.1:port.
bool LoopbackAccepts(int port);

}  // namespace mh
