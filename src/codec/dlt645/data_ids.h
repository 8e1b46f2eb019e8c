// The values behind DL/T 645 data identifiers: which identifiers MeterHub knows (energy, maximum
// demand, instantaneous quantities, date and time — 2007's 4-byte identifiers and the 1997 ones
// still in the field), their data format (bytes, decimal places, sign bit, unit) and the blocks
// with FF in one byte of the identifier that return several values. docs/formats/meter-protocols.md
// lists them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec::dlt645 {

// "00010000" (2007, DI3 first) and "9010" (1997, DI1 first): the register channels.
std::string DiText2007(uint32_t di);
std::string DiText1997(uint16_t di);

// The registers of a read answer's values (the bytes after the identifier, 0x33 already
// removed). `offset` is where values[0] sat in the decoder's input, for error messages.
// An identifier MeterHub does not know gives one register with the values read as an unsigned
// BCD number (least significant byte first, no decimal places, unit null) and the status
// "unknown_di" when they are at most 7 BCD bytes; otherwise an error naming the identifier.
Result<std::vector<DecodedRegister>> DecodeValues2007(uint32_t di, FrameBytes values, size_t offset);
Result<std::vector<DecodedRegister>> DecodeValues1997(uint16_t di, FrameBytes values, size_t offset);

}  // namespace mh::codec::dlt645
