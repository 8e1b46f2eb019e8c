#include "codec/wmbus/records.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <map>

#include "codec/wmbus/link_layer.h"
#include "codec/wmbus/vif.h"
#include "core/time.h"

namespace mh::codec::wmbus {
namespace {

constexpr int kMaxExtensions = 10;  // EN 13757-3: at most 10 DIFEs and 10 VIFEs

std::optional<int64_t> Epoch(int year, int month, int day, int hour, int minute, int second) {
  if (year < 0 || hour > 23 || second > 59 || !IsValidCivilTime(year, month, day, hour, minute, second)) return std::nullopt;
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
         minute * 60 + second;
}

// Years 0..99 are 2000..2099; the 7-bit field's 100..127 are not years (127: "not set").
int YearOf(uint8_t day_byte, uint8_t month_byte) {
  const int y = ((day_byte & 0xE0) >> 5) | ((month_byte & 0xF0) >> 1);
  return y <= 99 ? 2000 + y : -1;
}

// The data field of a DIF (EN 13757-3 table 4): its length in bytes, -1 for variable length.
int DataLength(int field) {
  static constexpr int kLength[16] = {0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, 0};
  return kLength[field];
}

struct Value {
  std::optional<double> number;  // nullopt: not a number (text, invalid BCD, too long)
  const uint8_t* raw = nullptr;  // the data bytes, for dates
  size_t size = 0;
  bool text = false;
};

int64_t SignedLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  if (n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t{0} << (8 * n);  // sign-extend type B
  return static_cast<int64_t>(v);
}

// Type A (BCD), least significant byte first; a leading 0xF digit makes it negative.
std::optional<double> Bcd(const uint8_t* p, size_t n, bool negative) {
  double v = 0;
  for (size_t i = n; i-- > 0;) {
    int hi = p[i] >> 4, lo = p[i] & 0x0F;
    if (i == n - 1 && hi == 0x0F) {
      negative = !negative;
      hi = 0;
    }
    if (hi > 9 || lo > 9) return std::nullopt;
    v = v * 100 + hi * 10 + lo;
  }
  return negative ? -v : v;
}

Value Decode(int field, const uint8_t* p, size_t n) {
  Value v{std::nullopt, p, n, false};
  switch (field) {
    case 0x1: case 0x2: case 0x3: case 0x4: case 0x6: case 0x7:
      v.number = static_cast<double>(SignedLe(p, n));
      break;
    case 0x5: {
      const uint32_t bits = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                            static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
      const float f = std::bit_cast<float>(bits);
      if (std::isfinite(f)) v.number = f;
      break;
    }
    case 0x9: case 0xA: case 0xB: case 0xC: case 0xE:
      v.number = Bcd(p, n, false);
      break;
    default: break;
  }
  return v;
}

// A variable-length record (DIF data field 0xD): its LVAR byte says what follows.
Value DecodeVariable(uint8_t lvar, const uint8_t* p, size_t n) {
  Value v{std::nullopt, p, n, false};
  if (lvar <= 0xBF) {
    v.text = true;
  } else if (lvar >= 0xC0 && lvar <= 0xC9) {
    v.number = Bcd(p, n, false);
  } else if (lvar >= 0xD0 && lvar <= 0xD9) {
    v.number = Bcd(p, n, true);
  } else if (n >= 1 && n <= 8) {
    v.number = static_cast<double>(SignedLe(p, n));
  }
  return v;
}

// LVAR to byte count; -1 for the reserved values.
int VariableLength(uint8_t lvar) {
  if (lvar <= 0xBF) return lvar;
  if (lvar >= 0xC0 && lvar <= 0xC9) return lvar - 0xC0;
  if (lvar >= 0xD0 && lvar <= 0xD9) return lvar - 0xD0;
  if (lvar >= 0xE0 && lvar <= 0xEF) return lvar - 0xE0;
  if (lvar >= 0xF0 && lvar <= 0xF4) return 4 * (lvar - 0xEC);
  if (lvar == 0xF5) return 48;
  if (lvar == 0xF6) return 64;
  return -1;
}

double Scale(double raw, const ValueInfo& info) {
  static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const double v = raw * info.multiplier;
  const int e = info.exp10;
  if (e >= 0) return e <= 22 ? v * kPow10[e] : v * std::pow(10.0, e);
  return -e <= 22 ? v / kPow10[-e] : v * std::pow(10.0, e);  // dividing by an exact power rounds once
}

std::optional<int64_t> DateOf(const Value& v) {
  if (v.number && v.size == 2) return DateTypeG(v.raw);
  if (v.number && v.size == 4) return DateTypeF(v.raw);
  if (v.number && v.size == 6) return DateTypeI(v.raw);
  return std::nullopt;
}

// Where a register sits, to date it by the date record of the same storage number and subunit.
struct Place {
  uint64_t storage = 0;
  uint32_t subunit = 0;
  bool is_date = false;      // a date register: never dated by another
  bool dates_others = false; // the plain date or date-time record of its storage
};

void DateRegisters(std::vector<DecodedRegister>& regs, size_t first, const std::vector<Place>& places) {
  std::map<std::pair<uint64_t, uint32_t>, int64_t> dates;
  for (size_t i = 0; i < places.size(); ++i) {
    if (!places[i].dates_others || !regs[first + i].ts) continue;
    auto key = std::make_pair(places[i].storage, places[i].subunit);
    // A date-and-time wins over a date of the same storage.
    if (!dates.count(key) || regs[first + i].channel.rfind("datetime", 0) == 0) dates[key] = *regs[first + i].ts;
  }
  for (size_t i = 0; i < places.size(); ++i) {
    if (places[i].is_date) continue;
    auto it = dates.find({places[i].storage, places[i].subunit});
    if (it != dates.end()) regs[first + i].ts = it->second;
  }
}

std::string ChannelName(const ValueInfo& info, int function, uint64_t storage, uint32_t tariff, uint32_t subunit) {
  static const char* const kFunction[4] = {"", "_max", "_min", "_at_error"};
  std::string c = info.quantity + kFunction[function];
  if (storage) c += "_storage" + std::to_string(storage);
  if (tariff) c += "_tariff" + std::to_string(tariff);
  if (subunit) c += "_subunit" + std::to_string(subunit);
  return c;
}

// One data record's header and data, as read from the application layer.
struct Record {
  uint8_t dif = 0;
  uint64_t storage = 0;  // up to 10 DIFEs: 41 storage bits, 20 tariff bits, 10 subunit bits
  uint32_t tariff = 0, subunit = 0;
  std::vector<uint8_t> vib;  // VIF and VIFEs
  std::string text;          // the plain-text unit of VIF 0x7C/0xFC
  uint8_t lvar = 0;
  const uint8_t* data = nullptr;
  size_t length = 0;
};

// Walks the records; errors name the record number, the field and the frame offset.
class RecordReader {
 public:
  RecordReader(std::span<const uint8_t> d, std::span<const uint16_t> origin) : d_(d), origin_(origin) {}

