#include "codec/dlms/hdlc.h"

#include <array>
#include <cstdio>

namespace mh::codec::dlms {
namespace {

constexpr std::array<uint16_t, 256> MakeCrcTable() {
  std::array<uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    uint16_t r = static_cast<uint16_t>(i);
    for (int j = 0; j < 8; ++j) r = (r & 1) ? static_cast<uint16_t>((r >> 1) ^ 0x8408) : static_cast<uint16_t>(r >> 1);
    t[static_cast<size_t>(i)] = r;
  }
  return t;
}
constexpr std::array<uint16_t, 256> kCrcTable = MakeCrcTable();

std::string Hex16(uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

void Append(Apdu& a, std::span<const uint8_t> in, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    a.bytes.push_back(in[i]);
    a.origin.push_back(static_cast<uint16_t>(i));
  }
}

Status CheckCrc(std::span<const uint8_t> in, size_t from, size_t at, const char* field) {
  const uint16_t want = static_cast<uint16_t>(in[at] | in[at + 1] << 8);
  const uint16_t got = CrcX25(in.subspan(from, at - from));
  if (want == got) return Status::Ok();
  return ByteError(at, field, "expected " + Hex16(got) + ", got " + Hex16(want));
}

// An HDLC address: 1, 2 or 4 bytes, the last one with its low bit set.
Result<size_t> AddressLength(std::span<const uint8_t> in, size_t at, size_t end, const char* field) {
  for (size_t n = 1; n <= 4 && at + n <= end; ++n) {
    if (in[at + n - 1] & 1) {
      if (n == 3) return ByteError(at, field, "3-byte addresses do not exist (1, 2 or 4 bytes)");
      return n;
    }
  }
  return ByteError(at, field, "no address byte with the end bit within 4 bytes");
}

struct HdlcFrame {
  size_t info_from = 0, info_to = 0;  // the information field in the input
  bool segmented = false;
  size_t next = 0;                     // where the next frame's flag or format field is
};

// One frame starting at the opening flag `at`.
Result<HdlcFrame> ReadFrame(std::span<const uint8_t> in, size_t at) {
  const size_t f = at + 1;  // frame format field
  if (f + 2 > in.size()) return ByteError(in.size(), "HDLC frame format", "truncated after the opening flag");
  const uint16_t format = static_cast<uint16_t>(in[f] << 8 | in[f + 1]);
  if ((format >> 12) != 0xA) {
    return ByteError(f, "HDLC frame format", "type " + std::to_string(format >> 12) + " is not 10 (frame format type 3)");
  }
  const size_t length = format & 0x07FF;
  const size_t end = f + length;  // the closing flag
  if (end >= in.size()) {
    return ByteError(f, "HDLC frame length", std::to_string(length) + " bytes announced, " +
                                                 std::to_string(in.size() - f) + " follow the opening flag");
  }
  if (in[end] != 0x7E) return ByteError(end, "HDLC closing flag", "expected 0x7e");
  MH_ASSIGN_OR_RETURN(size_t dst, AddressLength(in, f + 2, end, "HDLC destination address"));
  MH_ASSIGN_OR_RETURN(size_t src, AddressLength(in, f + 2 + dst, end, "HDLC source address"));
  const size_t control = f + 2 + dst + src;
  if (control + 3 > end) return ByteError(control, "HDLC control", "the frame ends before its control field and FCS");
  HdlcFrame frame;
  frame.segmented = (format >> 11) & 1;
  frame.next = end;
  if (control + 3 == end) {  // no information field: only the FCS follows the control field
    MH_RETURN_IF_ERROR(CheckCrc(in, f, control + 1, "FCS"));
    frame.info_from = frame.info_to = control + 1;
    return frame;
  }
  if (control + 5 > end) return ByteError(control + 1, "HDLC HCS", "the frame ends inside its header");
  MH_RETURN_IF_ERROR(CheckCrc(in, f, control + 1, "HCS"));
  MH_RETURN_IF_ERROR(CheckCrc(in, f, end - 2, "FCS"));
  frame.info_from = control + 3;
  frame.info_to = end - 2;
  return frame;
}

Result<Apdu> ReadHdlc(std::span<const uint8_t> in) {
  Apdu out;
  size_t at = 0;
  bool more = true;
  while (more) {
    MH_ASSIGN_OR_RETURN(HdlcFrame frame, ReadFrame(in, at));
    Append(out, in, frame.info_from, frame.info_to);
    ++out.hdlc_frames;
    more = frame.segmented;
    // Frames share a flag ("7E ... 7E ... 7E") or each has its own ("7E ... 7E 7E ... 7E").
    at = frame.next;
    if (at + 1 < in.size() && in[at + 1] == 0x7E) ++at;
    if (at + 1 >= in.size()) {
      if (more) return ByteError(in.size(), "HDLC segmentation", "the last frame has the segmentation bit set: a segment is missing");
      break;
    }
    if (!more) return ByteError(at + 1, "HDLC frame", "bytes after the last segment (its segmentation bit is clear)");
  }
  return out;
}

// The IEC 62056-47 wrapper: version 0x0001, source and destination wPort, APDU length.
Result<Apdu> ReadWrapper(std::span<const uint8_t> in) {
  if (in.size() < 8) return ByteError(in.size(), "wrapper header", "truncated: 8 bytes needed");
  const size_t length = static_cast<size_t>(in[6] << 8 | in[7]);
  if (length != in.size() - 8) {
    return ByteError(6, "wrapper length", std::to_string(length) + " bytes announced, " + std::to_string(in.size() - 8) + " follow");
  }
  Apdu out;
  Append(out, in, 8, in.size());
  return out;
}

// Wired M-Bus long frames carrying a DLMS APDU (IEC 62056-7-6; Austrian and other customer
// interfaces): 68 L L 68, C, A, CI (bit 4: last segment, bits 0..3: sequence number), source and
// destination TSAP, the APDU segment, checksum, 16.
Result<Apdu> ReadMbus(std::span<const uint8_t> in) {
  Apdu out;
  size_t at = 0;
  for (int seq = 0;; ++seq) {
    if (at + 4 > in.size() || in[at] != 0x68 || in[at + 3] != 0x68 || in[at + 1] != in[at + 2]) {
      return ByteError(at, "M-Bus start", "expected 68 L L 68");
    }
    const size_t l = in[at + 1], end = at + 4 + l;  // end: the checksum
    if (end + 2 > in.size()) return ByteError(at + 1, "M-Bus length", std::to_string(l) + " bytes announced, " + std::to_string(in.size() - at - 4) + " follow");
    if (in[end + 1] != 0x16) return ByteError(end + 1, "M-Bus stop", "expected 0x16");
    if (l < 5) return ByteError(at + 1, "M-Bus length", "shorter than C, A, CI and the two TSAPs");
    uint8_t sum = 0;
    for (size_t i = at + 4; i < end; ++i) sum = static_cast<uint8_t>(sum + in[i]);
    if (sum != in[end]) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "expected 0x%02x, got 0x%02x", sum, in[end]);
      return ByteError(end, "M-Bus checksum", buf);
    }
    const uint8_t ci = in[at + 6];
    if (ci > 0x1F) return ByteError(at + 6, "M-Bus CI", "not a DLMS segment (0x00..0x1f)");
    if ((ci & 0x0F) != (seq & 0x0F)) return ByteError(at + 6, "M-Bus CI", "segment " + std::to_string(ci & 0x0F) + " where " + std::to_string(seq & 0x0F) + " was due");
    Append(out, in, at + 9, end);
    at = end + 2;
    if (ci & 0x10) break;
    if (at >= in.size()) return ByteError(in.size(), "M-Bus CI", "the last segment (bit 4 of CI) is missing");
  }
  if (at != in.size()) return ByteError(at, "M-Bus frame", "bytes after the last segment");
  return out;
}

}  // namespace

