#include "codec/dlms/cosem.h"

#include <array>
#include <cmath>

namespace mh::codec::dlms {
namespace {

using Obis = std::array<uint8_t, 6>;

constexpr Obis kLogicalDeviceName{0, 0, 42, 0, 0, 255};
constexpr Obis kClock{0, 0, 1, 0, 0, 255};

Obis ObisOf(const Data& d) {
  Obis o{};
  std::copy(d.bytes.begin(), d.bytes.begin() + 6, o.begin());
  return o;
}

// A contract unit and the power of ten from the DLMS base unit into it.
struct UnitFold {
  const char* unit;  // nullptr: dimensionless
  int exp10;
};

// The DLMS unit enumeration (Blue Book, interface class 3 scaler_unit).
std::optional<UnitFold> FromDlmsUnit(int code) {
  switch (code) {
    case 4: return UnitFold{"d", 0};
    case 5: return UnitFold{"h", 0};
    case 6: return UnitFold{"min", 0};
    case 7: return UnitFold{"s", 0};
    case 8: return UnitFold{"deg", 0};
    case 9: return UnitFold{"C", 0};
    case 11: return UnitFold{"m", 0};
    case 12: return UnitFold{"m/s", 0};
    case 13: case 14: return UnitFold{"m3", 0};
    case 15: case 16: return UnitFold{"m3/h", 0};
    case 17: case 18: return UnitFold{"m3/d", 0};
    case 19: return UnitFold{"m3", -3};  // litre
    case 20: return UnitFold{"kg", 0};
    case 21: return UnitFold{"N", 0};
    case 23: return UnitFold{"Pa", 0};
    case 24: return UnitFold{"bar", 0};
    case 25: return UnitFold{"GJ", -9};
    case 26: return UnitFold{"GJ/h", -9};
    case 27: return UnitFold{"kW", -3};
    case 28: return UnitFold{"kVA", -3};
    case 29: return UnitFold{"kvar", -3};
    case 30: return UnitFold{"kWh", -3};
    case 31: return UnitFold{"kVAh", -3};
    case 32: return UnitFold{"kvarh", -3};
    case 33: return UnitFold{"A", 0};
    case 35: return UnitFold{"V", 0};
    case 44: return UnitFold{"Hz", 0};
    case 52: return UnitFold{"K", 0};
    case 56: return UnitFold{"%", 0};
    case 57: return UnitFold{"Ah", 0};
    case 70: return UnitFold{"dBm", 0};
    case 254: case 255: return UnitFold{nullptr, 0};  // other, count
    default: return std::nullopt;
  }
}

// The DLMS unit an electricity OBIS code implies (IEC 62056-6-1), for lists without scaler-unit.
int DlmsUnitOfObis(const Obis& o) {
  if (o[0] != 1) return 255;
  int c = o[2];
  const int d = o[3];
  if (c >= 21 && c <= 80) c = (c - 21) % 20 + 1;  // per-phase groups L1, L2, L3 repeat 1..20
  const bool power = (d >= 1 && d <= 7) || (d >= 14 && d <= 16) || (d >= 24 && d <= 27);
  const bool energy = (d >= 8 && d <= 10) || (d >= 17 && d <= 20) || d == 29 || d == 30;
  auto pick = [&](int p, int e) { return power ? p : energy ? e : 255; };
  if (c == 1 || c == 2 || c == 15 || c == 16) return pick(27, 30);   // active: W, Wh
  if (c >= 3 && c <= 8) return pick(29, 32);                         // reactive: var, varh
  if (c == 9 || c == 10) return pick(28, 31);                        // apparent: VA, VAh
  if (c == 11 || c == 91) return 33;                                 // current
  if (c == 12) return 35;                                            // voltage
  if (c == 14) return 44;                                            // frequency
  return 255;                                                        // power factor and the rest
}

double Scale(double raw, int exp10) {
  static constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
  if (exp10 >= 0) return exp10 <= 12 ? raw * kPow10[exp10] : raw * std::pow(10.0, exp10);
  return -exp10 <= 12 ? raw / kPow10[-exp10] : raw * std::pow(10.0, exp10);  // one rounding
}

std::string Printable(const std::vector<uint8_t>& b) {
  bool text = !b.empty();
  for (uint8_t c : b) text = text && c >= 0x20 && c < 0x7F;
  return text ? std::string(b.begin(), b.end()) : UpperHex(b);
}

bool IsDateTime(const Data& d) {
  return (d.tag == DataTag::kOctetString || d.tag == DataTag::kDateTime) && d.bytes.size() == 12;
}

// A scaler_unit structure {integer scaler, enum unit}.
bool IsScalerUnit(const Data& d) {
  return d.tag == DataTag::kStructure && d.items.size() == 2 && d.items[0].tag == DataTag::kInteger &&
         d.items[1].tag == DataTag::kEnum;
}

void Flatten(const Data& d, std::vector<const Data*>* out) {
  if ((d.tag == DataTag::kStructure || d.tag == DataTag::kArray) && !IsScalerUnit(d)) {
    for (const Data& item : d.items) Flatten(item, out);
  } else {
    out->push_back(&d);
  }
}

struct Entry {
  Obis obis{};
  const Data* value = nullptr;
  const Data* scaler_unit = nullptr;  // from the push, when it carries one
  int default_exp10 = 0;              // the meter family's scaler otherwise
};

void ReadClock(const Data& v, PushContent* out) {
  if (!IsDateTime(v)) return;
  out->clock = DateTimeToEpoch(v.bytes);
  const uint8_t status = v.bytes[11];
  if (status != 0xFF && (status & 0x01)) out->status.push_back("clock_invalid");
  if (status != 0xFF && (status & 0x02)) out->status.push_back("clock_doubtful");
}

void AddEntry(const Entry& e, PushContent* out) {
  const Data& v = *e.value;
  if (e.obis == kClock) return ReadClock(v, out);
  if (v.IsString()) {
    const bool name = e.obis == kLogicalDeviceName;
    const bool id = (e.obis[2] == 96 && e.obis[3] == 1) || (e.obis[2] == 0 && e.obis[3] == 0);
    if (name || (id && !out->device)) out->device = Printable(v.bytes);
    return;
  }
  if (!v.IsNumber()) return;
  DecodedRegister r;
  r.channel = ObisText(e.obis.data());
  int exp10 = e.default_exp10;
  int unit = DlmsUnitOfObis(e.obis);
  if (e.scaler_unit) {
    exp10 = static_cast<int>(e.scaler_unit->items[0].number);
    unit = static_cast<int>(e.scaler_unit->items[1].number);
  }
  const std::optional<UnitFold> fold = FromDlmsUnit(unit);
  if (fold) {
    exp10 += fold->exp10;
    if (fold->unit) r.unit = fold->unit;
  } else {
    r.status.push_back("unit_" + std::to_string(unit));
  }
  r.value = Scale(v.number, exp10);
  if (!std::isfinite(r.value)) {  // a float64 scaled past the range of a double
    out->status.push_back("invalid_value:" + r.channel);
    return;
  }
  out->registers.push_back(std::move(r));
}

// Kamstrup's lists (list version "Kamstrup_V0001") carry OBIS codes but no scaler-unit: currents
// come in 0.01 A, power factors in 0.01, energies in 10 Wh (Kamstrup's HAN documentation;
// the shared captures' currents of 5.64 A match).
int KamstrupScaler(const Obis& o) {
  int c = o[2];
  if (c >= 21 && c <= 80) c = (c - 21) % 20 + 1;
  if (c == 11 || c == 13) return -2;
  if (o[0] == 1 && o[3] == 8) return 1;
  return 0;
}

// The Kaifa KFM_001 lists (Kaifa "HAN OBIS codes KFM_001"; obisdata.md of the shared captures):
// their element count says which list it is; power comes in W, current in mA, voltage in 0.1 V,
// energy in Wh.
struct Slot {
  Obis obis;
  int exp10;
  enum Kind { kText, kNumber, kClock } kind;
};
std::vector<Slot> KaifaTemplate(size_t n, bool* found) {
  *found = true;
  if (n == 1) return {{{1, 0, 1, 7, 0, 255}, 0, Slot::kNumber}};
  std::vector<Slot> s = {
      {{1, 1, 0, 2, 129, 255}, 0, Slot::kText}, {{0, 0, 96, 1, 0, 255}, 0, Slot::kText},
      {{0, 0, 96, 1, 7, 255}, 0, Slot::kText},  {{1, 0, 1, 7, 0, 255}, 0, Slot::kNumber},
      {{1, 0, 2, 7, 0, 255}, 0, Slot::kNumber}, {{1, 0, 3, 7, 0, 255}, 0, Slot::kNumber},
      {{1, 0, 4, 7, 0, 255}, 0, Slot::kNumber}};
  const bool three_phase = n == 13 || n == 18;
  if (!three_phase && n != 9 && n != 14) {
    *found = false;
    return {};
  }
  const int phases = three_phase ? 3 : 1;
  for (int p = 0; p < phases; ++p) s.push_back({{1, 0, static_cast<uint8_t>(31 + 20 * p), 7, 0, 255}, -3, Slot::kNumber});
  for (int p = 0; p < phases; ++p) s.push_back({{1, 0, static_cast<uint8_t>(32 + 20 * p), 7, 0, 255}, -1, Slot::kNumber});
  if (n == 14 || n == 18) {
    s.push_back({kClock, 0, Slot::kClock});
    for (uint8_t c = 1; c <= 4; ++c) s.push_back({{1, 0, c, 8, 0, 255}, 0, Slot::kNumber});
  }
  return s;
}

Result<PushContent> ReadKaifa(const Data& body) {
  const auto& items = body.items;
  bool found = false;
  std::vector<Slot> slots;
  if (items.size() == 1 && items[0].tag == DataTag::kDoubleLongUnsigned) {
    slots = KaifaTemplate(1, &found);
  } else if (!items.empty() && items[0].IsString() && items[0].Text().rfind("KFM_001", 0) == 0) {
    slots = KaifaTemplate(items.size(), &found);
  }
  if (!found) {
    return ByteError(body.offset, "notification body",
                     "a list of " + std::to_string(items.size()) +
                         " elements without OBIS codes matches no known list (Kaifa KFM_001: 1, 9, 13, 14 or 18 elements)");
  }
  PushContent out;
  for (size_t i = 0; i < slots.size(); ++i) {
    const Slot& s = slots[i];
    const Data& v = items[i];
    const bool fits = s.kind == Slot::kText ? v.IsString() : s.kind == Slot::kClock ? IsDateTime(v) : v.IsNumber();
    if (!fits) {
      return ByteError(v.offset, "Kaifa list element " + std::to_string(i + 1),
                       "unexpected type for " + ObisText(s.obis.data()));
    }
    AddEntry({s.obis, &v, nullptr, s.exp10}, &out);
  }
  return out;
}

}  // namespace

std::string ObisText(const uint8_t* o) {
  return std::to_string(o[0]) + "-" + std::to_string(o[1]) + ":" + std::to_string(o[2]) + "." + std::to_string(o[3]) +
         "." + std::to_string(o[4]) + "." + std::to_string(o[5]);
}

Result<PushContent> ReadPushList(const Data& body) {
  std::vector<const Data*> leaves;
  Flatten(body, &leaves);
  bool any_obis = false, kamstrup = false;
  for (const Data* d : leaves) {
    any_obis |= d->IsObis();
    kamstrup |= d->IsString() && d->Text().rfind("Kamstrup_V0001", 0) == 0;
  }
  if (!any_obis) {
    if (body.tag != DataTag::kStructure) return ByteError(body.offset, "notification body", "neither a list with OBIS codes nor a structure");
    return ReadKaifa(body);
  }
  // OBIS code, its value, and a scaler-unit when one follows: flat (Kamstrup) or in structures.
  PushContent out;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!leaves[i]->IsObis() || i + 1 >= leaves.size()) continue;
    Entry e;
    e.obis = ObisOf(*leaves[i]);
    e.value = leaves[i + 1];
    e.default_exp10 = kamstrup ? KamstrupScaler(e.obis) : 0;
    if (i + 2 < leaves.size() && IsScalerUnit(*leaves[i + 2])) e.scaler_unit = leaves[i + 2];
    AddEntry(e, &out);
    i += e.scaler_unit ? 2 : 1;
  }
  return out;
}

}  // namespace mh::codec::dlms
