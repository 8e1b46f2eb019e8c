// The meter-protocol driver registry. Each driver is a decoder plus the test vectors it must
// decode (captured frames or frames built from the standard's framing rules), kept beside it as
// wmbusmeters keeps its drivers' telegrams: driver_vectors_test decodes every vector of every
// driver and compares the result with the vector's expected JSON (the `meterhub decode` line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

struct TestVector {
  std::string name;           // short, unique within the driver
  std::string hex;            // the frame (hex; spaces, '_' and '|' allowed)
  std::string expected_json;  // exactly what `meterhub decode` prints for it (one line)
  std::string key_hex;        // --key, empty when none
  std::string auth_key_hex;   // --auth-key, empty when none
  std::string source;         // where the frame comes from, with its licence
};

struct ProtocolDriver {
  std::string name;  // "dlt645" | "cjt188" | "dlms" | "wmbus"
  Result<DecodedFrame> (*decode)(FrameBytes frame, const DecodeKeys& keys) = nullptr;
  std::vector<TestVector> vectors;
};

// Every registered driver, in a fixed order.
const std::vector<const ProtocolDriver*>& AllDrivers();
// nullptr when no driver has this name.
const ProtocolDriver* FindDriver(std::string_view name);

}  // namespace mh::codec
