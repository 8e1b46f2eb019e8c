// EN 13757-3 value information: what a VIF (primary table, the 0xFB and 0xFD extension tables)
// and its combinable VIFEs say about a record — the quantity that names the channel, the unit the
// value is reported in and the power of ten that scales the raw number into it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace mh::codec::wmbus {

enum class ValueKind {
  kNumber,
  kDate,          // type G (2 bytes) or, by size, F/I
  kDateTime,      // type F (4 bytes) or I (6 bytes)
  kManufacturer,  // VIF 0x7F/0xFF or a manufacturer VIFE: the raw value, flagged
  kUnknown,       // a VIF no table knows: the raw value, flagged
};

struct ValueInfo {
  std::string quantity;  // "volume", "energy_backward", "voltage_phase1", ...
  std::string unit;      // contract unit; empty for dimensionless
  int exp10 = 0;         // value = raw * multiplier * 10^exp10
  int multiplier = 1;
  ValueKind kind = ValueKind::kNumber;
  std::string flag;      // a status string for the register ("manufacturer_specific", ...)
};

// Interprets `vib` = the VIF and all its VIFEs (for 0xFB/0xFD the table byte included; for the
// plain-text VIF 0x7C/0xFC, `text` is its unit string as sent, reversed, and VIFEs follow).
ValueInfo InterpretVib(std::span<const uint8_t> vib, const std::string& text);

}  // namespace mh::codec::wmbus
