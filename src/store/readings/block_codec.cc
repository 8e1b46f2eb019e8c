#include "store/readings/block_codec.h"

#include <cstring>

namespace mh::store::readings {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutDouble(std::string& out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
}

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  Status Varint(uint64_t* v, const char* field) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return Error(field, "ends inside a number");
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return Status::Ok();
      }
    }
    return Error(field, "number longer than 10 bytes");
  }
  Status Double(double* d, const char* field) {
    if (data_.size() - pos_ < 8) return Error(field, "ends inside a number");
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 8;
    std::memcpy(d, &bits, sizeof bits);
    return Status::Ok();
  }
  Status Byte(uint8_t* b, const char* field) {
    if (pos_ >= data_.size()) return Error(field, "ends early");
    *b = static_cast<uint8_t>(data_[pos_++]);
    return Status::Ok();
  }
  Status Error(const char* field, const char* what) const {
    return Internal("reading block: byte " + std::to_string(pos_) + " (" + field + "): " + what);
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeBlock(std::span<const Entry> entries) {
  std::string out;
  out.reserve(2 + entries.size() * 22);
  out.push_back(static_cast<char>(kBlockFormat));
  PutVarint(out, entries.size());
  int64_t previous = 0;
  for (const Entry& e : entries) {
    PutVarint(out, ZigZag(e.ts - previous));
    previous = e.ts;
    PutDouble(out, e.value);
    PutDouble(out, e.consumption);
    PutVarint(out, e.source);
    PutVarint(out, e.quality);
    PutVarint(out, e.version);
    out.push_back(static_cast<char>(e.flags));
  }
  return out;
}

Status DecodeBlock(std::string_view data, std::vector<Entry>* out) {
  Reader r(data);
  uint8_t format = 0;
  MH_RETURN_IF_ERROR(r.Byte(&format, "format"));
  if (format != kBlockFormat) return r.Error("format", "unknown block format");
  uint64_t n = 0;
  MH_RETURN_IF_ERROR(r.Varint(&n, "count"));
  if (n > 100000) return r.Error("count", "implausible entry count");
  int64_t previous = 0;
  out->reserve(out->size() + n);
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    uint64_t delta = 0, source = 0, quality = 0, version = 0;
    MH_RETURN_IF_ERROR(r.Varint(&delta, "ts"));
    e.ts = previous + UnZigZag(delta);
    previous = e.ts;
    MH_RETURN_IF_ERROR(r.Double(&e.value, "value"));
    MH_RETURN_IF_ERROR(r.Double(&e.consumption, "consumption"));
    MH_RETURN_IF_ERROR(r.Varint(&source, "source"));
    MH_RETURN_IF_ERROR(r.Varint(&quality, "quality"));
    MH_RETURN_IF_ERROR(r.Varint(&version, "version"));
    MH_RETURN_IF_ERROR(r.Byte(&e.flags, "flags"));
    e.source = static_cast<uint32_t>(source);
    e.quality = static_cast<uint32_t>(quality);
    e.version = static_cast<uint32_t>(version);
    out->push_back(e);
  }
  if (!r.done()) return r.Error("end", "trailing bytes");
  return Status::Ok();
}

}  // namespace mh::store::readings
