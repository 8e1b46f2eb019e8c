// The records the REST API answers with, as OpenAPI components (#/components/schemas/NAME): one
// schema per JSON shape a route file writes (MeterJson, ReadingJson, DeliveryJson, ...). A change
// to one of those functions changes its schema here; tests/openapi_responses_test.cc validates
// real answers against them.
#include "api/openapi_kit.h"

namespace mh::api::oas {
namespace {

const json kAny = json::object();  // a value of any type (a decoder's or a receiver's own JSON)

void AddCoreSchemas(json& s) {
  s["Error"] = Obj({{"error", Obj({{"code", Str()}, {"message", Str()}}, {"code", "message"})}}, {"error"});
  s["Meter"] = Obj(
      {{"meter_id", Str()}, {"kind", Enum({"electricity", "water"})}, {"customer_id", Str()},
       {"timezone", Str("a UTC offset (+08:00) or an IANA zone")}, {"interval_s", Int()}, {"created_at", Time()},
       {"register_max", Nullable(Num())}, {"customer_threshold", Nullable(Num())}, {"group", Nullable(Str())},
       {"protocol", Str("only for meters read over their own protocol")}, {"address", Str()}, {"gateway", Nullable(Str())},
       {"billing_channel", Str()},
       {"thresholds", Obj({{"t1", Nullable(Num())}, {"t1_source", Enum({"customer", "learned", "none"})},
                           {"t1_learned", Nullable(Num())}, {"t2", Nullable(Num())}})},
       {"command", Obj({{"payload", AnyObj()}, {"result", Str("sent, no broker or failed: <why>")}, {"changed", Bool()}})}},
      {"meter_id", "kind", "customer_id", "timezone", "interval_s", "created_at"});
  s["Reading"] = Obj({{"timestamp", Time()}, {"value", Num()}, {"consumption", Num()}, {"source", Str()},
                      {"quality", Str()}, {"version", Int()}, {"estimated", Bool()}, {"channel", Str()}},
                     {"timestamp", "value", "consumption", "source", "quality", "version", "estimated"});
  s["ReadingVersions"] = Obj(
      {{"meter_id", Str()}, {"timestamp", Time()}, {"current", Nullable(Ref("Reading"))},
       {"versions", Arr(Obj({{"version", Int()}, {"value", Num()}, {"consumption", Num()}, {"source", Str()},
                             {"quality", Str()}, {"replaced_at", Time()}, {"replaced_by", Str()}, {"reason", Str()}},
                            {"version", "value", "replaced_at", "replaced_by", "reason"}))}},
      {"meter_id", "timestamp", "current", "versions"});
  s["Consumption"] = Obj({{"meter_id", Str()}, {"period", Str()}, {"unit", Enum({"kWh", "m3"})},
                          {"consumption", Arr(Obj({{"period_start", Time()}, {"period_end", Time()}, {"consumption", Num()},
                                                   {"estimated_consumption", Num()}, {"readings", Int()}},
                                                  {"period_start", "period_end", "consumption", "readings"}))}},
                         {"meter_id", "period", "unit", "consumption"});
  s["TerminalOut"] = Obj({{"terminal_id", Str()}, {"meter_id", Str()}, {"channel", Enum({"webhook", "sms", "email"})},
                          {"address", Str()}},
                         {"terminal_id", "meter_id", "channel", "address"});
  s["QuarantinedReading"] = Obj({{"meter_id", Str()}, {"timestamp", Time()}, {"value", Nullable(Num())}, {"raw_value", Str()},
                                 {"verdict", Str()}, {"reason", Str()}, {"source", Str()}, {"received_at", Time()},
                                 {"channel", Str()}},
                                {"meter_id", "timestamp", "value", "verdict", "reason"});
  s["Alert"] = Obj({{"id", Int()}, {"meter_id", Str()}, {"terminal_id", Str()}, {"period_start", Time()}, {"timestamp", Time()},
                    {"reading", Num()}, {"period_consumption", Num()}, {"estimated_consumption", Num()},
                    {"threshold", Num()}, {"excess", Num()}, {"created_at", Time()}},
                   {"id", "meter_id", "period_start", "timestamp", "threshold", "estimated_consumption"});
  s["Delivery"] = Obj(
      {{"id", Int()}, {"alert_id", Int()}, {"meter_id", Str()}, {"terminal_id", Str()}, {"channel", Str()}, {"address", Str()},
       {"content", kAny}, {"status", Str()}, {"attempts", Int()}, {"last_error", Str()}, {"updated_at_ms", Int()},
       {"next_attempt_at_ms", Int()},
       {"attempts_log", Arr(Obj({{"attempt", Int()}, {"at_ms", Int()}, {"result", Str()}, {"error", Str()}, {"by", Str()}},
                                {"attempt", "at_ms", "result"}))}},
      {"id", "alert_id", "meter_id", "status", "attempts"});
  s["IngestSummary"] = Obj({{"received", Int()}, {"accepted", Int()}, {"duplicates", Int()},
                            {"quarantined", Obj({{"null", Int()}, {"error", Int()}, {"sudden", Int()}})},
                            {"rejected", Int()}, {"conflicts", Int()}, {"alerts", Int()},
                            {"issues", Arr(Obj({{"line", Int()}, {"field", Str()}, {"message", Str()}}))}},
                           {"received", "accepted", "duplicates", "quarantined", "rejected", "issues"});
  s["Status"] = Obj({{"meters", Int()}, {"readings", Int("actual readings stored (estimates not counted)")},
                     {"readings_estimated", Int("estimates stored (docs/estimation.md)")}, {"quarantined", Int()},
                     {"customer_id", Str("a customer's status: its own meters only")}, {"meter_ids", Arr(Str())}},
                    {"meters"});
}

void AddAccessAndFleetSchemas(json& s) {
  s["Session"] = Obj({{"role", Str()}, {"name", Str()}, {"customer_id", Str()}, {"csrf_token", Nullable(Str())},
                      {"expires_at", Time()}},
                     {"role", "name", "customer_id"});
  s["Token"] = Obj({{"id", Str()}, {"name", Str()}, {"role", Str()}, {"customer_id", Str()}, {"created_at", Time()},
                    {"expires_at", Nullable(Time())}, {"revoked_at", Nullable(Time())}},
                   {"id", "name", "role", "created_at"});
  s["NewToken"] = Obj({{"token", Str("shown once")}, {"id", Str()}, {"name", Str()}, {"role", Str()}, {"customer_id", Str()},
                       {"created_at", Time()}, {"expires_at", Nullable(Time())}},
                      {"token", "id", "role"});
  s["User"] = Obj({{"username", Str()}, {"role", Str()}, {"customer_id", Str()}, {"created_at", Time()}},
                  {"username", "role", "created_at"});
  const json counts{{"type", "object"}, {"additionalProperties", Int()}};
  s["FleetSummary"] = Obj({{"generated_at", Time()}, {"meters", Int()}, {"by_kind", counts},
                           {"by_region", Arr(Obj({{"region_code", Str()}, {"meters", Int()}}))}, {"by_state", counts},
                           {"quarantine_by_verdict", counts}, {"alerts_today", Int()}, {"deliveries", counts},
                           {"delivery_failures", Int()},
                           {"ingest", Obj({{"readings_per_s", Nullable(Num())}, {"received_total", Int()}, {"accepted_total", Int()}})},
                           {"mqtt", kAny}},
                          {"generated_at", "meters", "by_kind"});
  s["DayConsumption"] = Obj({{"date", Str()},
                             {"meters", Arr(Obj({{"meter_id", Str()}, {"kind", Str()}, {"unit", Str()},
                                                 {"consumption", Nullable(Num())}, {"readings", Int()},
                                                 {"last_reading_at", Nullable(Time())}},
                                                {"meter_id", "consumption", "readings"}))},
                             {"limit", Int()}, {"next", Nullable(Str())}},
                            {"date", "meters", "limit", "next"});
  s["Series"] = Obj({{"meter_id", Str()}, {"unit", Str()}, {"interval_s", Int()}, {"truncated", Bool()},
                     {"t", Arr(Int())}, {"value", Arr(Num())}, {"consumption", Arr(Num())}},
                    {"meter_id", "t", "value", "consumption"});
}

void AddRelaySchemas(json& s) {
  s["RelayRegion"] = Obj({{"region_code", Str()}, {"region_name", Str()}, {"meters", Int()},
                          {"sub_periods", Arr(Obj({{"sub_period", Int()}, {"region_level", Nullable(Int())},
                                                   {"reporting_meters", Int()}}))},
                          {"target_sub_period", Nullable(Int())}, {"key_ids", Arr(Int())}},
                         {"region_code", "meters", "sub_periods"});
  s["RelayMeter"] = Obj({{"meter_id", Str()}, {"region_code", Str()}, {"position_code", Str()}, {"region_name", Str()},
                         {"device_key", Str("64 hex digits, shown once")}, {"window", Str()}, {"slot_minutes", Int()},
                         {"slots_per_region", Int()}, {"fanout", Str()}},
                        {"meter_id", "region_code", "position_code", "device_key"});
  s["RelayBatch"] = Obj({{"digest", Str()}, {"origin", Str()}, {"relay", Str()}, {"outcome", Str()}, {"readings", Int()},
                         {"copies", Int()}, {"failure_code", Nullable(Int())}, {"received_at_ms", Int()}});
  s["RelayWorkOrder"] = Obj({{"id", Int()}, {"meter", Str()}, {"first_night", Time()}, {"last_night", Time()}, {"nights", Int()},
                             {"state", Str()}, {"attempts", Int()}, {"last_error", Str()}, {"opened_at_ms", Int()},
                             {"updated_at_ms", Int()}, {"order", kAny}},
                            {"id", "meter", "state"});
  s["RelayMeterView"] = Obj({{"meter_id", Str()}, {"region_code", Str()}, {"position_code", Str()}, {"region_name", Str()},
                             {"uplink_failed_nights", Int()}, {"batches", Arr(Ref("RelayBatch"))},
                             {"outcomes", Arr(AnyObj())}, {"work_orders", Arr(Ref("RelayWorkOrder"))}},
                            {"meter_id", "batches", "outcomes", "work_orders"});
  s["RelayStats"] = Obj({{"batches", Obj({{"accepted", Int()}, {"duplicates", Int()}, {"rejected", Int()},
                                          {"unknown_origin", Int()}})},
                         {"readings_delivered", Int()}, {"recent", Arr(Ref("RelayBatch"))}},
                        {"batches", "recent"});
}

void AddAuditAndWaterSchemas(json& s) {
  s["SignedTreeHead"] = Obj({{"size", Int()}, {"root_hash", Str()}, {"timestamp_ms", Int()}, {"signature", Str()},
                             {"public_key", Str()}},
                            {"size", "root_hash", "timestamp_ms", "signature"});
  s["AuditMeter"] = Obj({{"meter_id", Str()}, {"user_attribute", Str()}, {"region", Nullable(Str())}, {"commissioned_at", kAny},
                         {"silent_misses", Int()}, {"cycle", Nullable(AnyObj())}},
                        {"meter_id"});
  s["AuditCommissioning"] = Obj({{"meter_id", Str()}, {"commissioning", Int()}, {"registered_at", kAny},
                                 {"image_sha256", Str()}, {"compare", Str()}, {"user_attribute", Str()},
                                 {"region", Nullable(Str())}, {"ledger_size", Int()}},
                                {"meter_id", "commissioning"});
  s["AuditResult"] = Obj({{"id", kAny}, {"meter_id", Str()}, {"audited_at", Time()}, {"trigger", Str()},
                          {"result", Enum({"pass", "alarm"})}, {"alarms", Arr(Str())}, {"reasons", Arr(Str())},
                          {"order_id", Nullable(Str())}, {"segments", kAny}, {"silent", kAny}, {"notes", kAny}},
                         {"meter_id", "audited_at", "result"});
  s["InspectionOrder"] = Obj({{"order_id", Str()}, {"meter_id", Str()}, {"created_at", Time()}, {"priority", kAny},
                              {"summary", Str()}, {"state", Str()}, {"attempts", Int()}, {"last_error", Str()},
                              {"order", Nullable(AnyObj())}},
                             {"order_id", "meter_id", "state"});
  s["AuditAlarm"] = Obj({{"meter_id", Str()}, {"audited_at", Time()}, {"result_id", kAny}, {"alarm", Str()}, {"reason", Str()},
                         {"inspection_order", Nullable(Ref("InspectionOrder"))}},
                        {"meter_id", "alarm"});
  s["CommissionIn"] = Obj({{"fixed_image", Str("the fixed code as text")}, {"fixed_image_hex", Str("the fixed code, hex")},
                          {"compare", Str("mh-compare 1 table; default lines 3-11")}, {"reason", Str("re-commissioning: why")},
                          {"registered_at", Nullable(Int())}, {"user_attribute", Nullable(Enum({"enterprise", "residential"}))},
                          {"region", Nullable(Str("9 digits"))}});
  s["OperatingChange"] = {{"type", "object"},
                          {"minProperties", 1},
                          {"additionalProperties", false},
                          {"properties", {{"zero_offset", Num()}, {"low_flow_cutoff", Num()}, {"gain", Num()}}}};
  s["WaterCorrection"] = AnyObj();
  s["WaterCorrection"]["description"] = "the terminal's correction after the visit (docs/water.md)";
  // The water routes' lists (water_routes.cc): a checked window, a command with its state, a
  // history entry, a refused frame. "parameters" stays open: a fit's parameters or a correction.
  s["WaterWindow"] = Obj({{"window_start", Time()}, {"window_s", Int()}, {"verdict", Str("none, steady, unsteady or too_few_pairs")},
                          {"form", Str()}, {"pairs", Int()}, {"parameters", {{"description", "the fitted parameters"}}},
                          {"reason", Str()}, {"checked_at", Time()}},
                         {"window_start", "window_s", "verdict", "pairs", "checked_at"});
  s["WaterCommand"] = Obj({{"command_id", Str()}, {"source", Str("window (a fit), photo or engineer")}, {"issued_at", Time()},
                           {"expires_at", Time()}, {"parameters", {{"description", "the correction or operating change sent"}}},
                           {"status", Str()}, {"acked_at", Nullable(Time())}},
                          {"command_id", "source", "issued_at", "status"});
  s["WaterHistoryEntry"] = Obj({{"id", Int()}, {"at", Time()}, {"event", Str()}, {"detail", Str("JSON text of the event")}},
                               {"id", "at", "event", "detail"});
  s["WaterRejected"] = Obj({{"topic", Str()}, {"reason", Str("the decoder's error")}}, {"topic", "reason"});
  s["WaterPair"] = Obj({{"terminal_id", Str()}, {"feature_code", Str()}, {"flowmeter_id", Str()}, {"phone", Str()},
                        {"updated_at", Time()}},
                       {"terminal_id", "flowmeter_id"});
  s["WaterWorkOrder"] = Obj({{"id", Int()}, {"terminal_id", Str()}, {"feature_code", Str()}, {"reason", Str()},
                             {"opened_at", Time()}, {"status", Enum({"open", "done"})}},
                            {"id", "terminal_id", "status"});
  s["Calibration"] = Obj({{"flowmeter_id", Str()}, {"terminal_id", Str()}, {"feature_code", Str()}, {"calibrated_at", Time()},
                          {"due_at", Nullable(Time())}, {"closed_work_orders", kAny}},
                         {"flowmeter_id", "calibrated_at"});
}

}  // namespace

void AddResponseSchemas(json& schemas) {
  AddCoreSchemas(schemas);
  AddAccessAndFleetSchemas(schemas);
  AddRelaySchemas(schemas);
  AddAuditAndWaterSchemas(schemas);
}

}  // namespace mh::api::oas
