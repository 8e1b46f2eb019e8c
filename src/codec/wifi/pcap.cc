#include "codec/wifi/pcap.h"

#include <fstream>
#include <iterator>

namespace mh::codec::wifi {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMagicPcapng = 0x0a0d0d0a;  // section header block type
constexpr size_t kFileHeaderLength = 24;
constexpr size_t kRecordHeaderLength = 16;
constexpr uint32_t kMaxRecordLength = 256u << 20;  // guards against absurd lengths

void PutLe32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutLe16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

uint32_t Le32(std::span<const uint8_t> b, size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
}
uint32_t Be32(std::span<const uint8_t> b, size_t at) {
  return (static_cast<uint32_t>(b[at]) << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
uint16_t Le16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}

// Where the 802.11 frame starts inside a record, and what the link header told us.
struct LinkInfo {
  size_t offset = 0;
  bool fcs = false;
  std::optional<int> rssi_dbm;
};

// Radiotap (https://www.radiotap.org): version 0, pad, it_len (LE16), it_present words (LE32,
// bit 31 = another word follows). Fields of the first word follow the last present word, each
// aligned to its natural size from the start of the header. We read Flags (bit 1: 0x10 = FCS
// at end) and dBm antenna signal (bit 5); earlier fields are skipped by size and alignment.
Result<LinkInfo> ParseRadiotap(std::span<const uint8_t> b) {
  if (b.size() < 8) return InvalidArgument("radiotap header truncated: " + std::to_string(b.size()) + " bytes");
  if (b[0] != 0) return InvalidArgument("radiotap version " + std::to_string(b[0]) + ", expected 0");
  const size_t len = Le16(b, 2);
  if (len < 8 || len > b.size()) {
    return InvalidArgument("radiotap length " + std::to_string(len) + " outside 8.." +
                           std::to_string(b.size()));
  }
  std::span<const uint8_t> h = b.first(len);
  const uint32_t present = Le32(h, 4);
  size_t at = 8;
  for (uint32_t word = present; word & 0x80000000u; at += 4) {
    if (at + 4 > len) return InvalidArgument("radiotap present bitmaps run past it_len " + std::to_string(len));
    word = Le32(h, at);
  }
  LinkInfo info;
  info.offset = len;
  // (alignment, size) of fields 0..5: TSFT, Flags, Rate, Channel, FHSS, dBm antenna signal.
  constexpr size_t kAlign[6] = {8, 1, 1, 2, 2, 1};
  constexpr size_t kSize[6] = {8, 1, 1, 4, 2, 1};
  for (int bit = 0; bit < 6; ++bit) {
    if (!(present & (1u << bit))) continue;
    at = (at + kAlign[bit] - 1) / kAlign[bit] * kAlign[bit];
    if (at + kSize[bit] > len) return info;  // fields overrun the header: keep what we have
    if (bit == 1) info.fcs = (h[at] & 0x10) != 0;
    if (bit == 5) info.rssi_dbm = static_cast<int8_t>(h[at]);
    at += kSize[bit];
  }
  return info;
}

// Linktype 119 carries either an AVS header (first BE32 0x80211001/2, header length BE32 at
// offset 4; ssi_type 1 = dBm at offset 36, ssi_signal at 40) or a Prism header (msgcode 0x44 in
// either byte order, 144 bytes: msgcode, msglen, devname[16], 10 items of 12 bytes).
Result<LinkInfo> ParsePrismOrAvs(std::span<const uint8_t> b) {
  if (b.size() < 8) return InvalidArgument("prism/AVS header truncated: " + std::to_string(b.size()) + " bytes");
  LinkInfo info;
  const uint32_t first = Be32(b, 0);
  if ((first & 0xfffffff0u) == 0x80211000u) {
    const uint32_t len = Be32(b, 4);
    if (len < 8 || len > b.size()) {
      return InvalidArgument("AVS header length " + std::to_string(len) + " outside 8.." +
                             std::to_string(b.size()));
    }
    if (len >= 44 && Be32(b, 36) == 1) info.rssi_dbm = static_cast<int32_t>(Be32(b, 40));
    info.offset = len;
    return info;
  }
  if (Le32(b, 0) == 0x44 || first == 0x44) {
    constexpr size_t kPrismLength = 144;
    if (b.size() < kPrismLength) {
      return InvalidArgument("prism header truncated: " + std::to_string(b.size()) + " of 144 bytes");
    }
    info.offset = kPrismLength;
    return info;
  }
  return InvalidArgument("linktype 119 record starts with neither an AVS nor a prism (0x44) header");
}

bool FcsMatches(std::span<const uint8_t> f) {
  if (f.size() < kBeaconHeaderLength + 4) return false;
  return Crc32(f.first(f.size() - 4)) == Le32(f, f.size() - 4);
}

}  // namespace

std::vector<uint8_t> WritePcap(std::span<const PcapFrame> frames) {
  std::vector<uint8_t> out;
  PutLe32(out, kMagicMicro);
  PutLe16(out, 2);  // version 2.4
  PutLe16(out, 4);
  PutLe32(out, 0);  // thiszone: UTC
  PutLe32(out, 0);  // sigfigs
  PutLe32(out, kPcapSnaplen);
  PutLe32(out, kLinkTypeIeee80211);
  for (const PcapFrame& f : frames) {
    int64_t sec = f.timestamp_us / 1000000;
    int64_t usec = f.timestamp_us % 1000000;
    if (usec < 0) { usec += 1000000; --sec; }
    const uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(f.frame.size(), kPcapSnaplen));
    PutLe32(out, static_cast<uint32_t>(sec));
    PutLe32(out, static_cast<uint32_t>(usec));
    PutLe32(out, caplen);
    PutLe32(out, static_cast<uint32_t>(f.frame.size()));
    out.insert(out.end(), f.frame.begin(), f.frame.begin() + caplen);
  }
  return out;
}

