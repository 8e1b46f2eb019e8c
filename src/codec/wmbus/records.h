// The EN 13757-3 application layer: data records (DIF, DIFEs, VIF, VIFEs, data) turned into
// registers named quantity[_storageN][_tariffN][_subunitN], scaled into the contract's units, with
// date records as timestamps of the records stored beside them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec::wmbus {

// Appends one register per numeric record of `data` to `registers`; `origin[i]` is the frame
// offset of data[i], named by every error. Frame-level findings (manufacturer-specific data,
// records whose value is not a number) go to `frame_status`.
Status ReadRecords(std::span<const uint8_t> data, std::span<const uint16_t> origin,
                   std::vector<DecodedRegister>* registers, std::vector<std::string>* frame_status);

// EN 13757-3 annex A date types as UTC epoch seconds (the meter's local time taken as UTC);
// nullopt when the value is marked invalid or is not a calendar date. G: 2 bytes, date;
// F: 4 bytes, date and minute; I: 6 bytes, date and second.
std::optional<int64_t> DateTypeG(const uint8_t* b);
std::optional<int64_t> DateTypeF(const uint8_t* b);
std::optional<int64_t> DateTypeI(const uint8_t* b);

}  // namespace mh::codec::wmbus
