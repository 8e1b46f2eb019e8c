// COSEM push lists to registers: OBIS-coded lists (code, value and, when the push carries it, a
// scaler-unit structure: Kamstrup and most meters) and the Kaifa KFM_001 lists, which carry no
// OBIS codes and are mapped by their length to the codes of Kaifa's HAN documentation. Values
// are scaled into the contract's units (W -> kW, Wh -> kWh, var -> kvar, varh -> kvarh, ...).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/dlms/axdr.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec::dlms {

struct PushContent {
  std::optional<std::string> device;        // logical device name or meter id, when the list has one
  std::optional<int64_t> clock;              // the list's own clock entry (0.0.1.0.0.255)
  std::vector<DecodedRegister> registers;    // channel = "A-B:C.D.E.F"
  std::vector<std::string> status;           // e.g. "clock_invalid"
};

// A list of values without OBIS codes that matches no template is an error naming its offset.
Result<PushContent> ReadPushList(const Data& body);

// "1-0:1.8.0.255".
std::string ObisText(const uint8_t* obis);

}  // namespace mh::codec::dlms
