#include "codec/dlt645/dlt645.h"

#include <algorithm>
#include <optional>

#include "codec/dlt645/data_ids.h"
#include "codec/meter/bcd.h"
#include "codec/meter/sum_frame.h"

namespace mh::codec::dlt645 {
namespace {

using bcd::ByteError;
using bcd::Hex2;
using sum_frame::AddressText;

constexpr uint8_t kStart = 0x68, kScramble = 0x33;

// Control byte: D7 direction (1 = meter's answer), D6 abnormal answer, D5 follow-up frames,
// D4..D0 the function.
constexpr uint8_t kReply = 0x80, kAbnormal = 0x40, kMore = 0x20, kFunction = 0x1f;

// The function codes of both editions (2007: 0x08 and 0x11..0x1D, 0x03 security; 1997: 0x01..0x10).
std::string FunctionName(uint8_t fn) {
  switch (fn) {
    case 0x01: case 0x11: return "read";
    case 0x02: case 0x12: return "read_follow_up";
    case 0x03: return "security_authentication";
    case 0x04: case 0x14: return "write";
    case 0x08: return "broadcast_time_sync";
    case 0x0a: case 0x15: return "write_address";
    case 0x0c: case 0x17: return "change_baud_rate";
    case 0x0f: case 0x18: return "change_password";
    case 0x10: case 0x19: return "clear_demand";
    case 0x13: return "read_address";
    case 0x16: return "freeze";
    case 0x1a: return "clear_meter";
    case 0x1b: return "clear_events";
    case 0x1c: return "relay_control";
    case 0x1d: return "output_control";
    default: return "function_" + Hex2(fn);
  }
}

bool Is1997Function(uint8_t fn) {
  return fn == 0x01 || fn == 0x02 || fn == 0x04 || fn == 0x0a || fn == 0x0c || fn == 0x0f || fn == 0x10;
}

// The error byte of an abnormal answer, one flag per bit.
void ErrorFlags(uint8_t err, bool v1997, std::vector<std::string>& status) {
  static constexpr const char* k2007[8] = {"other_error",         "no_requested_data",   "unauthorized",
                                           "baud_rate_unchangeable", "year_zones_exceeded", "day_periods_exceeded",
                                           "tariffs_exceeded",    "error_bit7"};
  static constexpr const char* k1997[8] = {"illegal_data",        "bad_data_identifier", "unauthorized",
                                           "error_bit3",          "year_zones_exceeded", "day_periods_exceeded",
                                           "tariffs_exceeded",    "error_bit7"};
  for (int bit = 0; bit < 8; ++bit) {
    if (err & (1 << bit)) status.push_back((v1997 ? k1997 : k2007)[bit]);
  }
}

uint32_t Le(FrameBytes b) {
  uint32_t v = 0;
  for (size_t i = b.size(); i-- > 0;) v = v << 8 | b[i];
  return v;
}

std::string DiText(FrameBytes di) {
  return di.size() == 2 ? DiText1997(static_cast<uint16_t>(Le(di))) : DiText2007(Le(di));
}

Status LengthError(const Frame& f, const std::string& what) {
  return ByteError(f.data_offset - 1, "length", what + ", L=" + std::to_string(f.data.size()));
}

// ss mm hh DD MM YY: the broadcast time of a 0x08 frame.
std::optional<int64_t> SyncTime(FrameBytes t) {
  for (uint8_t b : t) {
    if (!bcd::IsBcd(b)) return std::nullopt;
  }
  return bcd::CivilEpoch(2000 + bcd::Byte(t[5]), bcd::Byte(t[4]), bcd::Byte(t[3]), bcd::Byte(t[2]), bcd::Byte(t[1]),
                         bcd::Byte(t[0]));
}

Status Request(const Frame& f, DecodedFrame& out) {
  const uint8_t fn = f.control & kFunction;
  const FrameBytes data(f.data);
  const size_t n = data.size();
  std::vector<std::string>& status = out.status;
  status.push_back(FunctionName(fn) + "_request");
  switch (fn) {
    case 0x11: case 0x01:  // read: 2007 DI (+N blocks, +time for records); 1997 DI
      if (n == 2 || (fn == 0x11 && (n == 4 || n == 5 || n == 10))) {
        status.push_back("di:" + DiText(data.first(n == 2 ? 2 : 4)));
        return Status::Ok();
      }
      return LengthError(f, "a read request carries a 2- or 4-byte data identifier (2007: +1 or +6 bytes)");
    case 0x12: case 0x02:  // follow-up read: 2007 DI + SEQ; 1997 DI
      if (n == 2) {
        status.push_back("di:" + DiText(data));
        return Status::Ok();
      }
      if (n == 5 && fn == 0x12) {
        status.push_back("di:" + DiText(data.first(4)));
        status.push_back("seq:" + std::to_string(data[4]));
        return Status::Ok();
      }
      return LengthError(f, "a follow-up read request carries the data identifier (2007: + frame number)");
    case 0x13:
      if (n != 0) return LengthError(f, "a read-address request carries no data");
      return Status::Ok();
    case 0x15: case 0x0a: {
      if (n != 6) return LengthError(f, "a write-address request carries the 6-byte new address");
      MH_ASSIGN_OR_RETURN(std::string addr, AddressText(data, f.data_offset, "new address"));
      status.push_back("new_address:" + addr);
      return Status::Ok();
    }
    case 0x08: {
      if (n != 6) return LengthError(f, "a broadcast time sync carries ssmmhhDDMMYY (6 bytes)");
      std::optional<int64_t> t = SyncTime(data);
      if (!t) {
        status.push_back("invalid_time");
        return Status::Ok();
      }
      out.registers.push_back({"0400010C", static_cast<double>(*t), "s", *t, {}});
      return Status::Ok();
    }
    default:  // write, freeze, clear, ...: named, data not interpreted
      return Status::Ok();
  }
}

Status Answer(const Frame& f, DecodedFrame& out) {
  const uint8_t fn = f.control & kFunction;
  const FrameBytes data(f.data);
  const size_t n = data.size();
  if (f.control & kAbnormal) {
    out.status.push_back("abnormal_response");
    if (n < 1) return LengthError(f, "an abnormal answer carries its error byte");
    if (fn == 0x03) {  // 2007 security authentication: a 2-byte SERR
      std::string serr;
      for (size_t i = n; i-- > 0;) serr += Hex2(data[i]).substr(2);
      out.status.push_back("security_error:" + serr);
      return Status::Ok();
    }
    if (n != 1) return LengthError(f, "an abnormal answer carries one error byte");
    ErrorFlags(data[0], Is1997Function(fn), out.status);
    return Status::Ok();
  }
  const bool more = (f.control & kMore) != 0;
  switch (fn) {
    case 0x11: case 0x12: case 0x01: case 0x02: {
      const bool v2007 = fn >= 0x11;
      const size_t di_len = v2007 ? 4 : 2;
      const bool seq = fn == 0x12;  // 2007 follow-up answers end with their frame number
      if (n < di_len + (seq ? 1 : 0)) {
        return LengthError(f, std::string("a read answer carries the ") + (v2007 ? "4" : "2") + "-byte data identifier");
      }
      FrameBytes values = data.subspan(di_len, n - di_len - (seq ? 1 : 0));
      auto regs = v2007 ? DecodeValues2007(Le(data.first(4)), values, f.data_offset + 4)
                        : DecodeValues1997(static_cast<uint16_t>(Le(data.first(2))), values, f.data_offset + 2);
      if (!regs.ok()) return regs.status();
      out.registers = std::move(*regs);
      if (fn == 0x12) out.status.push_back("follow_up_seq:" + std::to_string(data[n - 1]));
      if (fn == 0x02) out.status.push_back("follow_up");
      if (more) out.status.push_back("more_frames_follow");
      return Status::Ok();
    }
    case 0x13: {
      if (n != 6) return LengthError(f, "a read-address answer carries the 6-byte address");
      MH_ASSIGN_OR_RETURN(std::string addr, AddressText(data, f.data_offset, "address"));
      out.address = addr;
      out.status.push_back("read_address_response");
      return Status::Ok();
    }
    default:
      out.status.push_back(FunctionName(fn) + "_response");
      if (more) out.status.push_back("more_frames_follow");
      return Status::Ok();
  }
}

Result<uint32_t> ParseDi(std::string_view di_hex, size_t digits) {
  if (di_hex.size() != digits) {
    return InvalidArgument("data identifier '" + std::string(di_hex) + "': " + std::to_string(digits) +
                           " hex digits expected");
  }
  uint32_t v = 0;
  for (char c : di_hex) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return InvalidArgument("data identifier '" + std::string(di_hex) + "' is not hex");
    v = v << 4 | static_cast<uint32_t>(d);
  }
  return v;
}

void PutLe(std::vector<uint8_t>& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

Result<Frame> ParseFrame(FrameBytes in) {
  MH_ASSIGN_OR_RETURN(size_t p, sum_frame::CheckEnvelope(in, 10, 7));  // 68 A0..A5 68 C L
  const size_t len = in[p + 9];
  Frame f;
  for (size_t i = 0; i < 6; ++i) f.address_wire[i] = in[p + 1 + i];
  MH_ASSIGN_OR_RETURN(f.address, AddressText(in.subspan(p + 1, 6), p + 1, "address"));
  f.control = in[p + 8];
  f.data_offset = p + 10;
  f.data.reserve(len);
  for (size_t i = 0; i < len; ++i) f.data.push_back(static_cast<uint8_t>(in[p + 10 + i] - kScramble));
  return f;
}

Result<DecodedFrame> Decode(FrameBytes bytes, const DecodeKeys& /*keys*/) {
  MH_ASSIGN_OR_RETURN(Frame f, ParseFrame(bytes));
  DecodedFrame out;
  out.protocol = "dlt645";
  out.address = f.address;
  const bool reply = (f.control & kReply) != 0;
  if (!reply && (f.control & (kAbnormal | kMore))) {
    return ByteError(f.data_offset - 2, "control", Hex2(f.control) + ": a request with the abnormal or follow-up bit set");
  }
  Status s = reply ? Answer(f, out) : Request(f, out);
  if (!s.ok()) return s;
  return out;
}

Result<std::vector<DecodedRegister>> DecodeReadValues(std::string_view di_hex, FrameBytes values) {
  if (di_hex.size() == 4) {
    MH_ASSIGN_OR_RETURN(uint32_t di, ParseDi(di_hex, 4));
    return DecodeValues1997(static_cast<uint16_t>(di), values, 0);
  }
  MH_ASSIGN_OR_RETURN(uint32_t di, ParseDi(di_hex, 8));
  return DecodeValues2007(di, values, 0);
}

Result<std::array<uint8_t, 6>> AddressBytes(std::string_view address) {
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> wire, sum_frame::AddressWire(address, 12));
  std::array<uint8_t, 6> out{};
  std::copy(wire.begin(), wire.end(), out.begin());
  return out;
}

std::vector<uint8_t> EncodeFrame(const std::array<uint8_t, 6>& address_wire, uint8_t control, FrameBytes data,
                                 int wakeup) {
  std::vector<uint8_t> body;
  body.reserve(10 + data.size());
  body.push_back(kStart);
  for (uint8_t b : address_wire) body.push_back(b);
  body.push_back(kStart);
  body.push_back(control);
  body.push_back(static_cast<uint8_t>(data.size()));
  for (uint8_t b : data) body.push_back(static_cast<uint8_t>(b + kScramble));
  return sum_frame::Seal(std::move(body), wakeup);
}

Result<std::vector<uint8_t>> EncodeReadRequest(std::string_view address, std::string_view di_hex, Version version,
                                               int wakeup) {
  MH_ASSIGN_OR_RETURN(auto wire, AddressBytes(address));
  const bool v2007 = version == Version::k2007;
  MH_ASSIGN_OR_RETURN(uint32_t di, ParseDi(di_hex, v2007 ? 8 : 4));
  std::vector<uint8_t> data;
  PutLe(data, di, v2007 ? 4 : 2);
  return EncodeFrame(wire, v2007 ? 0x11 : 0x01, data, wakeup);
}

Result<std::vector<uint8_t>> EncodeFollowUpReadRequest(std::string_view address, std::string_view di_hex, uint8_t seq,
                                                       Version version, int wakeup) {
  MH_ASSIGN_OR_RETURN(auto wire, AddressBytes(address));
  const bool v2007 = version == Version::k2007;
  MH_ASSIGN_OR_RETURN(uint32_t di, ParseDi(di_hex, v2007 ? 8 : 4));
  std::vector<uint8_t> data;
  PutLe(data, di, v2007 ? 4 : 2);
  if (v2007) data.push_back(seq);
  return EncodeFrame(wire, v2007 ? 0x12 : 0x02, data, wakeup);
}

}  // namespace mh::codec::dlt645
