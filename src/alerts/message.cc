#include "alerts/message.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace mh::alerts {
namespace {

using json = nlohmann::ordered_json;  // keys in the documented order

constexpr const char* kAlertType = "abnormal_consumption";

double Round6(double v) {
  double r = std::round(v * 1e6) / 1e6;
  return r == 0 ? 0.0 : r;  // no "-0"
}

// 12.5 → "12.5", 10 → "10", 0.1234567 → "0.123".
std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string WithUnit(double v, const std::string& unit) {
  return unit.empty() ? Number(v) : Number(v) + " " + unit;
}

bool IsAlertJson(const json& j) {
  if (!j.is_object() || j.value("type", "") != kAlertType) return false;
  for (const char* key : {"meter", "period_start", "timestamp"}) {
    if (!j.contains(key) || !j[key].is_string()) return false;
  }
  for (const char* key : {"reading", "period_consumption", "threshold", "excess"}) {
    if (!j.contains(key) || !j[key].is_number()) return false;
  }
  return true;
}

// Subject and text (not json) from the alert JSON: the one rendering both FormatAlert and
// MessageFromContent use, so a retried delivery says exactly what the first attempt said.
Message FromAlertJson(const json& j) {
  const std::string meter = j["meter"].get<std::string>();
  const std::string unit = j.contains("unit") && j["unit"].is_string() ? j["unit"].get<std::string>() : "";
  Message m;
  m.subject = "MeterHub: abnormal consumption on meter " + meter;
  m.text = "MeterHub alert: meter " + meter + " has used " +
           WithUnit(j["period_consumption"].get<double>(), unit) + " since " +
           j["period_start"].get<std::string>() + ", " + WithUnit(j["excess"].get<double>(), unit) +
           " over its threshold of " + WithUnit(j["threshold"].get<double>(), unit) +
           ". Current reading: " + WithUnit(j["reading"].get<double>(), unit) + " at " +
           j["timestamp"].get<std::string>() + ".";
  return m;
}

}  // namespace

Message FormatAlert(const store::AlertRecord& alert, const std::string& unit) {
  json j = {
      {"type", kAlertType},
      {"alert_id", alert.id},
      {"meter", alert.meter_id},
      {"unit", unit},
      {"reading", Round6(alert.reading)},
      {"period_start", FormatIsoUtc(alert.period_start)},
      {"period_consumption", Round6(alert.period_consumption)},
      {"estimated_consumption", Round6(alert.estimated_consumption)},
      {"threshold", Round6(alert.threshold)},
      {"excess", Round6(alert.excess)},
      {"timestamp", FormatIsoUtc(alert.ts)},
  };
  Message m = FromAlertJson(j);
  m.json = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return m;
}

Message MessageFromContent(const std::string& content, int64_t alert_id) {
  json j = json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (IsAlertJson(j)) {
    Message m = FromAlertJson(j);
    m.json = content;  // byte for byte what was stored, unless the id must be filled in
    // The pipeline writes the content before the store assigns the alert its id.
    if (alert_id != 0 && j.value("alert_id", int64_t{0}) == 0) {
      j["alert_id"] = alert_id;
      m.json = j.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    return m;
  }
  Message m;
  m.subject = "MeterHub notification";
  if (j.is_object() && j.contains("text") && j["text"].is_string()) {
    m.text = j["text"].get<std::string>();
    m.json = content;
  } else if (!j.is_discarded()) {
    m.text = content;
    m.json = content;
  } else {
    m.text = content;
    m.json = json{{"type", "text"}, {"text", content}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return m;
}

std::string UnitForKind(const std::string& kind) {
  if (kind == "electricity") return "kWh";
  if (kind == "water") return "m³";
  return "";
}

}  // namespace mh::alerts
