// The MQTT payloads between an audited meter and the audit server (docs/formats/audit.md "Audit
// topics"): what the meter sends (a first monitoring time, its segments — at a cycle end or as the
// answer to a request) and the commands it receives on meters/<shard>/<id>/commands (its next
// cycle length, a request for its segments). Built and parsed here, for the server, the simulated
// meters and the tests alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "meter/audit/plugin.h"

namespace mh::audit {

// audit/signal: {"seq":1,"day":20777,"signal":"mh-signal 1 day=… window=1/3 tz=0 t=… edge=start"}
std::string SignalMessage(const meter::audit::SignalEvent& event);

// audit/segments: {"fixed_image_hex":"…","dynamic":"mh-dynamic 1\n…","compare":"mh-compare 1\n…"}
// plus "request_id" when it answers a send_segments command.
struct SegmentsMessage {
  std::string fixed_image;  // bytes
  std::string dynamic_text;
  std::string compare_text;
  std::string request_id;   // empty: sent at a cycle end, unasked
};
std::string FormatSegmentsMessage(const SegmentsMessage& message);
// InvalidArgument naming the field; the texts are not parsed here.
Result<SegmentsMessage> ParseSegmentsMessage(std::string_view payload);

// Commands (server → meter).
// {"type":"audit_cycle","d":D,"from":"YYYY-MM-DD"}: the head-end's cycle length (SPEC 4.1) for the
// cycles starting on or after `from` (a local day); the plugin uses it in place of C (SPEC 4.4).
struct AuditCycleCommand {
  int d = 3;
  int64_t from_day = 0;
};
// {"type":"send_segments","request_id":"…"}: answer with the segments, echoing request_id.
struct SendSegmentsCommand {
  std::string request_id;
};
std::string FormatCommand(const AuditCycleCommand& command);
std::string FormatCommand(const SendSegmentsCommand& command);
// The audit commands; std::monostate for a command of another area (another "type"), which a
// meter's audit plugin ignores. InvalidArgument for a malformed audit command.
using AuditCommand = std::variant<std::monostate, AuditCycleCommand, SendSegmentsCommand>;
Result<AuditCommand> ParseAuditCommand(std::string_view payload);

}  // namespace mh::audit
