#include "codec/cjt188/cjt188.h"

#include <algorithm>
#include <optional>

#include "codec/meter/bcd.h"
#include "codec/meter/sum_frame.h"

namespace mh::codec::cjt188 {
namespace {

using bcd::ByteError;
using bcd::Hex2;

constexpr uint8_t kStart = 0x68;
// Control byte: D7 direction (1 = meter's answer), D6 abnormal answer, D5..D0 the function.
constexpr uint8_t kReply = 0x80, kAbnormal = 0x40, kFunction = 0x3f;

std::string FunctionName(uint8_t fn) {
  switch (fn) {
    case 0x01: return "read";
    case 0x03: return "read_address";
    case 0x04: return "write";
    case 0x09: return "read_key_version";
    case 0x15: return "write_address";
    case 0x16: return "write_sync";
    default: return "function_" + Hex2(fn);
  }
}

bool KnownDi(uint16_t di) {
  return di == kReadData || (di >= 0xd120 && di <= 0xd12b) || (di >= 0x8102 && di <= 0x8106) || di == kReadAddress ||
         (di >= 0xa010 && di <= 0xa019);
}

// DI0 DI1 on the wire as the standard says, or DI1 DI0 as some meters send it.
uint16_t Di(uint8_t first, uint8_t second) {
  const uint16_t standard = static_cast<uint16_t>(second << 8 | first);
  const uint16_t swapped = static_cast<uint16_t>(first << 8 | second);
  return !KnownDi(standard) && KnownDi(swapped) ? swapped : standard;
}

std::string DiText(uint16_t di) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[di >> 12], kHex[(di >> 8) & 15], kHex[(di >> 4) & 15], kHex[di & 15]};
}

// Unit codes (CJ/T 188-2004 table of units): the ASCII unit and the factor its value carries.
struct Unit {
  const char* text;
  double factor;
};
std::optional<Unit> UnitOf(uint8_t code) {
  switch (code) {
    case 0x01: return Unit{"J", 1};
    case 0x02: return Unit{"Wh", 1};
    case 0x05: return Unit{"kWh", 1};
    case 0x08: return Unit{"MWh", 1};
    case 0x0a: return Unit{"MWh", 100};
    case 0x0b: return Unit{"kJ", 1};
    case 0x0e: return Unit{"MJ", 1};
    case 0x11: return Unit{"GJ", 1};
    case 0x13: return Unit{"GJ", 100};
    case 0x14: return Unit{"W", 1};
    case 0x17: return Unit{"kW", 1};
    case 0x1a: return Unit{"MW", 1};
    case 0x29: return Unit{"L", 1};
    case 0x2c: return Unit{"m3", 1};
    case 0x32: return Unit{"L/h", 1};
    case 0x35: return Unit{"m3/h", 1};
    default: return std::nullopt;
  }
}

constexpr double kPow10[] = {1, 10, 100, 1000, 10000};

// Reads the answer's fields in order; `at` is the offset in the input of the next field.
class Reader {
 public:
  Reader(FrameBytes payload, size_t offset, DecodedFrame& out) : p_(payload), at_(offset), out_(out) {}

  // A BCD value followed by its unit code. All-FF: the meter has no such value (flagged).
  Status ValueWithUnit(const std::string& channel, int decimals) {
    FrameBytes v = Take(4);
    const uint8_t code = Take(1)[0];
    if (bcd::AllFf(v)) {
      out_.status.push_back(channel + "_unavailable");
      return Status::Ok();
    }
    MH_ASSIGN_OR_RETURN(int64_t n, bcd::ReadLe(v, at_ - 5, channel));
    DecodedRegister r;
    r.channel = channel;
    if (std::optional<Unit> u = UnitOf(code)) {
      r.value = static_cast<double>(n) * u->factor / kPow10[decimals];
      r.unit = u->text;
    } else {
      r.value = static_cast<double>(n) / kPow10[decimals];
      r.status.push_back("unknown_unit_" + Hex2(code));
    }
    out_.registers.push_back(std::move(r));
    return Status::Ok();
  }

