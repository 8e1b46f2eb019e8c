#include "relay/messages.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/meter_id.h"
#include "core/time.h"
#include "crypto/crypto.h"

namespace mh::relay {
namespace {

using nlohmann::json;

Result<json> ParseObject(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(std::string(what) + ": not valid JSON");
  if (!j.is_object()) return InvalidArgument(std::string(what) + ": not a JSON object");
  return j;
}

Result<std::string> StringField(const json& j, const char* field, std::string_view what) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string())
    return InvalidArgument(std::string(what) + ": field \"" + field + "\" must be a string");
  return it->get<std::string>();
}

Result<int64_t> IntField(const json& j, const char* field, std::string_view what, int64_t lo, int64_t hi) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
    return InvalidArgument(std::string(what) + ": field \"" + field + "\" must be an integer in " +
                           std::to_string(lo) + ".." + std::to_string(hi));
  return it->get<int64_t>();
}

Result<std::string> MeterIdField(const json& j, const char* field, std::string_view what) {
  MH_ASSIGN_OR_RETURN(std::string id, StringField(j, field, what));
  if (!IsValidMeterId(id))
    return InvalidArgument(std::string(what) + ": field \"" + field + "\" is not a meter id: '" + id + "'");
  return id;
}

Result<std::vector<uint8_t>> HexField(const json& j, const char* field, std::string_view what) {
  MH_ASSIGN_OR_RETURN(std::string hex, StringField(j, field, what));
  Result<crypto::Bytes> bytes = crypto::HexDecode(hex);
  if (!bytes.ok()) return InvalidArgument(std::string(what) + ": field \"" + field + "\" is not hex");
  return std::move(bytes).value();
}

}  // namespace

Result<ReportMessage> ParseReportMessage(std::string_view text) {
  constexpr std::string_view what = "relay report";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  ReportMessage m;
  MH_ASSIGN_OR_RETURN(m.meter_id, MeterIdField(j, "meter", what));
  auto it = j.find("reports");
  if (it == j.end() || !it->is_array()) return InvalidArgument("relay report: field \"reports\" must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& r = (*it)[i];
    const std::string where = "relay report: reports[" + std::to_string(i) + "]";
    if (!r.is_object()) return InvalidArgument(where + ": not an object");
    LevelReport report;
    report.meter_id = m.meter_id;
    MH_ASSIGN_OR_RETURN(int64_t sub_period, IntField(r, "sub_period", where, 0, 1439));
    MH_ASSIGN_OR_RETURN(int64_t level, IntField(r, "level", where, 0, 1000000));
    report.sub_period = static_cast<int>(sub_period);
    report.level = static_cast<int>(level);
    m.reports.push_back(report);
  }
  return m;
}

std::string EncodeReportMessage(const ReportMessage& m) {
  json reports = json::array();
  for (const LevelReport& r : m.reports) reports.push_back({{"sub_period", r.sub_period}, {"level", r.level}});
  return json{{"meter", m.meter_id}, {"reports", reports}}.dump();
}

Result<ForwardMessage> ParseForwardMessage(std::string_view text) {
  constexpr std::string_view what = "relay forward";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  ForwardMessage m;
  MH_ASSIGN_OR_RETURN(m.relay_meter_id, MeterIdField(j, "relay", what));
  MH_ASSIGN_OR_RETURN(m.batch.origin_meter_id, MeterIdField(j, "origin", what));
  MH_ASSIGN_OR_RETURN(int64_t code, IntField(j, "failure_code", what, 0, 65535));
  m.batch.failure_code = static_cast<uint16_t>(code);
  MH_ASSIGN_OR_RETURN(m.tag, HexField(j, "tag", what));
  if (m.tag.size() != 32) return InvalidArgument("relay forward: field \"tag\" must be 64 hex chars");
  auto it = j.find("readings");
  if (it == j.end() || !it->is_array()) return InvalidArgument("relay forward: field \"readings\" must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& r = (*it)[i];
    const std::string where = "relay forward: readings[" + std::to_string(i) + "]";
    if (!r.is_object()) return InvalidArgument(where + ": not an object");
    Reading reading;
    reading.meter_id = m.batch.origin_meter_id;
    auto ts = r.find("ts");
    if (ts == r.end() || !ts->is_number_integer()) return InvalidArgument(where + ": field \"ts\" must be epoch seconds");
    reading.ts = ts->get<int64_t>();
    auto value = r.find("value");
    if (value == r.end() || !(value->is_null() || value->is_number()))
      return InvalidArgument(where + ": field \"value\" must be a number or null");
    if (value->is_number()) {
      const double v = value->get<double>();
      if (!std::isfinite(v)) return InvalidArgument(where + ": field \"value\" is not finite");
      reading.value = v;
    }
    if (auto raw = r.find("raw"); raw != r.end()) {
      if (!raw->is_string()) return InvalidArgument(where + ": field \"raw\" must be a string");
      reading.raw_value = raw->get<std::string>();
    }
    m.batch.readings.push_back(std::move(reading));
  }
  return m;
}

