#include "codec/dlt645/data_ids.h"

#include <cstdio>
#include <optional>

#include "codec/meter/bcd.h"

namespace mh::codec::dlt645 {
namespace {

enum class Kind {
  kNumber,    // BCD number
  kDemand,    // maximum demand: 3-byte number, then its time YYMMDDhhmm
  kDate,      // YYMMDDWW: value = the date's epoch seconds
  kTime,      // hhmmss: value = seconds since midnight
  kDateTime,  // YYMMDDWWhhmmss: value = epoch seconds
};

// One value's data format (DL/T 645-2007 appendix A, "数据格式").
struct Format {
  Kind kind = Kind::kNumber;
  int bytes = 4;
  int decimals = 2;
  bool sign = false;            // bit 7 of the most significant byte is the sign
  const char* unit = nullptr;   // nullptr: dimensionless
};

// A known identifier: its format and, for a block, which identifier byte is FF and the values
// it stands for (the identifier with that byte set to first, first+1, ...).
struct Item {
  Format format;
  int block_shift = -1;  // bit position of the FF byte; -1: not a block
  int first = 0;
  int max_count = 1;
};

constexpr double kPow10[] = {1, 10, 100, 1000, 10000, 100000};

// Energy and demand types (DI2 of 00xxxxxx and 01xxxxxx): 0 combined active, 1 forward active,
// 2 reverse active, 3/4 combined reactive 1/2, 5-8 reactive quadrants I-IV, 9/10 forward/reverse
// apparent. Phases A, B, C repeat 1..10 from 0x15, 0x29 and 0x3D. -1: not a type.
int EnergyType(uint8_t di2) {
  if (di2 <= 0x0a) return di2;
  if (di2 >= 0x15 && di2 <= 0x1e) return di2 - 0x14;
  if (di2 >= 0x29 && di2 <= 0x32) return di2 - 0x28;
  if (di2 >= 0x3d && di2 <= 0x46) return di2 - 0x3c;
  return -1;
}

const char* EnergyUnit(int type) { return type <= 2 ? "kWh" : type <= 8 ? "kvarh" : "kVAh"; }
const char* DemandUnit(int type) { return type <= 2 ? "kW" : type <= 8 ? "kvar" : "kVA"; }
bool SignedType(int type) { return type == 0 || type == 3 || type == 4; }

// DI3 = 00: energy, XXXXXX.XX. DI1 = tariff (00 total, 01..3F), DI0 = settlement (00 current,
// 01..0C the last 12 settlement days). One of DI2, DI1, DI0 may be FF (a block).
std::optional<Item> Energy(uint8_t di2, uint8_t di1, uint8_t di0) {
  const int ff = (di2 == 0xff) + (di1 == 0xff) + (di0 == 0xff);
  if (ff > 1) return std::nullopt;
  if ((di0 != 0xff && di0 > 0x0c) || (di1 != 0xff && di1 > 0x3f)) return std::nullopt;
  // 00FFxxxx: every type 00..0A, each with its own unit — DecodeValues2007 splits it.
  if (di2 == 0xff) return Item{{Kind::kNumber, 4, 2, false, "kWh"}, 16, 0, 11};
  int type = EnergyType(di2);
  const bool extra = di2 >= 0x81 && di2 <= 0x86;  // fundamental/harmonic active, copper/iron loss
  if (type < 0 && !extra) return std::nullopt;
  if ((di2 > 0x0a) && di1 != 0) return std::nullopt;  // per-phase and extra energies: totals only
  Format f{Kind::kNumber, 4, 2, extra ? false : SignedType(type), extra ? "kWh" : EnergyUnit(type)};
  if (di1 == 0xff) return Item{f, 8, 0, 64};
  if (di0 == 0xff) return Item{f, 0, 0, 13};
  return Item{f};
}

// DI3 = 01: maximum demand XX.XXXX and its time, same DI2/DI1/DI0 layout as energy (types 1..10).
std::optional<Item> Demand(uint8_t di2, uint8_t di1, uint8_t di0) {
  if ((di1 == 0xff) + (di0 == 0xff) > 1 || di2 == 0xff) return std::nullopt;
  const int type = EnergyType(di2);
  if (type < 1) return std::nullopt;
  if (di2 > 0x0a && di1 != 0) return std::nullopt;
  if ((di1 != 0xff && di1 > 0x3f) || (di0 != 0xff && di0 > 0x0c)) return std::nullopt;
  Format f{Kind::kDemand, 8, 4, SignedType(type), DemandUnit(type)};
  if (di1 == 0xff) return Item{f, 8, 0, 64};
  if (di0 == 0xff) return Item{f, 0, 0, 13};
  return Item{f};
}

// DI3 = 02: instantaneous quantities. DI2 = quantity, DI1 = phase (0 total, 1..3 A..C, FF all).
std::optional<Item> Instant(uint8_t di2, uint8_t di1, uint8_t di0) {
  if (di2 == 0x80) {  // 028000xx: single values
    if (di1 != 0) return std::nullopt;
    switch (di0) {
      case 0x01: return Item{{Kind::kNumber, 3, 3, true, "A"}};      // neutral current
      case 0x02: return Item{{Kind::kNumber, 2, 2, false, "Hz"}};    // grid frequency
      case 0x03: return Item{{Kind::kNumber, 3, 4, true, "kW"}};     // one-minute mean active power
      case 0x04: return Item{{Kind::kNumber, 3, 4, true, "kW"}};     // current active demand
      case 0x05: return Item{{Kind::kNumber, 3, 4, true, "kvar"}};   // current reactive demand
      case 0x06: return Item{{Kind::kNumber, 3, 4, true, "kVA"}};    // current apparent demand
      case 0x07: return Item{{Kind::kNumber, 2, 1, true, "C"}};      // meter temperature
      case 0x08: return Item{{Kind::kNumber, 2, 2, false, "V"}};     // clock battery
      case 0x09: return Item{{Kind::kNumber, 2, 2, false, "V"}};     // meter-reading battery
      case 0x0a: return Item{{Kind::kNumber, 4, 0, false, "min"}};   // internal battery time
      default: return std::nullopt;
    }
  }
  if (di0 != 0) return std::nullopt;
  Format f;
  int first_phase = 1;
  switch (di2) {
    case 0x01: f = {Kind::kNumber, 2, 1, false, "V"}; break;       // voltage XXX.X
    case 0x02: f = {Kind::kNumber, 3, 3, true, "A"}; break;        // current XXX.XXX
    case 0x03: f = {Kind::kNumber, 3, 4, true, "kW"}; first_phase = 0; break;    // active power
    case 0x04: f = {Kind::kNumber, 3, 4, true, "kvar"}; first_phase = 0; break;  // reactive power
    case 0x05: f = {Kind::kNumber, 3, 4, true, "kVA"}; first_phase = 0; break;   // apparent power
    case 0x06: f = {Kind::kNumber, 2, 3, true, nullptr}; first_phase = 0; break; // power factor
    case 0x07: f = {Kind::kNumber, 2, 1, false, "deg"}; break;     // phase angle
    case 0x08: f = {Kind::kNumber, 2, 2, false, "%"}; break;       // voltage THD
    case 0x09: f = {Kind::kNumber, 2, 2, false, "%"}; break;       // current THD
    default: return std::nullopt;
  }
  if (di1 == 0xff) return Item{f, 8, first_phase, 4 - first_phase};
  if (di1 < first_phase || di1 > 3) return std::nullopt;
  return Item{f};
}

std::optional<Item> Lookup2007(uint32_t di) {
  const uint8_t di3 = di >> 24, di2 = di >> 16, di1 = di >> 8, di0 = di;
  switch (di3) {
    case 0x00: return Energy(di2, di1, di0);
    case 0x01: return Demand(di2, di1, di0);
    case 0x02: return Instant(di2, di1, di0);
    case 0x04:
      if (di == 0x04000101) return Item{{Kind::kDate, 4, 0, false, "s"}};
      if (di == 0x04000102) return Item{{Kind::kTime, 3, 0, false, "s"}};
      if (di == 0x0400010c) return Item{{Kind::kDateTime, 7, 0, false, "s"}};
      return std::nullopt;
    default: return std::nullopt;
  }
}

// 1997: DI1 DI0. Energy 9xxx (DI1 90/94/98 active, 91/95/99 reactive; current, last month, the
// month before), DI0 = kind (high nibble) and tariff (low nibble, 0 total, F block); demand
// A0xx/A1xx (A4/A5 last month); instantaneous B6xx; date C010 and time C011.
std::optional<Item> Lookup1997(uint16_t di) {
  const uint8_t di1 = di >> 8, di0 = di & 0xff, kind = di0 >> 4, tariff = di0 & 15;
  auto tariffs = [&](Format f) -> std::optional<Item> {
    if (tariff == 0xf) return Item{f, 0, 0, 15};
    return Item{f};
  };
  switch (di1) {
    case 0x90: case 0x94: case 0x98:
      if (kind == 1 || kind == 2) return tariffs({Kind::kNumber, 4, 2, false, "kWh"});
      return std::nullopt;
    case 0x91: case 0x95: case 0x99:
      if (kind >= 1 && kind <= 6) return tariffs({Kind::kNumber, 4, 2, false, "kvarh"});
      return std::nullopt;
    case 0xa0: case 0xa4:
      if (kind == 1 || kind == 2) return tariffs({Kind::kNumber, 3, 4, false, "kW"});
      return std::nullopt;
    case 0xa1: case 0xa5:
      if (kind >= 1 && kind <= 6) return tariffs({Kind::kNumber, 3, 4, false, "kvar"});
      return std::nullopt;
    case 0xb6: {
      Format f;
      int first = 0;
      switch (kind) {
        case 1: f = {Kind::kNumber, 2, 0, false, "V"}; first = 1; break;   // voltage XXX
        case 2: f = {Kind::kNumber, 2, 2, false, "A"}; first = 1; break;   // current XX.XX
        case 3: f = {Kind::kNumber, 3, 4, false, "kW"}; break;             // active power
        case 4: f = {Kind::kNumber, 2, 2, false, "kvar"}; break;           // reactive power
        case 5: f = {Kind::kNumber, 2, 3, false, nullptr}; break;          // power factor
        default: return std::nullopt;
      }
      if (tariff == 0xf) return Item{f, 0, first, 4 - first};
      if (tariff < first || tariff > 3) return std::nullopt;
      return Item{f};
    }
    case 0xc0:
      if (di0 == 0x10) return Item{{Kind::kDate, 4, 0, false, "s"}};
      if (di0 == 0x11) return Item{{Kind::kTime, 3, 0, false, "s"}};
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::string Field(const std::string& channel, const char* part = nullptr) {
  return part ? channel + " " + part : channel;
}

Status NotATime(size_t offset, const std::string& field, FrameBytes b) {
  std::string hex;
  for (uint8_t x : b) hex += bcd::Hex2(x).substr(2);
  return bcd::ByteError(offset, field, hex + " is not a valid date/time");
}

// Reads BCD bytes given least significant first as civil parts; -1 for a non-BCD byte.
int Part(FrameBytes b, size_t i) { return bcd::Byte(b[i]); }

Result<DecodedRegister> DecodeOne(const Format& f, const std::string& channel, FrameBytes v, size_t offset) {
  DecodedRegister r;
  r.channel = channel;
  if (f.unit) r.unit = f.unit;
  switch (f.kind) {
    case Kind::kNumber: {
      MH_ASSIGN_OR_RETURN(int64_t n, bcd::ReadLe(v, offset, channel, f.sign));
      r.value = static_cast<double>(n) / kPow10[f.decimals];
      return r;
    }
    case Kind::kDemand: {
      MH_ASSIGN_OR_RETURN(int64_t n, bcd::ReadLe(v.first(3), offset, channel, f.sign));
      r.value = static_cast<double>(n) / kPow10[f.decimals];
      FrameBytes t = v.subspan(3, 5);  // mm hh DD MM YY
      bool zero = true;
      for (uint8_t b : t) zero = zero && b == 0;
      if (zero) return r;  // no demand recorded yet
      auto ts = bcd::CivilEpoch(2000 + Part(t, 4), Part(t, 3), Part(t, 2), Part(t, 1), Part(t, 0), 0);
      if (!ts || Part(t, 4) < 0) return NotATime(offset + 3, Field(channel, "time"), t);
      r.ts = *ts;
      return r;
    }
    case Kind::kDate: {  // WW DD MM YY
      auto ts = bcd::CivilEpoch(2000 + Part(v, 3), Part(v, 2), Part(v, 1), 0, 0, 0);
      if (!ts || Part(v, 3) < 0 || Part(v, 0) < 0 || Part(v, 0) > 6) return NotATime(offset, channel, v);
      r.value = static_cast<double>(*ts);
      r.ts = *ts;
      return r;
    }
    case Kind::kTime: {  // ss mm hh
      const int ss = Part(v, 0), mm = Part(v, 1), hh = Part(v, 2);
      if (ss < 0 || mm < 0 || hh < 0 || ss > 59 || mm > 59 || hh > 23) return NotATime(offset, channel, v);
      r.value = hh * 3600 + mm * 60 + ss;
      return r;
    }
    case Kind::kDateTime: {  // ss mm hh WW DD MM YY
      auto ts = bcd::CivilEpoch(2000 + Part(v, 6), Part(v, 5), Part(v, 4), Part(v, 2), Part(v, 1), Part(v, 0));
      if (!ts || Part(v, 6) < 0 || Part(v, 3) < 0 || Part(v, 3) > 6) return NotATime(offset, channel, v);
      r.value = static_cast<double>(*ts);
      r.ts = *ts;
      return r;
    }
  }
  return r;
}

Result<std::vector<DecodedRegister>> Unknown(const std::string& channel, FrameBytes values, size_t offset) {
  if (values.empty() || values.size() > 7) {
    return bcd::ByteError(offset, "data", "data identifier " + channel + " is not known to MeterHub and its " +
                                              std::to_string(values.size()) + " bytes are not a BCD number");
  }
  auto n = bcd::ReadLe(values, offset, channel);
  if (!n.ok()) {
    return InvalidArgument(n.status().message() + " (data identifier " + channel + " is not known to MeterHub)");
  }
  DecodedRegister r;
  r.channel = channel;
  r.value = static_cast<double>(*n);
  r.status.push_back("unknown_di");
  return std::vector<DecodedRegister>{std::move(r)};
}

// Splits a known item's values into registers; `channel_of(i)` names value i.
template <typename ChannelOf>
Result<std::vector<DecodedRegister>> Decode(const Item& item, const std::string& di_text, FrameBytes values,
                                            size_t offset, ChannelOf channel_of) {
  const size_t n = item.format.bytes;
  std::vector<DecodedRegister> out;
  if (item.block_shift < 0) {
    if (values.size() != n) {
      return bcd::ByteError(offset, "data", "data identifier " + di_text + " carries " + std::to_string(n) +
                                                " bytes, got " + std::to_string(values.size()));
    }
    MH_ASSIGN_OR_RETURN(DecodedRegister r, DecodeOne(item.format, di_text, values, offset));
    out.push_back(std::move(r));
    return out;
  }
  if (values.empty() || values.size() % n != 0 || values.size() / n > static_cast<size_t>(item.max_count)) {
    return bcd::ByteError(offset, "data", "block " + di_text + " carries 1 to " + std::to_string(item.max_count) +
                                              " values of " + std::to_string(n) + " bytes, got " +
                                              std::to_string(values.size()) + " bytes");
  }
  for (size_t i = 0; i * n < values.size(); ++i) {
    MH_ASSIGN_OR_RETURN(DecodedRegister r,
                        DecodeOne(item.format, channel_of(item.first + static_cast<int>(i)), values.subspan(i * n, n),
                                  offset + i * n));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::string DiText2007(uint32_t di) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", di);
  return buf;
}

std::string DiText1997(uint16_t di) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04X", di);
  return buf;
}

Result<std::vector<DecodedRegister>> DecodeValues2007(uint32_t di, FrameBytes values, size_t offset) {
  const std::string text = DiText2007(di);
  std::optional<Item> item = Lookup2007(di);
  if (!item) return Unknown(text, values, offset);
  if (di >> 24 == 0x00 && ((di >> 16) & 0xff) == 0xff) {
    // 00FFxxxx: every energy type 00..0A for one tariff and settlement; each type its own unit.
    const uint32_t rest = di & 0xffff;
    if (values.empty() || values.size() % 4 != 0 || values.size() / 4 > 11) {
      return bcd::ByteError(offset, "data", "block " + text + " carries 1 to 11 values of 4 bytes, got " +
                                                std::to_string(values.size()) + " bytes");
    }
    std::vector<DecodedRegister> out;
    for (size_t i = 0; i * 4 < values.size(); ++i) {
      const int type = static_cast<int>(i);
      const Format f{Kind::kNumber, 4, 2, SignedType(type), EnergyUnit(type)};
      MH_ASSIGN_OR_RETURN(DecodedRegister r, DecodeOne(f, DiText2007(static_cast<uint32_t>(type) << 16 | rest),
                                                       values.subspan(i * 4, 4), offset + i * 4));
      out.push_back(std::move(r));
    }
    return out;
  }
  return Decode(*item, text, values, offset, [&](int i) {
    const uint32_t mask = ~(0xffu << item->block_shift);
    return DiText2007((di & mask) | static_cast<uint32_t>(i) << item->block_shift);
  });
}

Result<std::vector<DecodedRegister>> DecodeValues1997(uint16_t di, FrameBytes values, size_t offset) {
  const std::string text = DiText1997(di);
  std::optional<Item> item = Lookup1997(di);
  if (!item) return Unknown(text, values, offset);
  return Decode(*item, text, values, offset,
                [&](int i) { return DiText1997(static_cast<uint16_t>((di & 0xfff0) | i)); });
}

}  // namespace mh::codec::dlt645