  // A BCD value of `bytes` bytes in a fixed unit.
  Status Value(const std::string& channel, int bytes, int decimals, const char* unit) {
    FrameBytes v = Take(static_cast<size_t>(bytes));
    if (bcd::AllFf(v)) {
      out_.status.push_back(channel + "_unavailable");
      return Status::Ok();
    }
    MH_ASSIGN_OR_RETURN(int64_t n, bcd::ReadLe(v, at_ - v.size(), channel));
    DecodedRegister r;
    r.channel = channel;
    r.value = static_cast<double>(n) / kPow10[decimals];
    if (unit) r.unit = unit;
    out_.registers.push_back(std::move(r));
    return Status::Ok();
  }

  // The real time (ss mm hh DD MM YY YY on the wire): dates the current values before it and is
  // a register of its own. All 00 or all FF: the meter keeps no clock; otherwise an impossible
  // time is flagged, not fatal — the flows are still good.
  void RealTime(size_t dated_from, size_t dated_to) {
    FrameBytes t = Take(7);
    bool zero = true;
    for (uint8_t b : t) zero = zero && b == 0;
    if (zero || bcd::AllFf(t)) return;
    std::optional<int64_t> ts;
    bool all_bcd = true;
    for (uint8_t b : t) all_bcd = all_bcd && bcd::IsBcd(b);
    if (all_bcd) {
      ts = bcd::CivilEpoch(bcd::Byte(t[6]) * 100 + bcd::Byte(t[5]), bcd::Byte(t[4]), bcd::Byte(t[3]), bcd::Byte(t[2]),
                           bcd::Byte(t[1]), bcd::Byte(t[0]));
    }
    if (!ts) {
      out_.status.push_back("invalid_real_time");
      return;
    }
    for (size_t i = dated_from; i < dated_to && i < out_.registers.size(); ++i) out_.registers[i].ts = *ts;
    out_.registers.push_back({"real_time", static_cast<double>(*ts), "s", *ts, {}});
  }

  // ST1: D0-D1 valve (00 open, 01 closed, 11 abnormal), D2 battery low, D3-D7 reserved/vendor;
  // ST2: vendor-defined. Open valve and clear bits give no flag.
  void StatusBytes() {
    FrameBytes st = Take(2);
    AddStatusFlags(st[0], st[1], out_.status);
  }

  static void AddStatusFlags(uint8_t st1, uint8_t st2, std::vector<std::string>& status) {
    static constexpr const char* kValve[4] = {nullptr, "valve_closed", "valve_state_2", "valve_abnormal"};
    if (kValve[st1 & 3]) status.push_back(kValve[st1 & 3]);
    if (st1 & 4) status.push_back("battery_low");
    for (int bit = 3; bit < 8; ++bit) {
      if (st1 & (1 << bit)) status.push_back("st1_bit" + std::to_string(bit));
    }
    for (int bit = 0; bit < 8; ++bit) {
      if (st2 & (1 << bit)) status.push_back("st2_bit" + std::to_string(bit));
    }
  }

 private:
  FrameBytes Take(size_t n) {
    FrameBytes b = p_.subspan(pos_, n);
    pos_ += n;
    at_ += n;
    return b;
  }

  FrameBytes p_;
  size_t pos_ = 0;
  size_t at_;
  DecodedFrame& out_;
};

Status LengthError(const Frame& f, const std::string& what) {
  return ByteError(f.data_offset - 1, "length", what + ", L=" + std::to_string(f.data.size()));
}