Status WritePcapFile(const std::string& path, std::span<const PcapFrame> frames) {
  std::vector<uint8_t> bytes = WritePcap(frames);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("pcap: cannot open " + path + " for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Unavailable("pcap: write to " + path + " failed");
  return Status::Ok();
}

Result<PcapCapture> ReadPcap(std::span<const uint8_t> b) {
  if (b.size() < 4) return InvalidArgument("pcap: file is " + std::to_string(b.size()) + " bytes, too short for a magic number");
  const uint32_t magic = Le32(b, 0);
  PcapCapture cap;
  if (magic == kMagicPcapng) return InvalidArgument("pcap: this is a pcapng file, only classic pcap is supported");
  if (magic == kMagicMicro || magic == kMagicNano) {
    cap.nanosecond = magic == kMagicNano;
  } else if (Be32(b, 0) == kMagicMicro || Be32(b, 0) == kMagicNano) {
    cap.swapped = true;
    cap.nanosecond = Be32(b, 0) == kMagicNano;
  } else {
    return InvalidArgument("pcap: unknown magic number 0x" + [&] {
      char buf[9];
      snprintf(buf, sizeof buf, "%08x", magic);
      return std::string(buf);
    }());
  }
  if (b.size() < kFileHeaderLength) return InvalidArgument("pcap: file header truncated at " + std::to_string(b.size()) + " of 24 bytes");
  auto u32 = [&](size_t at) { return cap.swapped ? Be32(b, at) : Le32(b, at); };
  const uint32_t version = u32(4);  // major in the first 16 bits as written
  const uint16_t major = static_cast<uint16_t>(cap.swapped ? (version >> 16) : (version & 0xffff));
  if (major != 2) return InvalidArgument("pcap: version major " + std::to_string(major) + " at offset 4, expected 2");
  const uint32_t network = u32(20);
  cap.linktype = network & 0xffff;
  size_t fcs_from_header = 0;
  if (network & 0x04000000u) fcs_from_header = ((network >> 28) & 0xf) * 2;
  if (cap.linktype != kLinkTypeIeee80211 && cap.linktype != kLinkTypeRadiotap &&
      cap.linktype != kLinkTypePrism) {
    return InvalidArgument("pcap: link type " + std::to_string(cap.linktype) +
                           " at offset 20 is not 105 (802.11), 127 (radiotap) or 119 (prism)");
  }
  size_t at = kFileHeaderLength;
  while (at < b.size()) {
    const size_t index = cap.records.size();
    if (b.size() - at < kRecordHeaderLength) {
      cap.truncated = "record " + std::to_string(index) + " header at offset " + std::to_string(at) +
                      ": " + std::to_string(b.size() - at) + " of 16 bytes";
      break;
    }
    PcapRecord r;
    r.index = index;
    r.ts_sec = u32(at);
    const uint32_t frac = u32(at + 4);
    r.ts_nsec = cap.nanosecond ? frac : frac * 1000u;
    const uint32_t incl = u32(at + 8);
    r.orig_len = u32(at + 12);
    at += kRecordHeaderLength;
    if (incl > kMaxRecordLength || incl > b.size() - at) {
      cap.truncated = "record " + std::to_string(index) + " at offset " + std::to_string(at) +
                      ": captured length " + std::to_string(incl) + ", " +
                      std::to_string(b.size() - at) + " bytes left";
      break;
    }
    std::span<const uint8_t> data = b.subspan(at, incl);
    at += incl;
    Result<LinkInfo> link = LinkInfo{};
    if (cap.linktype == kLinkTypeRadiotap) link = ParseRadiotap(data);
    if (cap.linktype == kLinkTypePrism) link = ParsePrismOrAvs(data);
    if (!link.ok()) {
      r.issue = link.status().message();
    } else {
      std::span<const uint8_t> frame = data.subspan(link->offset);
      r.rssi_dbm = link->rssi_dbm;
      size_t fcs = link->fcs ? 4 : fcs_from_header;
      if (fcs == 0 && FcsMatches(frame)) fcs = 4;
      if (frame.size() >= fcs) frame = frame.first(frame.size() - fcs);
      r.frame.assign(frame.begin(), frame.end());
    }
    cap.records.push_back(std::move(r));
  }
  return cap;
}

Result<PcapCapture> ReadPcapFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("pcap: cannot open " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<PcapCapture> cap = ReadPcap(bytes);
  if (!cap.ok()) return cap.status().WithContext(path);
  return cap;
}

std::vector<BeaconSighting> FindBeacons(const PcapCapture& capture, size_t* malformed) {
  std::vector<BeaconSighting> out;
  if (malformed) *malformed = 0;
  for (const PcapRecord& r : capture.records) {
    if (r.frame.empty() || r.frame[0] != 0x80) continue;
    Result<ParsedBeacon> beacon = ParseBeacon(r.frame);
    if (!beacon.ok()) {
      if (malformed) ++*malformed;
      continue;
    }
    out.push_back(BeaconSighting{r.index, r.ts_sec, r.ts_nsec, r.rssi_dbm, std::move(beacon).value()});
  }
  return out;
}

}  // namespace mh::codec::wifi
