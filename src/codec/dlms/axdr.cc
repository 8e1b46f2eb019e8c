#include "codec/dlms/axdr.h"

#include "core/time.h"
#include "crypto/crypto.h"

#include <bit>
#include <cctype>
#include <cmath>

namespace mh::codec::dlms {
namespace {

constexpr int kMaxDepth = 16;

uint64_t BigEndian(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

int64_t SignedBigEndian(const uint8_t* p, size_t n) {
  uint64_t v = BigEndian(p, n);
  if (n < 8 && (p[0] & 0x80)) v |= ~uint64_t{0} << (8 * n);
  return static_cast<int64_t>(v);
}

// Fixed-size types: their length in bytes, 0 for types with a length or elements.
size_t FixedSize(DataTag tag) {
  switch (tag) {
    case DataTag::kNull: return 0;
    case DataTag::kBoolean: case DataTag::kBcd: case DataTag::kInteger: case DataTag::kUnsigned:
    case DataTag::kEnum: return 1;
    case DataTag::kLong: case DataTag::kLongUnsigned: return 2;
    case DataTag::kDoubleLong: case DataTag::kDoubleLongUnsigned: case DataTag::kFloat32: case DataTag::kTime: return 4;
    case DataTag::kDate: return 5;
    case DataTag::kLong64: case DataTag::kLong64Unsigned: case DataTag::kFloat64: return 8;
    case DataTag::kDateTime: return 12;
    default: return 0;
  }
}

bool Known(uint8_t t) {
  return t <= 6 || t == 9 || t == 10 || t == 12 || t == 13 || (t >= 15 && t <= 18) || (t >= 20 && t <= 27);
}

Result<Data> Read(const Apdu& a, size_t* pos, int depth) {
  const auto& b = a.bytes;
  if (*pos >= b.size()) return ByteError(a.Offset(*pos), "data", "truncated: a value is missing");
  if (depth > kMaxDepth) return ByteError(a.Offset(*pos), "data", "nested deeper than 16 levels");
  Data d;
  d.offset = a.Offset(*pos);
  const uint8_t raw_tag = b[(*pos)++];
  if (!Known(raw_tag)) return ByteError(d.offset, "data tag", Hex0x(raw_tag) + " is not a supported A-XDR data type");
  d.tag = static_cast<DataTag>(raw_tag);
  if (d.tag == DataTag::kArray || d.tag == DataTag::kStructure) {
    MH_ASSIGN_OR_RETURN(size_t count, ReadLength(a, pos, d.tag == DataTag::kArray ? "array length" : "structure length"));
    if (count > b.size() - *pos) {
      return ByteError(d.offset, "data", std::to_string(count) + " elements announced, " + std::to_string(b.size() - *pos) + " bytes remain");
    }
    for (size_t i = 0; i < count; ++i) {
      MH_ASSIGN_OR_RETURN(Data item, Read(a, pos, depth + 1));
      d.items.push_back(std::move(item));
    }
    return d;
  }
  size_t size = FixedSize(d.tag);
  if (d.tag == DataTag::kOctetString || d.tag == DataTag::kVisibleString || d.tag == DataTag::kUtf8String) {
    MH_ASSIGN_OR_RETURN(size, ReadLength(a, pos, "string length"));
  } else if (d.tag == DataTag::kBitString) {
    MH_ASSIGN_OR_RETURN(size_t bits, ReadLength(a, pos, "bit-string length"));
    size = (bits + 7) / 8;
  }
  if (size > b.size() - *pos) {
    return ByteError(a.Offset(*pos), "data", "truncated: a " + Hex0x(raw_tag) + " value needs " + std::to_string(size) +
                                                 " bytes, " + std::to_string(b.size() - *pos) + " remain");
  }
  const uint8_t* p = b.data() + *pos;
  *pos += size;
  switch (d.tag) {
    case DataTag::kBoolean: d.number = p[0] ? 1 : 0; break;
    case DataTag::kInteger: case DataTag::kLong: case DataTag::kDoubleLong: case DataTag::kLong64:
      d.number = static_cast<double>(SignedBigEndian(p, size));
      break;
    case DataTag::kUnsigned: case DataTag::kLongUnsigned: case DataTag::kDoubleLongUnsigned:
    case DataTag::kLong64Unsigned: case DataTag::kEnum:
      d.number = static_cast<double>(BigEndian(p, size));
      break;
    case DataTag::kBcd: d.number = (p[0] >> 4) * 10 + (p[0] & 0x0F); break;
    case DataTag::kFloat32: d.number = std::bit_cast<float>(static_cast<uint32_t>(BigEndian(p, 4))); break;
    case DataTag::kFloat64: d.number = std::bit_cast<double>(BigEndian(p, 8)); break;
    default: d.bytes.assign(p, p + size); break;
  }
  return d;
}

}  // namespace

bool Data::IsNumber() const {
  switch (tag) {
    case DataTag::kBoolean: case DataTag::kBcd: case DataTag::kInteger: case DataTag::kLong:
    case DataTag::kDoubleLong: case DataTag::kLong64: case DataTag::kUnsigned: case DataTag::kLongUnsigned:
    case DataTag::kDoubleLongUnsigned: case DataTag::kLong64Unsigned: case DataTag::kEnum:
      return true;
    case DataTag::kFloat32: case DataTag::kFloat64:
      return std::isfinite(number);
    default:
      return false;
  }
}

Result<size_t> ReadLength(const Apdu& a, size_t* pos, const char* field) {
  const auto& b = a.bytes;
  if (*pos >= b.size()) return ByteError(a.Offset(*pos), field, "truncated");
  const uint8_t first = b[(*pos)++];
  if (first < 0x80) return static_cast<size_t>(first);
  const size_t n = first & 0x7F;
  if (n == 0 || n > 4) return ByteError(a.Offset(*pos - 1), field, "a length of " + std::to_string(n) + " bytes is not 1..4");
  if (n > b.size() - *pos) return ByteError(a.Offset(*pos), field, "truncated");
  size_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | b[(*pos)++];
  return v;
}

Result<Data> ReadData(const Apdu& apdu, size_t* pos) { return Read(apdu, pos, 0); }

std::string UpperHex(std::span<const uint8_t> b) {
  std::string s = crypto::HexEncode(b);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::optional<int64_t> DateTimeToEpoch(std::span<const uint8_t> b) {
  if (b.size() != 12) return std::nullopt;
  const int year = b[0] << 8 | b[1];
  const int month = b[2], day = b[3], hour = b[5], minute = b[6];
  const int second = b[7] == 0xFF ? 0 : b[7];
  if (year == 0xFFFF || hour > 23 || second > 59 || !IsValidCivilTime(year, month, day, hour, minute, second)) {
    return std::nullopt;
  }
  int64_t t = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
              minute * 60 + second;
  const int16_t deviation = static_cast<int16_t>(b[9] << 8 | b[10]);  // b[8]: hundredths
  if (deviation != static_cast<int16_t>(0x8000) && deviation >= -720 && deviation <= 720) t += deviation * 60;
  return t;
}

}  // namespace mh::codec::dlms
