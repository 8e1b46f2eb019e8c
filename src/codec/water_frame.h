// Water flow frames (SPEC 3.1, seed 001): the run-length encoded binary frame in which a water meter
// terminal and its reference flowmeter send sampled flow to the platform. Layout and every number
// are frozen in docs/formats/water-frame.md; the decoder rejects anything else with the field named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/crc32.h"  // Crc32: the frame check value

namespace mh::codec {

enum class WaterDeviceKind : uint8_t { kTerminal = 1, kFlowmeter = 2 };
const char* WaterDeviceKindName(WaterDeviceKind kind);

inline constexpr uint8_t kWaterFrameVersion = 1;
inline constexpr uint8_t kWaterFlagRelayed = 0x01;         // flowmeter frame relayed by its terminal
inline constexpr int32_t kWaterMissingSample = INT32_MIN;  // a sample the device could not take
inline constexpr uint32_t kWaterMaxSamples = 44640;        // 31 days of 1-minute samples
inline constexpr uint32_t kWaterMaxRuns = 44640;
inline constexpr uint32_t kWaterMinInterval = 1;           // seconds
inline constexpr uint32_t kWaterMaxInterval = 86400;
inline constexpr uint32_t kWaterMaxQuantum = 1000000;      // µ(m³/h): 1 m³/h
inline constexpr uint32_t kWaterDefaultQuantum = 1000;     // 0.001 m³/h

// One frame, decoded. Sample i was taken at start + i × interval_s; its flow is
// samples[i] × quantum_micro × 1e-6 m³/h, or missing (kWaterMissingSample).
struct WaterFrame {
  WaterDeviceKind kind = WaterDeviceKind::kTerminal;
  bool relayed = false;           // only for flowmeter frames
  std::string feature_code;       // 16 lowercase hex chars: the TERMINAL's feature code (SPEC 0.1)
  std::string device_id;          // the sending device's id (terminal or flowmeter), SPEC 0.1 rules
  int64_t start = 0;              // epoch seconds, UTC, of the first sample
  uint32_t interval_s = 60;
  uint32_t quantum_micro = kWaterDefaultQuantum;
  std::vector<int32_t> samples;   // quantised flows, one per interval

  bool operator==(const WaterFrame&) const = default;

  // Flow of sample i in m³/h, nullopt when missing.
  std::optional<double> FlowAt(size_t i) const;
  // Appends a flow (m³/h) rounded to the quantum; NaN appends a missing sample. Fails when the
  // value does not fit the quantised range.
  Status AppendFlow(double flow_m3h);
};

// Encodes `frame` (validated first: the same rules the decoder enforces).
Result<std::string> EncodeWaterFrame(const WaterFrame& frame);

// Decodes one frame occupying all of `bytes`. The error names the field: "bad magic",
// "truncated in runs[3].count", "crc mismatch", "run count overflow", "interval_s 0 out of 1..86400".
Result<WaterFrame> DecodeWaterFrame(std::string_view bytes);

}  // namespace mh::codec