  // The next record with data; nullopt at the end or where manufacturer data begin.
  Result<std::optional<Record>> Next(std::vector<std::string>* frame_status) {
    while (i_ < d_.size()) {
      const size_t start = i_;
      Record r;
      r.dif = d_[i_++];
      if (r.dif == 0x2F) continue;  // idle filler
      ++record_;
      if (r.dif == 0x0F || r.dif == 0x1F) {  // the rest of the telegram is manufacturer specific
        frame_status->push_back(r.dif == 0x0F ? "manufacturer_data" : "manufacturer_data_more_follows");
        i_ = d_.size();
        return std::optional<Record>();
      }
      if (r.dif == 0x7F) continue;  // global readout request: no data
      if ((r.dif & 0x0F) == 0x0F) {
        return Error(start, "DIF", "special function 0x" + std::string(1, "0123456789abcdef"[r.dif >> 4]) + "f is reserved");
      }
      MH_RETURN_IF_ERROR(ReadDifes(r));
      MH_RETURN_IF_ERROR(ReadVib(r));
      MH_RETURN_IF_ERROR(ReadData(r));
      if (r.length > 0) return std::optional<Record>(std::move(r));  // else no data, or a readout selection
    }
    return std::optional<Record>();
  }

 private:
  size_t Off(size_t i) const { return i < origin_.size() ? origin_[i] : (origin_.empty() ? 0 : origin_.back() + 1u); }
  Status Error(size_t at, const char* field, const std::string& what) const {
    return ByteError(Off(at), "record " + std::to_string(record_) + " " + field, what);
  }

  Status ReadDifes(Record& r) {
    r.storage = (r.dif >> 6) & 1;
    uint8_t ext = r.dif;
    for (int k = 0; ext & 0x80; ++k) {
      if (k == kMaxExtensions) return Error(i_, "DIFE", "more than 10 DIFEs");
      if (i_ >= d_.size()) return Error(i_, "DIFE", "truncated: the record ends in its DIFEs");
      ext = d_[i_++];
      r.storage |= static_cast<uint64_t>(ext & 0x0F) << (1 + 4 * k);
      r.tariff |= static_cast<uint32_t>((ext >> 4) & 3) << (2 * k);
      r.subunit |= static_cast<uint32_t>((ext >> 6) & 1) << k;
    }
    return Status::Ok();
  }