// DI 901F. Water, gas (and electricity) meters: current and settlement-date cumulative flow, real
// time, status — 22 bytes with DI and SER. Heat (cooling) meters: settlement-date and current
// heat, heat power, flow rate, cumulative flow, supply/return temperature, working hours, real
// time, status — 46 bytes.
Status ReadData(const Frame& f, DecodedFrame& out) {
  FrameBytes payload = FrameBytes(f.data).subspan(3);
  Reader r(payload, f.data_offset + 3, out);
  if (payload.size() == 19) {
    MH_RETURN_IF_ERROR(r.ValueWithUnit("current_cumulative_flow", 2));
    const size_t current_end = out.registers.size();
    MH_RETURN_IF_ERROR(r.ValueWithUnit("settlement_cumulative_flow", 2));
    // Only the current flow is dated by the real time; the settlement value is as of the
    // settlement day, which the frame does not carry.
    r.RealTime(0, current_end);
    r.StatusBytes();
    return Status::Ok();
  }
  if (payload.size() == 43) {
    const bool cooling = f.meter_type == kCooling;
    const std::string energy = cooling ? "cooling" : "heat";
    MH_RETURN_IF_ERROR(r.ValueWithUnit("settlement_" + energy, 2));
    const size_t current_begin = out.registers.size();
    MH_RETURN_IF_ERROR(r.ValueWithUnit("current_" + energy, 2));
    MH_RETURN_IF_ERROR(r.ValueWithUnit(energy + "_power", 2));
    MH_RETURN_IF_ERROR(r.ValueWithUnit("flow_rate", 4));
    MH_RETURN_IF_ERROR(r.ValueWithUnit("current_cumulative_flow", 2));
    MH_RETURN_IF_ERROR(r.Value("supply_temperature", 3, 2, "C"));
    MH_RETURN_IF_ERROR(r.Value("return_temperature", 3, 2, "C"));
    MH_RETURN_IF_ERROR(r.Value("working_time", 3, 0, "h"));
    r.RealTime(current_begin, out.registers.size());
    r.StatusBytes();
    return Status::Ok();
  }
  return LengthError(f, "a 901F answer carries 22 bytes (water, gas) or 46 (heat)");
}

// An identifier MeterHub does not decode: its values as one unsigned BCD number when they are at
// most 7 BCD bytes (flagged "unknown_di"), else an error naming it.
Status UnknownDi(const Frame& f, uint16_t di, DecodedFrame& out) {
  FrameBytes v = FrameBytes(f.data).subspan(3);
  const std::string channel = "di_" + DiText(di);
  if (v.empty() || v.size() > 7) {
    return ByteError(f.data_offset + 3, "data", "data identifier " + DiText(di) + " is not known to MeterHub and its " +
                                                    std::to_string(v.size()) + " bytes are not a BCD number");
  }
  auto n = bcd::ReadLe(v, f.data_offset + 3, channel);
  if (!n.ok()) return InvalidArgument(n.status().message() + " (data identifier " + DiText(di) + " is not known to MeterHub)");
  out.registers.push_back({channel, static_cast<double>(*n), std::nullopt, std::nullopt, {"unknown_di"}});
  return Status::Ok();
}

Status ReadAnswer(const Frame& f, uint16_t di, DecodedFrame& out) {
  if (di == kReadData) return ReadData(f, out);
  FrameBytes payload = FrameBytes(f.data).subspan(3);
  Reader r(payload, f.data_offset + 3, out);
  if (di >= 0xd120 && di <= 0xd12b) {  // settlement-date cumulative flow of month -1 .. -12
    if (payload.size() != 5) return LengthError(f, "a " + DiText(di) + " answer carries 8 bytes");
    return r.ValueWithUnit("settlement_cumulative_flow_month" + std::to_string(di - 0xd11f), 2);
  }
  if (di == 0x8103 || di == 0x8104) {  // settlement day, reading day
    if (payload.size() != 1) return LengthError(f, "a " + DiText(di) + " answer carries 4 bytes");
    return r.Value(di == 0x8103 ? "settlement_day" : "reading_day", 1, 0, nullptr);
  }
  return UnknownDi(f, di, out);
}

}  // namespace

