#include "audit/messages.h"

#include <nlohmann/json.hpp>

#include "audit/ledger_records.h"
#include "crypto/crypto.h"
#include "meter/audit/schedule.h"

namespace mh::audit {
namespace {

using json = nlohmann::json;

Result<json> ParseObject(std::string_view payload, const char* what) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument(std::string(what) + ": not a JSON object");
  return j;
}

Result<std::string> Text(const json& j, const char* what, const char* name, bool required) {
  auto it = j.find(name);
  if (it == j.end() && !required) return std::string();
  if (it == j.end() || !it->is_string()) {
    return InvalidArgument(std::string(what) + ": field '" + name + "' missing or not a string");
  }
  return it->get<std::string>();
}

// Request ids go back and forth in topics' payloads only; bounded so a meter cannot make the
// server keep a long one.
constexpr size_t kMaxRequestId = 64;

}  // namespace

std::string SignalMessage(const meter::audit::SignalEvent& event) {
  const LedgerEntry e = EncodeSignalEvent(event);
  return json{{"seq", e.key.seq}, {"day", e.key.window}, {"signal", e.payload}}.dump();
}

std::string FormatSegmentsMessage(const SegmentsMessage& m) {
  json j{{"fixed_image_hex", crypto::HexEncode(crypto::AsBytes(m.fixed_image))},
         {"dynamic", m.dynamic_text},
         {"compare", m.compare_text}};
  if (!m.request_id.empty()) j["request_id"] = m.request_id;
  return j.dump();
}

Result<SegmentsMessage> ParseSegmentsMessage(std::string_view payload) {
  constexpr const char* kWhat = "audit segments";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(payload, kWhat));
  SegmentsMessage m;
  MH_ASSIGN_OR_RETURN(std::string fixed_hex, Text(j, kWhat, "fixed_image_hex", true));
  MH_ASSIGN_OR_RETURN(m.dynamic_text, Text(j, kWhat, "dynamic", true));
  MH_ASSIGN_OR_RETURN(m.compare_text, Text(j, kWhat, "compare", true));
  MH_ASSIGN_OR_RETURN(m.request_id, Text(j, kWhat, "request_id", false));
  if (m.request_id.size() > kMaxRequestId) return InvalidArgument("audit segments: field 'request_id' is too long");
  Result<crypto::Bytes> fixed = crypto::HexDecode(fixed_hex);
  if (!fixed.ok()) return InvalidArgument("audit segments: field 'fixed_image_hex' is not hex");
  m.fixed_image.assign(fixed->begin(), fixed->end());
  return m;
}

std::string FormatCommand(const AuditCycleCommand& c) {
  return json{{"type", "audit_cycle"}, {"d", c.d}, {"from", meter::audit::FormatDay(c.from_day)}}.dump();
}

std::string FormatCommand(const SendSegmentsCommand& c) {
  return json{{"type", "send_segments"}, {"request_id", c.request_id}}.dump();
}

Result<AuditCommand> ParseAuditCommand(std::string_view payload) {
  constexpr const char* kWhat = "audit command";
  MH_ASSIGN_OR_RETURN(json j, ParseObject(payload, kWhat));
  MH_ASSIGN_OR_RETURN(std::string type, Text(j, kWhat, "type", false));
  if (type == "audit_cycle") {
    AuditCycleCommand c;
    auto d = j.find("d");
    if (d == j.end() || !d->is_number_integer() || d->get<int64_t>() < 1 || d->get<int64_t>() > 366) {
      return InvalidArgument("audit_cycle: field 'd' missing or not a whole number of days in [1, 366]");
    }
    c.d = static_cast<int>(d->get<int64_t>());
    MH_ASSIGN_OR_RETURN(std::string from, Text(j, "audit_cycle", "from", true));
    Result<int64_t> day = meter::audit::ParseDay(from);
    if (!day.ok()) return day.status().WithContext("audit_cycle: field 'from'");
    c.from_day = *day;
    return AuditCommand(c);
  }
  if (type == "send_segments") {
    SendSegmentsCommand c;
    MH_ASSIGN_OR_RETURN(c.request_id, Text(j, "send_segments", "request_id", true));
    if (c.request_id.empty() || c.request_id.size() > kMaxRequestId) {
      return InvalidArgument("send_segments: field 'request_id' must be 1-64 characters");
    }
    return AuditCommand(c);
  }
  return AuditCommand(std::monostate{});
}

}  // namespace mh::audit