  Status ReadVib(Record& r) {
    if (i_ >= d_.size()) return Error(i_, "VIF", "truncated: the record has no VIF");
    uint8_t vif = d_[i_++];
    if ((vif & 0x7F) == 0x7C) {  // plain-text unit: length, characters, then any VIFEs
      if (i_ >= d_.size()) return Error(i_, "VIF text", "truncated");
      const size_t len = d_[i_++];
      if (i_ + len > d_.size()) return Error(i_, "VIF text", "truncated: " + std::to_string(len) + " characters announced");
      r.text.assign(reinterpret_cast<const char*>(d_.data() + i_), len);
      i_ += len;
    }
    r.vib = {vif};
    for (int k = 0; vif & 0x80; ++k) {
      if (k == kMaxExtensions + 1) return Error(i_, "VIFE", "more than 10 VIFEs");
      if (i_ >= d_.size()) return Error(i_, "VIFE", "truncated: the record ends in its VIFEs");
      vif = d_[i_++];
      r.vib.push_back(vif);
    }
    return Status::Ok();
  }

  Status ReadData(Record& r) {
    int length = DataLength(r.dif & 0x0F);
    if (length < 0) {
      if (i_ >= d_.size()) return Error(i_, "LVAR", "truncated: the record has no length byte");
      r.lvar = d_[i_++];
      length = VariableLength(r.lvar);
      if (length < 0) return Error(i_ - 1, "LVAR", "reserved value");
    }
    if (i_ + static_cast<size_t>(length) > d_.size()) {
      return Error(i_, "data", "truncated: needs " + std::to_string(length) + " bytes, " + std::to_string(d_.size() - i_) + " remain");
    }
    r.data = d_.data() + i_;
    r.length = static_cast<size_t>(length);
    i_ += r.length;
    return Status::Ok();
  }

  std::span<const uint8_t> d_;
  std::span<const uint16_t> origin_;
  size_t i_ = 0;
  int record_ = 0;
};

// The register of one record, where it sits for dating; values that are no number go to the
// frame status instead.
std::optional<Place> AddRegister(const Record& r, std::vector<DecodedRegister>* registers,
                                 std::vector<std::string>* frame_status) {
  const int field = r.dif & 0x0F, function = (r.dif >> 4) & 3;
  const ValueInfo info = InterpretVib(r.vib, r.text);
  const Value value = field == 0xD ? DecodeVariable(r.lvar, r.data, r.length) : Decode(field, r.data, r.length);
  const std::string channel = ChannelName(info, function, r.storage, r.tariff, r.subunit);
  if (info.kind == ValueKind::kManufacturer && !value.number) {
    frame_status->push_back("manufacturer_specific:" + channel);  // bytes only its maker reads
    return std::nullopt;
  }
  if (value.text) return std::nullopt;  // text (fabrication numbers, versions as strings) has no number
  DecodedRegister reg;
  reg.channel = channel;
  Place place{r.storage, r.subunit, false, false};
  if (info.kind == ValueKind::kDate || info.kind == ValueKind::kDateTime) {
    const std::optional<int64_t> when = DateOf(value);
    if (!when) {
      frame_status->push_back("invalid_value:" + channel);
      return std::nullopt;
    }
    reg.value = static_cast<double>(*when);
    reg.ts = when;
    place.is_date = true;
    place.dates_others = (info.quantity == "date" || info.quantity == "datetime") && function == 0 && r.tariff == 0;
  } else {
    if (value.number) reg.value = Scale(*value.number, info);
    if (!value.number || !std::isfinite(reg.value)) {
      frame_status->push_back("invalid_value:" + channel);
      return std::nullopt;
    }
    if (!info.unit.empty()) reg.unit = info.unit;
  }
  if (!info.flag.empty()) reg.status.push_back(info.flag);
  registers->push_back(std::move(reg));
  return place;
}

}  // namespace

std::optional<int64_t> DateTypeG(const uint8_t* b) {
  return Epoch(YearOf(b[0], b[1]), b[1] & 0x0F, b[0] & 0x1F, 0, 0, 0);
}

std::optional<int64_t> DateTypeF(const uint8_t* b) {
  if (b[0] & 0x80) return std::nullopt;  // IV: time invalid
  return Epoch(YearOf(b[2], b[3]), b[3] & 0x0F, b[2] & 0x1F, b[1] & 0x1F, b[0] & 0x3F, 0);
}

std::optional<int64_t> DateTypeI(const uint8_t* b) {
  if (b[1] & 0x80) return std::nullopt;
  return Epoch(YearOf(b[3], b[4]), b[4] & 0x0F, b[3] & 0x1F, b[2] & 0x1F, b[1] & 0x3F, b[0] & 0x3F);
}

Status ReadRecords(std::span<const uint8_t> d, std::span<const uint16_t> origin,
                   std::vector<DecodedRegister>* registers, std::vector<std::string>* frame_status) {
  RecordReader reader{d, origin};
  const size_t first = registers->size();
  std::vector<Place> places;
  while (true) {
    MH_ASSIGN_OR_RETURN(std::optional<Record> record, reader.Next(frame_status));
    if (!record) break;
    std::optional<Place> place = AddRegister(*record, registers, frame_status);
    if (place) places.push_back(*place);
  }
  DateRegisters(*registers, first, places);
  return Status::Ok();
}

}  // namespace mh::codec::wmbus
