// A-XDR encoded COSEM data (IEC 61334-6, DLMS UA Green Book "Data"): the typed tree a
// data-notification carries — structures, arrays, strings, integers of every width, enum,
// boolean, floats, bit strings, BCD and date-time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/dlms/hdlc.h"

namespace mh::codec::dlms {

enum class DataTag : uint8_t {
  kNull = 0, kArray = 1, kStructure = 2, kBoolean = 3, kBitString = 4, kDoubleLong = 5,
  kDoubleLongUnsigned = 6, kOctetString = 9, kVisibleString = 10, kUtf8String = 12, kBcd = 13,
  kInteger = 15, kLong = 16, kUnsigned = 17, kLongUnsigned = 18, kLong64 = 20, kLong64Unsigned = 21,
  kEnum = 22, kFloat32 = 23, kFloat64 = 24, kDateTime = 25, kDate = 26, kTime = 27,
};

struct Data {
  DataTag tag = DataTag::kNull;
  size_t offset = 0;              // input offset of the tag byte
  double number = 0;              // integers, enum, boolean, BCD and floats
  std::vector<uint8_t> bytes;     // strings, bit strings, date/time
  std::vector<Data> items;        // array and structure elements

  bool IsNumber() const;
  bool IsString() const {
    return tag == DataTag::kOctetString || tag == DataTag::kVisibleString || tag == DataTag::kUtf8String;
  }
  // A 6-byte octet string, the shape of an OBIS code.
  bool IsObis() const { return tag == DataTag::kOctetString && bytes.size() == 6; }
  std::string Text() const { return std::string(bytes.begin(), bytes.end()); }
};

// Reads one Data value starting at apdu.bytes[*pos] and advances *pos past it. Nesting deeper
// than 16 levels, a count that cannot fit the remaining bytes, or an unknown tag is an error
// naming the byte.
Result<Data> ReadData(const Apdu& apdu, size_t* pos);

// An A-XDR length (one byte below 0x80, else 0x81..0x84 and that many big-endian bytes).
Result<size_t> ReadLength(const Apdu& apdu, size_t* pos, const char* field);

// Bytes as uppercase hex ("4D4D4D0000BC614E"): system titles and non-text identifiers.
std::string UpperHex(std::span<const uint8_t> b);

// A COSEM date-time (12 bytes: year, month, day, weekday, hour, minute, second, hundredths,
// deviation, clock status) as UTC epoch seconds: local time + deviation minutes (Blue Book: the
// deviation is local time's offset to UTC, -60 in CET), the local time itself when the deviation
// is not specified. nullopt when a field needed is "not specified" or out of range.
std::optional<int64_t> DateTimeToEpoch(std::span<const uint8_t> b);

}  // namespace mh::codec::dlms