uint16_t CrcX25(std::span<const uint8_t> data) {
  uint16_t crc = 0xFFFF;
  for (uint8_t b : data) crc = static_cast<uint16_t>((crc >> 8) ^ kCrcTable[(crc ^ b) & 0xFF]);
  return static_cast<uint16_t>(crc ^ 0xFFFF);
}

std::string Hex0x(uint8_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {'0', 'x', kDigits[v >> 4], kDigits[v & 0x0F]};
}

Status ByteError(size_t offset, std::string_view field, std::string_view what) {
  std::string m = "byte " + std::to_string(offset) + " (";
  m.append(field);
  m += "): ";
  m.append(what);
  return InvalidArgument(std::move(m));
}

Result<Apdu> ReadApdu(std::span<const uint8_t> in) {
  if (in.empty()) return ByteError(0, "frame", "empty");
  if (in.size() > 65535) return ByteError(65535, "frame", "longer than 65535 bytes");
  Apdu apdu;
  if (in[0] == 0x7E) {
    MH_ASSIGN_OR_RETURN(apdu, ReadHdlc(in));
  } else if (in.size() >= 4 && in[0] == 0x68 && in[3] == 0x68 && in[1] == in[2]) {
    MH_ASSIGN_OR_RETURN(apdu, ReadMbus(in));
  } else if (in.size() >= 2 && in[0] == 0x00 && in[1] == 0x01) {
    MH_ASSIGN_OR_RETURN(apdu, ReadWrapper(in));
  } else {
    Append(apdu, in, 0, in.size());
  }
  // LLC: destination LSAP 0xE6, source LSAP 0xE6 (command) or 0xE7 (response), quality 0.
  const auto& b = apdu.bytes;
  if (b.size() >= 3 && b[0] == 0xE6 && (b[1] == 0xE6 || b[1] == 0xE7)) {
    if (b[2] != 0x00) return ByteError(apdu.Offset(2), "LLC quality", "expected 0x00");
    apdu.bytes.erase(apdu.bytes.begin(), apdu.bytes.begin() + 3);
    apdu.origin.erase(apdu.origin.begin(), apdu.origin.begin() + 3);
  }
  if (apdu.bytes.empty()) return ByteError(apdu.Offset(0), "APDU", "the frame carries no APDU");
  return apdu;
}

}  // namespace mh::codec::dlms