std::string EncodeForwardMessage(const ForwardMessage& m) {
  json readings = json::array();
  for (const Reading& r : m.batch.readings) {
    json o = {{"ts", r.ts}, {"value", r.value ? json(*r.value) : json(nullptr)}};
    if (!r.raw_value.empty()) o["raw"] = r.raw_value;
    readings.push_back(std::move(o));
  }
  return json{{"relay", m.relay_meter_id},
              {"origin", m.batch.origin_meter_id},
              {"failure_code", m.batch.failure_code},
              {"readings", readings},
              {"tag", crypto::HexEncode(m.tag)}}
      .dump();
}

Result<OutcomeMessage> ParseOutcomeMessage(std::string_view text) {
  constexpr std::string_view what = "relay outcome";
  constexpr int64_t kCount = int64_t{1} << 40;  // any real count is far below
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  OutcomeMessage m;
  meter::RelayOutcome& o = m.outcome;
  MH_ASSIGN_OR_RETURN(m.meter_id, MeterIdField(j, "meter", what));
  MH_ASSIGN_OR_RETURN(o.night_s, IntField(j, "night", what, 0, int64_t{253402300799}));  // up to 9999-12-31
  auto uplink = j.find("uplink");
  if (uplink == j.end() || !uplink->is_object()) return InvalidArgument("relay outcome: field \"uplink\" must be an object");
  const std::string up = "relay outcome: uplink";
  MH_ASSIGN_OR_RETURN(int64_t attempts, IntField(*uplink, "attempts", up, 0, kCount));
  MH_ASSIGN_OR_RETURN(int64_t failures, IntField(*uplink, "failures", up, 0, attempts));
  o.uplink_attempts = static_cast<uint64_t>(attempts);
  o.uplink_failures = static_cast<uint64_t>(failures);
  auto codes = uplink->find("failure_codes");
  if (codes == uplink->end() || !codes->is_array() || codes->size() > 65536)
    return InvalidArgument("relay outcome: uplink: field \"failure_codes\" must be an array of 0..65535");
  for (const json& c : *codes) {
    if (!c.is_number_integer() || c.get<int64_t>() < 0 || c.get<int64_t>() > 65535)
      return InvalidArgument("relay outcome: uplink: field \"failure_codes\" must be an array of 0..65535");
    o.uplink_failure_codes.push_back(static_cast<uint16_t>(c.get<int64_t>()));
  }
  std::sort(o.uplink_failure_codes.begin(), o.uplink_failure_codes.end());
  o.uplink_failure_codes.erase(std::unique(o.uplink_failure_codes.begin(), o.uplink_failure_codes.end()),
                               o.uplink_failure_codes.end());
  auto relays = j.find("relays");
  if (relays == j.end() || !relays->is_array()) return InvalidArgument("relay outcome: field \"relays\" must be an array");
  for (size_t i = 0; i < relays->size(); ++i) {
    const json& r = (*relays)[i];
    const std::string where = "relay outcome: relays[" + std::to_string(i) + "]";
    if (!r.is_object()) return InvalidArgument(where + ": not an object");
    meter::RelayTry t;
    MH_ASSIGN_OR_RETURN(t.ssid, StringField(r, "ssid", where));
    if (t.ssid.empty() || t.ssid.size() > 32) return InvalidArgument(where + ": field \"ssid\" must be 1-32 characters");
    MH_ASSIGN_OR_RETURN(int64_t code, IntField(r, "failure_code", where, 0, 65535));
    MH_ASSIGN_OR_RETURN(int64_t readings, IntField(r, "readings", where, 0, kCount));
    auto ok = r.find("ok");
    if (ok == r.end() || !ok->is_boolean()) return InvalidArgument(where + ": field \"ok\" must be true or false");
    t.failure_code = static_cast<uint16_t>(code);
    t.readings = static_cast<size_t>(readings);
    t.ok = ok->get<bool>();
    o.relays.push_back(std::move(t));
  }
  MH_ASSIGN_OR_RETURN(int64_t aged_out, IntField(j, "aged_out", what, 0, kCount));
  MH_ASSIGN_OR_RETURN(int64_t queued, IntField(j, "queued", what, 0, kCount));
  o.aged_out = static_cast<uint64_t>(aged_out);
  o.queued = static_cast<uint64_t>(queued);
  return m;
}

