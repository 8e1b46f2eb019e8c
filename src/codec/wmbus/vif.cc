#include "codec/wmbus/vif.h"

#include "codec/wmbus/link_layer.h"

#include <cstdio>

namespace mh::codec::wmbus {
namespace {

const char* TimeUnit(int nn) {  // EN 13757-3: 00 s, 01 min, 10 h, 11 days
  static const char* const kUnits[4] = {"s", "min", "h", "d"};
  return kUnits[nn & 3];
}
const char* LongTimeUnit(int pp) {  // 00 h, 01 days, 10 months, 11 years
  static const char* const kUnits[4] = {"h", "d", "month", "year"};
  return kUnits[pp & 3];
}

ValueInfo Number(std::string quantity, std::string unit, int exp10, int multiplier = 1) {
  ValueInfo v;
  v.quantity = std::move(quantity);
  v.unit = std::move(unit);
  v.exp10 = exp10;
  v.multiplier = multiplier;
  return v;
}

ValueInfo Unknown(std::string what) {
  ValueInfo v;
  v.quantity = "vif_" + what;
  v.kind = ValueKind::kUnknown;
  v.flag = "unknown_vif";
  return v;
}

// The primary VIF table (EN 13757-3:2018 table 12). Wh become kWh, J become GJ, W become kW.
ValueInfo Primary(uint8_t vif) {
  const int n = vif & 7, nn = vif & 3;
  switch (vif & 0x78) {
    case 0x00: return Number("energy", "kWh", n - 6);
    case 0x08: return Number("energy", "GJ", n - 9);
    case 0x10: return Number("volume", "m3", n - 6);
    case 0x18: return Number("mass", "kg", n - 3);
    case 0x28: return Number("power", "kW", n - 6);
    case 0x30: return Number("power", "GJ/h", n - 9);
    case 0x38: return Number("volume_flow", "m3/h", n - 6);
    case 0x40: return Number("volume_flow", "m3/h", n - 7, 60);
    case 0x48: return Number("volume_flow", "m3/h", n - 9, 3600);
    case 0x50: return Number("mass_flow", "kg/h", n - 3);
    default: break;
  }
  switch (vif & 0x7C) {
    case 0x20: return Number("on_time", TimeUnit(nn), 0);
    case 0x24: return Number("operating_time", TimeUnit(nn), 0);
    case 0x58: return Number("flow_temperature", "C", nn - 3);
    case 0x5C: return Number("return_temperature", "C", nn - 3);
    case 0x60: return Number("temperature_difference", "K", nn - 3);
    case 0x64: return Number("external_temperature", "C", nn - 3);
    case 0x68: return Number("pressure", "bar", nn - 3);
    case 0x70: return Number("averaging_duration", TimeUnit(nn), 0);
    case 0x74: return Number("actuality_duration", TimeUnit(nn), 0);
    default: break;
  }
  ValueInfo v;
  switch (vif) {
    case 0x6C: v.quantity = "date"; v.kind = ValueKind::kDate; return v;
    case 0x6D: v.quantity = "datetime"; v.kind = ValueKind::kDateTime; return v;
    case 0x6E: return Number("hca", "", 0);
    case 0x78: return Number("fabrication_number", "", 0);
    case 0x79: return Number("identification", "", 0);
    case 0x7A: return Number("bus_address", "", 0);
    case 0x7E: return Number("any_vif", "", 0);
    case 0x7F:
      v.quantity = "manufacturer_specific";
      v.kind = ValueKind::kManufacturer;
      v.flag = "manufacturer_specific";
      return v;
    default: return Unknown(HexByte(vif));
  }
}

// The first extension table (VIF 0xFD; EN 13757-3:2018 table 14).
ValueInfo TableFd(uint8_t x) {
  const int nn = x & 3;
  if (x >= 0x40 && x <= 0x4F) return Number("voltage", "V", (x & 0x0F) - 9);
  if (x >= 0x50 && x <= 0x5F) return Number("current", "A", (x & 0x0F) - 12);
  switch (x & 0x7C) {
    case 0x00: return Number("credit", "", nn - 3);
    case 0x04: return Number("debit", "", nn - 3);
    case 0x24: return Number("storage_interval", TimeUnit(nn), 0);
    case 0x2C: return Number("duration_since_readout", TimeUnit(nn), 0);
    case 0x34: return Number("tariff_period", TimeUnit(nn), 0);
    case 0x68: return Number("duration_since_cumulation", LongTimeUnit(nn), 0);
    case 0x6C: return Number("battery_operating_time", LongTimeUnit(nn), 0);
    default: break;
  }
  struct Named {
    uint8_t code;
    const char* name;
  };
  static constexpr Named kNames[] = {
      {0x08, "access_number"}, {0x09, "medium"}, {0x0A, "manufacturer"}, {0x0B, "parameter_set"},
      {0x0C, "model_version"}, {0x0D, "hardware_version"}, {0x0E, "firmware_version"},
      {0x0F, "software_version"}, {0x10, "customer_location"}, {0x11, "customer"},
      {0x12, "access_code_user"}, {0x13, "access_code_operator"},
      {0x14, "access_code_system_operator"}, {0x15, "access_code_developer"}, {0x16, "password"},
      {0x17, "error_flags"}, {0x18, "error_mask"}, {0x1A, "digital_output"},
      {0x1B, "digital_input"}, {0x1C, "baud_rate"}, {0x1D, "response_delay_time"}, {0x1E, "retry"},
      {0x20, "first_storage_number"}, {0x21, "last_storage_number"}, {0x22, "storage_block_size"},
      {0x2A, "operator_specific"}, {0x3A, "dimensionless"}, {0x60, "reset_counter"},
      {0x61, "cumulation_counter"}, {0x62, "control_signal"}, {0x63, "day_of_week"},
      {0x64, "week_number"}, {0x65, "day_change_time"}, {0x66, "parameter_activation_state"},
      {0x67, "special_supplier_information"}, {0x72, "daylight_saving"}, {0x73, "listening_window"},
      {0x75, "meter_stop_count"},
  };

  switch (x) {
    case 0x28: return Number("storage_interval", "month", 0);
    case 0x29: return Number("storage_interval", "year", 0);
    case 0x2B: return Number("time_point_second", "s", 0);
    case 0x31: return Number("tariff_duration", "min", 0);
    case 0x32: return Number("tariff_duration", "h", 0);
    case 0x33: return Number("tariff_duration", "d", 0);
    case 0x38: return Number("tariff_period", "month", 0);
    case 0x39: return Number("tariff_period", "year", 0);
    case 0x71: return Number("rf_level", "dBm", 0);
    case 0x74: return Number("remaining_battery_life", "d", 0);
    case 0x30: {
      ValueInfo v;
      v.quantity = "tariff_start";
      v.kind = ValueKind::kDate;
      return v;
    }
    case 0x70: {
      ValueInfo v;
      v.quantity = "battery_change_date";
      v.kind = ValueKind::kDate;
      return v;
    }
    case 0x76: {
      ValueInfo v;
      v.quantity = "manufacturer_data";
      v.kind = ValueKind::kManufacturer;
      v.flag = "manufacturer_specific";
      return v;
    }
    default: break;
  }
  for (const Named& named : kNames) {
    if (named.code == x) return Number(named.name, "", 0);
  }
  return Unknown("fd" + HexByte(x));
}

// The second extension table (VIF 0xFB; EN 13757-3:2018 table 13), the common entries.
ValueInfo TableFb(uint8_t x) {
  const int n = x & 1, nn = x & 3;
  switch (x & 0x7E) {
    case 0x00: return Number("energy", "MWh", n - 1);
    case 0x02: return Number("reactive_energy", "kvarh", n);
    case 0x08: return Number("energy", "GJ", n - 1);
    case 0x10: return Number("volume", "m3", n + 2);
    case 0x18: return Number("mass", "kg", n + 5);
    case 0x1A: return Number("relative_humidity", "%", n - 1);
    case 0x28: return Number("power", "MW", n - 1);
    case 0x30: return Number("power", "GJ/h", n - 1);
    default: break;
  }
  switch (x & 0x7C) {
    case 0x0C: return Number("energy", "Mcal", nn - 1);
    case 0x58: return Number("flow_temperature", "F", nn - 3);
    case 0x5C: return Number("return_temperature", "F", nn - 3);
    case 0x60: return Number("temperature_difference", "F", nn - 3);
    case 0x64: return Number("external_temperature", "F", nn - 3);
    case 0x70: return Number("temperature_limit", "F", nn - 3);
    case 0x74: return Number("temperature_limit", "C", nn - 3);
    default: break;
  }
  switch (x) {
    case 0x21: return Number("volume", "ft3", -1);
    case 0x22: return Number("volume", "gal", -1);
    case 0x23: return Number("volume", "gal", 0);
    case 0x24: return Number("volume_flow", "gal/min", -3);
    case 0x25: return Number("volume_flow", "gal/min", 0);
    case 0x26: return Number("volume_flow", "gal/h", 0);
    default: return Unknown("fb" + HexByte(x));
  }
}

// The extension of the combinable VIFE table (VIFE 0xFC, EN 13757-3:2018 table 16).
void ApplyFc(uint8_t x, ValueInfo& v) {
  static const char* const kSuffix[0x13] = {
      nullptr, "_phase1", "_phase2", "_phase3", "_neutral", "_phase1_phase2", "_phase2_phase3",
      "_phase3_phase1", "_q1", "_q2", "_q3", "_q4", "_net", nullptr, nullptr, nullptr, "_absolute",
      nullptr, nullptr};
  if (x < 0x13 && kSuffix[x]) {
    v.quantity += kSuffix[x];
  } else if (v.flag.empty()) {
    v.flag = "vife_fc" + HexByte(x);
  }
}

// One combinable (orthogonal) VIFE (EN 13757-3:2018 table 15). Returns false when the VIFEs
// after it are manufacturer specific.
bool ApplyCombinable(uint8_t x, ValueInfo& v) {
  static const char* const kPer[7] = {"_per_second", "_per_minute", "_per_hour", "_per_day",
                                      "_per_week", "_per_month", "_per_year"};
  if (x >= 0x15 && x <= 0x1C) {
    v.flag = "record_error";
    return true;
  }
  if (x >= 0x20 && x <= 0x26) {
    v.quantity += kPer[x - 0x20];
    return true;
  }
  if (x >= 0x70 && x <= 0x77) {
    v.exp10 += (x & 7) - 6;
    return true;
  }
  if (x >= 0x78 && x <= 0x7B) {
    v.quantity += "_correction_offset";
    v.exp10 += (x & 3) - 3;
    return true;
  }
  switch (x) {
    case 0x12: v.quantity += "_average"; return true;
    case 0x39: v.quantity += "_start"; return true;
    case 0x3A: return true;  // the VIF's unit is uncorrected: same quantity for us
    case 0x3B: v.quantity += "_forward"; return true;
    case 0x3C: v.quantity += "_backward"; return true;
    case 0x3E: v.quantity += "_base_conditions"; return true;
    case 0x40: v.quantity += "_lower_limit"; return true;
    case 0x41: v.quantity += "_lower_limit_exceeds"; return true;
    case 0x48: v.quantity += "_upper_limit"; return true;
    case 0x49: v.quantity += "_upper_limit_exceeds"; return true;
    case 0x7D: v.exp10 += 3; return true;
    case 0x7E: v.quantity += "_future"; return true;
    case 0x7F:
      v.flag = "manufacturer_specific";
      return false;
    default:
      if (v.flag.empty()) v.flag = "vife_" + HexByte(x);
      return true;
  }
}

std::string TextQuantity(const std::string& text) {
  std::string q = "unit_";
  for (auto it = text.rbegin(); it != text.rend(); ++it) {  // sent last character first
    const char c = *it;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) q.push_back(c);
    else if (c >= 'A' && c <= 'Z') q.push_back(static_cast<char>(c - 'A' + 'a'));
    else q.push_back('_');
  }
  return q;
}

}  // namespace

ValueInfo InterpretVib(std::span<const uint8_t> vib, const std::string& text) {
  if (vib.empty()) return Unknown("none");
  const uint8_t vif = vib[0] & 0x7F;
  size_t next = 1;
  ValueInfo v;
  if (vif == 0x7B || vif == 0x7D) {
    if (vib.size() < 2) return Unknown(HexByte(vib[0]));
    v = vif == 0x7B ? TableFb(vib[1] & 0x7F) : TableFd(vib[1] & 0x7F);
    next = 2;
  } else if (vif == 0x7C) {
    v = Number(TextQuantity(text), "", 0);
    v.flag = "plain_text_unit";
  } else {
    v = Primary(vif);
  }
  if (v.kind == ValueKind::kManufacturer) return v;
  for (size_t i = next; i < vib.size(); ++i) {
    const uint8_t x = vib[i] & 0x7F;
    if (x == 0x7C && i + 1 < vib.size()) {
      ApplyFc(vib[++i] & 0x7F, v);
      continue;
    }
    if (!ApplyCombinable(x, v)) break;
  }
  return v;
}

}  // namespace mh::codec::wmbus
