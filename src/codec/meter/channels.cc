#include "codec/meter/channels.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>
#include <utility>

namespace mh::codec {
namespace {

// Energy registers: total and tariffs 1..4, by protocol name. DL/T 645-2007 identifiers
// DI3 DI2 DI1 DI0 with DI1 the tariff (00 total); 1997 ones 90x0/91x0 with the last digit the tariff.
struct Named {
  std::string_view native;
  std::string_view channel;
};

constexpr std::array<Named, 30> kDlt645 = {{
    {"00000000", "combined_kwh"},
    {"00010000", "import_kwh"},   {"00010100", "import_kwh_t1"}, {"00010200", "import_kwh_t2"},
    {"00010300", "import_kwh_t3"}, {"00010400", "import_kwh_t4"},
    {"00020000", "export_kwh"},   {"00020100", "export_kwh_t1"}, {"00020200", "export_kwh_t2"},
    {"00020300", "export_kwh_t3"}, {"00020400", "export_kwh_t4"},
    {"00030000", "reactive_import_kvarh"},  // combined reactive 1
    {"00040000", "reactive_export_kvarh"},  // combined reactive 2
    {"00050000", "reactive_q1_kvarh"}, {"00060000", "reactive_q2_kvarh"},
    {"00070000", "reactive_q3_kvarh"}, {"00080000", "reactive_q4_kvarh"},
    // DL/T 645-1997
    {"9010", "import_kwh"}, {"9011", "import_kwh_t1"}, {"9012", "import_kwh_t2"},
    {"9013", "import_kwh_t3"}, {"9014", "import_kwh_t4"},
    {"9020", "export_kwh"}, {"9021", "export_kwh_t1"}, {"9022", "export_kwh_t2"},
    {"9023", "export_kwh_t3"}, {"9024", "export_kwh_t4"},
    {"9110", "reactive_import_kvarh"}, {"9120", "reactive_export_kvarh"},
    {"9130", "reactive_q1_kvarh"},
}};

// DLMS: electricity (A = 1) energy registers C.8.E, any channel B and billing period F = 255.
constexpr std::array<Named, 14> kObisEnergy = {{
    {"1.8.0", "import_kwh"}, {"1.8.1", "import_kwh_t1"}, {"1.8.2", "import_kwh_t2"},
    {"1.8.3", "import_kwh_t3"}, {"1.8.4", "import_kwh_t4"},
    {"2.8.0", "export_kwh"}, {"2.8.1", "export_kwh_t1"}, {"2.8.2", "export_kwh_t2"},
    {"2.8.3", "export_kwh_t3"}, {"2.8.4", "export_kwh_t4"},
    {"3.8.0", "reactive_import_kvarh"}, {"4.8.0", "reactive_export_kvarh"},
    {"15.8.0", "absolute_kwh"}, {"16.8.0", "net_kwh"},
}};

constexpr std::array<Named, 2> kCjt188 = {{
    {"current_cumulative_flow", "volume_m3"}, {"settlement_cumulative_flow", "settlement_volume_m3"},
}};

// wM-Bus: the instantaneous storage (storage 0) of volume and energy registers.
constexpr std::array<Named, 6> kWmbus = {{
    {"volume", "volume_m3"}, {"volume_backward", "volume_backward_m3"},
    {"energy", "import_kwh"}, {"energy_tariff1", "import_kwh_t1"}, {"energy_tariff2", "import_kwh_t2"},
    {"energy_backward", "export_kwh"},
}};

template <size_t N>
std::string_view Lookup(const std::array<Named, N>& table, std::string_view native) {
  for (const Named& n : table)
    if (n.native == native) return n.channel;
  return {};
}

// Energy in kWh and volume in m³ whatever unit the frame used; nullopt when the unit is not one
// of those (the register then keeps its protocol name).
std::optional<double> ToKwh(double v, const std::optional<std::string>& unit) {
  if (!unit || *unit == "kWh" || *unit == "kvarh") return v;
  if (*unit == "Wh" || *unit == "varh") return v / 1000;
  if (*unit == "MWh" || *unit == "Mvarh") return v * 1000;
  return std::nullopt;
}
std::optional<double> ToM3(double v, const std::optional<std::string>& unit) {
  if (!unit || *unit == "m3") return v;
  if (*unit == "L") return v / 1000;
  return std::nullopt;
}

// "1-0:1.8.0.255" → "1.8.0" when it is an electricity register of the current values.
std::string_view ObisEnergyKey(std::string_view obis) {
  if (obis.size() < 4 || obis[0] != '1' || obis[1] != '-') return {};
  const size_t colon = obis.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view cde = obis.substr(colon + 1);
  const size_t last = cde.rfind('.');
  if (last == std::string_view::npos || cde.substr(last + 1) != "255") return {};
  return cde.substr(0, last);
}

}  // namespace

ChannelValue ToChannel(std::string_view protocol, const DecodedRegister& reg) {
  std::string_view name;
  std::optional<double> value;
  if (protocol == "dlt645") {
    name = Lookup(kDlt645, reg.channel);
    if (!name.empty()) value = ToKwh(reg.value, reg.unit);
  } else if (protocol == "dlms") {
    name = Lookup(kObisEnergy, ObisEnergyKey(reg.channel));
    if (!name.empty()) value = ToKwh(reg.value, reg.unit);
  } else if (protocol == "cjt188") {
    name = Lookup(kCjt188, reg.channel);
    if (!name.empty()) value = ToM3(reg.value, reg.unit);
  } else if (protocol == "wmbus") {
    name = Lookup(kWmbus, reg.channel);
    if (!name.empty()) value = name.ends_with("_m3") ? ToM3(reg.value, reg.unit) : ToKwh(reg.value, reg.unit);
  }
  if (!name.empty() && value) return {std::string(name), *value};
  return {std::string(protocol) + ":" + reg.channel, reg.value};
}

bool IsCumulativeChannel(std::string_view channel) {
  if (channel.empty() || channel.find(':') != std::string_view::npos) return false;
  return channel.find("_kwh") != std::string_view::npos || channel.find("_kvarh") != std::string_view::npos ||
         channel.find("_m3") != std::string_view::npos;
}

std::string Dlt645DataIdOf(std::string_view channel) {
  constexpr std::string_view kPrefix = "dlt645:";
  if (channel.substr(0, kPrefix.size()) == kPrefix) {
    std::string_view di = channel.substr(kPrefix.size());
    const bool hex = di.size() == 8 && std::all_of(di.begin(), di.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
    return hex ? std::string(di) : std::string();
  }
  for (const Named& n : kDlt645) {
    if (n.channel == channel && n.native.size() == 8) return std::string(n.native);
  }
  return {};
}

int64_t ReadingStamp(int64_t now, int64_t interval_s) {
  if (interval_s <= 0) interval_s = 900;
  return (now + interval_s / 2) / interval_s * interval_s;
}

std::vector<Reading> RegisterReadings(std::string_view protocol, const std::string& meter_id,
                                      const std::vector<DecodedRegister>& registers, int64_t stamp) {
  std::vector<Reading> readings;
  readings.reserve(registers.size());
  for (const DecodedRegister& reg : registers) {
    ChannelValue cv = ToChannel(protocol, reg);
    Reading r;
    r.meter_id = meter_id;
    r.ts = reg.ts && IsReadingTimeInRange(*reg.ts) ? *reg.ts : stamp;
    if (std::isfinite(cv.value)) r.value = cv.value;
    else r.raw_value = std::to_string(cv.value);
    r.channel = std::move(cv.channel);
    readings.push_back(std::move(r));
  }
  return readings;
}

}  // namespace mh::codec