std::string MeterTypeName(uint8_t t) {
  switch (t) {
    case kColdWater: return "cold_water";
    case kHotWater: return "hot_water";
    case kDrinkingWater: return "drinking_water";
    case kReclaimedWater: return "reclaimed_water";
    case kHeat: return "heat";
    case kCooling: return "cooling";
    case kGas: return "gas";
    case kElectricity: return "electricity";
    case kAnyType: return "any";
    default: return "type_" + Hex2(t);
  }
}

Result<Frame> ParseFrame(FrameBytes in) {
  MH_ASSIGN_OR_RETURN(size_t p, sum_frame::CheckEnvelope(in, 11));  // 68 T A0..A6 C L
  const size_t len = in[p + 10];
  Frame f;
  f.meter_type = in[p + 1];
  for (size_t i = 0; i < 7; ++i) f.address_wire[i] = in[p + 2 + i];
  MH_ASSIGN_OR_RETURN(f.address, sum_frame::AddressText(in.subspan(p + 2, 7), p + 2, "address"));
  f.control = in[p + 9];
  f.data_offset = p + 11;
  f.data.assign(in.begin() + static_cast<long>(p + 11), in.begin() + static_cast<long>(p + 11 + len));
  return f;
}

Result<DecodedFrame> Decode(FrameBytes bytes, const DecodeKeys& /*keys*/) {
  MH_ASSIGN_OR_RETURN(Frame f, ParseFrame(bytes));
  DecodedFrame out;
  out.protocol = "cjt188";
  out.address = f.address;
  const uint8_t fn = f.control & kFunction;
  const bool reply = (f.control & kReply) != 0;
  if (reply && (f.control & kAbnormal)) {  // SER ST1 ST2
    if (f.data.size() != 3) return LengthError(f, "an abnormal answer carries SER and the 2 status bytes");
    out.status.push_back("abnormal_response");
    Reader::AddStatusFlags(f.data[1], f.data[2], out.status);
    return out;
  }
  if (!reply && (f.control & kAbnormal)) {
    return ByteError(f.data_offset - 2, "control", Hex2(f.control) + ": a request with the abnormal bit set");
  }
  if (f.data.size() < 3) return LengthError(f, "a frame carries DI0 DI1 SER before its values");
  const uint16_t di = Di(f.data[0], f.data[1]);
  if (reply && fn == 0x01) {
    Status s = ReadAnswer(f, di, out);
    if (!s.ok()) return s;
    return out;
  }
  out.status.push_back(FunctionName(fn) + (reply ? "_response" : "_request"));
  out.status.push_back("di:" + DiText(di));
  if (!reply) out.status.push_back("ser:" + std::to_string(f.data[2]));
  return out;
}

Result<std::array<uint8_t, 7>> AddressBytes(std::string_view address) {
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> wire, sum_frame::AddressWire(address, 14));
  std::array<uint8_t, 7> out{};
  std::copy(wire.begin(), wire.end(), out.begin());
  return out;
}

std::vector<uint8_t> EncodeFrame(uint8_t meter_type, const std::array<uint8_t, 7>& address_wire, uint8_t control,
                                 FrameBytes data, int wakeup) {
  std::vector<uint8_t> body;
  body.reserve(11 + data.size());
  body.push_back(kStart);
  body.push_back(meter_type);
  for (uint8_t b : address_wire) body.push_back(b);
  body.push_back(control);
  body.push_back(static_cast<uint8_t>(data.size()));
  body.insert(body.end(), data.begin(), data.end());
  return sum_frame::Seal(std::move(body), wakeup);
}

Result<std::vector<uint8_t>> EncodeReadRequest(const ReadRequest& request) {
  MH_ASSIGN_OR_RETURN(auto wire, AddressBytes(request.address));
  const uint8_t hi = request.di >> 8, lo = request.di & 0xff;
  std::vector<uint8_t> data = request.di_high_byte_first ? std::vector<uint8_t>{hi, lo} : std::vector<uint8_t>{lo, hi};
  data.push_back(request.ser);
  return EncodeFrame(request.meter_type, wire, request.di == kReadAddress ? 0x03 : 0x01, data, request.wakeup);
}

}  // namespace mh::codec::cjt188
