#include "codec/water_frame.h"

#include <array>
#include <cmath>

namespace mh::codec {
namespace {

constexpr char kMagic[4] = {'M', 'H', 'W', 'F'};
constexpr size_t kFeatureBytes = 8;
constexpr size_t kMaxDeviceId = 32;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Little-endian writer.
class Writer {
 public:
  void U8(uint8_t v) { s_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { for (int i = 0; i < 2; ++i) U8(static_cast<uint8_t>(v >> (8 * i))); }
  void U32(uint32_t v) { for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i))); }
  void U64(uint64_t v) { for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i))); }
  void Bytes(std::string_view b) { s_.append(b); }
  std::string& str() { return s_; }

 private:
  std::string s_;
};

// Little-endian reader whose every read names the field it is reading.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  Status Need(size_t n, const std::string& field) {
    if (b_.size() - pos_ < n) return InvalidArgument("water frame: truncated in " + field);
    return Status::Ok();
  }
  Result<uint64_t> Uint(size_t n, const std::string& field) {
    MH_RETURN_IF_ERROR(Need(n, field));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(b_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  Result<std::string_view> Bytes(size_t n, const std::string& field) {
    MH_RETURN_IF_ERROR(Need(n, field));
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Run {
  int32_t value;
  uint32_t count;
};

Status ValidateFields(WaterDeviceKind kind, bool relayed, const std::string& feature_code,
                      const std::string& device_id, int64_t start, uint32_t interval_s, uint32_t quantum) {
  if (kind != WaterDeviceKind::kTerminal && kind != WaterDeviceKind::kFlowmeter) {
    return InvalidArgument("water frame: kind " + std::to_string(static_cast<int>(kind)) + " is not 1 (terminal) or 2 (flowmeter)");
  }
  if (relayed && kind != WaterDeviceKind::kFlowmeter) {
    return InvalidArgument("water frame: flags: only a flowmeter frame can be relayed");
  }
  if (feature_code.size() != 2 * kFeatureBytes) {
    return InvalidArgument("water frame: feature_code '" + feature_code + "' is not 16 hex chars");
  }
  for (char c : feature_code) {
    if (HexVal(c) < 0) return InvalidArgument("water frame: feature_code '" + feature_code + "' is not lowercase hex");
  }
  if (device_id.empty() || device_id.size() > kMaxDeviceId) {
    return InvalidArgument("water frame: device_id length " + std::to_string(device_id.size()) + " out of 1..32");
  }
  for (char c : device_id) {
    if (!IsIdChar(c)) return InvalidArgument("water frame: device_id has a character outside [A-Za-z0-9_-]");
  }
  if (start < 0) return InvalidArgument("water frame: start " + std::to_string(start) + " is before 1970");
  if (interval_s < kWaterMinInterval || interval_s > kWaterMaxInterval) {
    return InvalidArgument("water frame: interval_s " + std::to_string(interval_s) + " out of 1..86400");
  }
  if (quantum < 1 || quantum > kWaterMaxQuantum) {
    return InvalidArgument("water frame: quantum " + std::to_string(quantum) + " out of 1..1000000");
  }
  return Status::Ok();
}

}  // namespace

const char* WaterDeviceKindName(WaterDeviceKind kind) {
  switch (kind) {
    case WaterDeviceKind::kTerminal: return "terminal";
    case WaterDeviceKind::kFlowmeter: return "flowmeter";
  }
  return "unknown";
}

std::optional<double> WaterFrame::FlowAt(size_t i) const {
  if (i >= samples.size() || samples[i] == kWaterMissingSample) return std::nullopt;
  return static_cast<double>(samples[i]) * quantum_micro * 1e-6;
}

Status WaterFrame::AppendFlow(double flow_m3h) {
  if (std::isnan(flow_m3h)) {
    samples.push_back(kWaterMissingSample);
    return Status::Ok();
  }
  if (quantum_micro == 0) return InvalidArgument("water frame: quantum is 0");
  const double q = std::round(flow_m3h / (quantum_micro * 1e-6));
  if (!std::isfinite(q) || q <= static_cast<double>(INT32_MIN) || q > static_cast<double>(INT32_MAX)) {
    return InvalidArgument("water frame: flow " + std::to_string(flow_m3h) + " m3/h does not fit the quantum");
  }
  samples.push_back(static_cast<int32_t>(q));
  return Status::Ok();
}

Result<std::string> EncodeWaterFrame(const WaterFrame& f) {
  MH_RETURN_IF_ERROR(ValidateFields(f.kind, f.relayed, f.feature_code, f.device_id, f.start, f.interval_s, f.quantum_micro));
  if (f.samples.empty()) return InvalidArgument("water frame: no samples");
  if (f.samples.size() > kWaterMaxSamples) {
    return InvalidArgument("water frame: " + std::to_string(f.samples.size()) + " samples, more than 44640");
  }
  std::vector<Run> runs;
  for (int32_t v : f.samples) {
    if (!runs.empty() && runs.back().value == v && runs.back().count < 0xFFFF) {
      ++runs.back().count;
    } else {
      runs.push_back({v, 1});
    }
  }
  Writer w;
  w.Bytes(std::string_view(kMagic, 4));
  w.U8(kWaterFrameVersion);
  w.U8(static_cast<uint8_t>(f.kind));
  w.U8(f.relayed ? kWaterFlagRelayed : 0);
  w.U8(0);
  for (size_t i = 0; i < kFeatureBytes; ++i) {
    w.U8(static_cast<uint8_t>(HexVal(f.feature_code[2 * i]) * 16 + HexVal(f.feature_code[2 * i + 1])));
  }
  w.U8(static_cast<uint8_t>(f.device_id.size()));
  w.Bytes(f.device_id);
  w.U64(static_cast<uint64_t>(f.start));
  w.U32(f.interval_s);
  w.U32(f.quantum_micro);
  w.U32(static_cast<uint32_t>(runs.size()));
  for (const Run& r : runs) {
    w.U32(static_cast<uint32_t>(r.value));
    w.U16(static_cast<uint16_t>(r.count));
  }
  w.U32(Crc32(w.str()));
  return std::move(w.str());
}

Result<WaterFrame> DecodeWaterFrame(std::string_view bytes) {
  Reader r(bytes);
  MH_ASSIGN_OR_RETURN(std::string_view magic, r.Bytes(4, "magic"));
  if (magic != std::string_view(kMagic, 4)) return InvalidArgument("water frame: bad magic");
  // Structure first (every length known before reading it), then the CRC, then the values:
  // a damaged frame is reported as such before any of its fields is trusted.
  MH_ASSIGN_OR_RETURN(uint64_t version, r.Uint(1, "version"));
  MH_ASSIGN_OR_RETURN(uint64_t kind, r.Uint(1, "kind"));
  MH_ASSIGN_OR_RETURN(uint64_t flags, r.Uint(1, "flags"));
  MH_ASSIGN_OR_RETURN(uint64_t reserved, r.Uint(1, "reserved"));
  MH_ASSIGN_OR_RETURN(std::string_view feature, r.Bytes(kFeatureBytes, "feature_code"));
  MH_ASSIGN_OR_RETURN(uint64_t id_len, r.Uint(1, "device_id_length"));
  MH_ASSIGN_OR_RETURN(std::string_view device_id, r.Bytes(id_len, "device_id"));
  MH_ASSIGN_OR_RETURN(uint64_t start, r.Uint(8, "start"));
  MH_ASSIGN_OR_RETURN(uint64_t interval, r.Uint(4, "interval_s"));
  MH_ASSIGN_OR_RETURN(uint64_t quantum, r.Uint(4, "quantum"));
  MH_ASSIGN_OR_RETURN(uint64_t run_count, r.Uint(4, "run_count"));
  if (run_count == 0) return InvalidArgument("water frame: run_count is 0");
  if (run_count > kWaterMaxRuns) {
    return InvalidArgument("water frame: run count overflow: run_count " + std::to_string(run_count) + " > 44640");
  }
  std::vector<Run> runs;
  runs.reserve(run_count);
  uint64_t total = 0;
  for (uint64_t i = 0; i < run_count; ++i) {
    const std::string field = "runs[" + std::to_string(i) + "]";
    MH_ASSIGN_OR_RETURN(uint64_t value, r.Uint(4, field + ".value"));
    MH_ASSIGN_OR_RETURN(uint64_t count, r.Uint(2, field + ".count"));
    if (count == 0) return InvalidArgument("water frame: " + field + ".count is 0");
    total += count;
    if (total > kWaterMaxSamples) {
      return InvalidArgument("water frame: run count overflow: more than 44640 samples at " + field);
    }
    runs.push_back({static_cast<int32_t>(static_cast<uint32_t>(value)), static_cast<uint32_t>(count)});
  }
  const size_t body = r.pos();
  MH_ASSIGN_OR_RETURN(uint64_t crc, r.Uint(4, "crc"));
  if (r.pos() != bytes.size()) {
    return InvalidArgument("water frame: " + std::to_string(bytes.size() - r.pos()) + " trailing bytes after crc");
  }
  if (Crc32(bytes.substr(0, body)) != crc) return InvalidArgument("water frame: crc mismatch");

  if (version != kWaterFrameVersion) {
    return InvalidArgument("water frame: version " + std::to_string(version) + " unsupported (want 1)");
  }
  if ((flags & ~uint64_t{kWaterFlagRelayed}) != 0) {
    return InvalidArgument("water frame: flags 0x" + std::to_string(flags) + " has unknown bits");
  }
  if (reserved != 0) return InvalidArgument("water frame: reserved byte is not 0");
  WaterFrame f;
  f.kind = static_cast<WaterDeviceKind>(kind);
  f.relayed = (flags & kWaterFlagRelayed) != 0;
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : feature) {
    f.feature_code.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
    f.feature_code.push_back(kHex[static_cast<uint8_t>(c) & 15]);
  }
  f.device_id = std::string(device_id);
  if (start > static_cast<uint64_t>(INT64_MAX)) return InvalidArgument("water frame: start is before 1970");
  f.start = static_cast<int64_t>(start);
  f.interval_s = static_cast<uint32_t>(interval);
  f.quantum_micro = static_cast<uint32_t>(quantum);
  MH_RETURN_IF_ERROR(ValidateFields(f.kind, f.relayed, f.feature_code, f.device_id, f.start, f.interval_s, f.quantum_micro));
  const uint64_t end = static_cast<uint64_t>(f.start) + total * f.interval_s;
  if (end > (uint64_t{1} << 40)) return InvalidArgument("water frame: start + samples × interval_s is past year 36812");
  f.samples.reserve(total);
  for (const Run& run : runs) f.samples.insert(f.samples.end(), run.count, run.value);
  return f;
}

}  // namespace mh::codec