namespace {
json RelayTriesJson(const std::vector<meter::RelayTry>& tries) {
  json relays = json::array();
  for (const meter::RelayTry& t : tries)
    relays.push_back({{"ssid", t.ssid}, {"failure_code", t.failure_code}, {"readings", t.readings}, {"ok", t.ok}});
  return relays;
}
}  // namespace

std::string EncodeRelayTries(const std::vector<meter::RelayTry>& tries) { return RelayTriesJson(tries).dump(); }

std::string EncodeOutcomeMessage(const OutcomeMessage& m) {
  const meter::RelayOutcome& o = m.outcome;
  return json{{"meter", m.meter_id},
              {"night", o.night_s},
              {"uplink", {{"attempts", o.uplink_attempts}, {"failures", o.uplink_failures},
                          {"failure_codes", o.uplink_failure_codes}}},
              {"relays", RelayTriesJson(o.relays)},
              {"aged_out", o.aged_out},
              {"queued", o.queued}}
      .dump();
}

std::string FormatWindow(const meter::SlotOptions& s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d-%02d:%02d", s.window_start_min / 60, s.window_start_min % 60,
                s.window_end_min / 60, s.window_end_min % 60);
  return buf;
}

std::string EncodeTargetCommand(const TargetCommand& c) {
  return json{{"type", "relay_target"},
              {"region_code", c.region_code},
              {"sub_period", c.target.sub_period},
              {"window", FormatWindow(c.target.slots)},
              {"slot_minutes", c.target.slots.slot_minutes},
              {"slots_per_region", c.target.slots.slots_per_region},
              {"fanout", meter::FanoutName(c.target.fanout)}}
      .dump();
}

std::string EncodeKeysCommand(const KeysCommand& c) {
  return json{{"type", "region_keys"},
              {"region_code", c.region_code},
              {"current_key_id", c.current_key_id},
              {"sealed", crypto::HexEncode(c.sealed)}}
      .dump();
}

Result<std::string> CommandType(std::string_view text) {
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, "command"));
  return StringField(j, "type", "command");
}

Result<TargetCommand> ParseTargetCommand(std::string_view text) {
  constexpr std::string_view what = "relay_target command";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  TargetCommand c;
  MH_ASSIGN_OR_RETURN(c.region_code, StringField(j, "region_code", what));
  MH_ASSIGN_OR_RETURN(int64_t sub_period, IntField(j, "sub_period", what, 0, 1439));
  c.target.sub_period = static_cast<int>(sub_period);
  MH_ASSIGN_OR_RETURN(std::string window, StringField(j, "window", what));
  MH_RETURN_IF_ERROR(meter::ParseWindow(window, &c.target.slots).WithContext(std::string(what)));
  MH_ASSIGN_OR_RETURN(int64_t slot, IntField(j, "slot_minutes", what, 1, 1440));
  c.target.slots.slot_minutes = static_cast<int>(slot);
  if (j.contains("slots_per_region")) {
    MH_ASSIGN_OR_RETURN(int64_t count, IntField(j, "slots_per_region", what, 1, 1440));
    c.target.slots.slots_per_region = static_cast<int>(count);
  }
  if (j.contains("fanout")) {
    MH_ASSIGN_OR_RETURN(std::string fanout, StringField(j, "fanout", what));
    std::optional<meter::Fanout> parsed = meter::ParseFanout(fanout);
    if (!parsed) return InvalidArgument(std::string(what) + ": field \"fanout\" must be \"all\" or \"first\"");
    c.target.fanout = *parsed;
  }
  return c;
}

Result<KeysCommand> ParseKeysCommand(std::string_view text) {
  constexpr std::string_view what = "region_keys command";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(text, what));
  KeysCommand c;
  MH_ASSIGN_OR_RETURN(c.region_code, StringField(j, "region_code", what));
  MH_ASSIGN_OR_RETURN(int64_t id, IntField(j, "current_key_id", what, 1, 255));
  c.current_key_id = static_cast<int>(id);
  MH_ASSIGN_OR_RETURN(c.sealed, HexField(j, "sealed", what));
  return c;
}

}  // namespace mh::relay
