// The relay's JSON messages between meters and the head-end (MQTT or HTTP), frozen in
// docs/relay.md: level reports, forwarded batches and nightly outcomes up, target and region-key
// commands down.
// Parsers return InvalidArgument naming the field that is wrong.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "meter/batch_auth.h"
#include "meter/night_schedule.h"
#include "meter/radio.h"
#include "meter/slots.h"
#include "relay/target_subperiod.h"

namespace mh::relay {

// Up, on `meters/<shard>/<id>/relay/report`: {"meter":"M1","reports":[{"sub_period":3,"level":1},…]}
struct ReportMessage {
  std::string meter_id;
  std::vector<LevelReport> reports;
};
Result<ReportMessage> ParseReportMessage(std::string_view json);
std::string EncodeReportMessage(const ReportMessage& message);

// Up, on `meters/<shard>/<relay id>/relay/forward`:
// {"relay":"R1","origin":"M2","failure_code":1,"readings":[{"ts":1600000000,"value":203.5},
//  {"ts":1600000900,"value":null,"raw":"E"}],"tag":"<64 hex>"}
struct ForwardMessage {
  std::string relay_meter_id;
  meter::RelayBatch batch;
  std::vector<uint8_t> tag;
};
Result<ForwardMessage> ParseForwardMessage(std::string_view json);
std::string EncodeForwardMessage(const ForwardMessage& message);

// Up, on `meters/<shard>/<id>/relay/outcome`: a meter's account of one night (meter::RelayOutcome)
// {"meter":"M1","night":1600000000,"uplink":{"attempts":96,"failures":3,"failure_codes":[7]},
//  "relays":[{"ssid":"elecmeter_AP…","failure_code":7,"readings":3,"ok":true}],"aged_out":0,"queued":0}
struct OutcomeMessage {
  std::string meter_id;
  meter::RelayOutcome outcome;
};
Result<OutcomeMessage> ParseOutcomeMessage(std::string_view json);
std::string EncodeOutcomeMessage(const OutcomeMessage& message);
// The message's "relays" array alone (the head-end keeps it with the stored outcome).
std::string EncodeRelayTries(const std::vector<meter::RelayTry>& tries);

// Down, on `meters/<shard>/<id>/commands`:
// {"type":"relay_target","region_code":"…","sub_period":17,"window":"00:00-06:00","slot_minutes":5,
//  "slots_per_region":4,"fanout":"all"}
// {"type":"region_keys","region_code":"…","current_key_id":2,"sealed":"<hex>"}
// A relay_target without slots_per_region or fanout (an older head-end) means 4 and "all".
struct TargetCommand {
  std::string region_code;
  meter::TargetAssignment target;  // sub-period, window, slot length, slots per region, fanout
};
struct KeysCommand {
  std::string region_code;
  int current_key_id = 0;
  std::vector<uint8_t> sealed;  // meter::SealRegionKeys
};
std::string EncodeTargetCommand(const TargetCommand& command);
std::string EncodeKeysCommand(const KeysCommand& command);
// The command's "type" (for dispatch on the meter side), then the typed parse.
Result<std::string> CommandType(std::string_view json);
Result<TargetCommand> ParseTargetCommand(std::string_view json);
Result<KeysCommand> ParseKeysCommand(std::string_view json);

// "HH:MM-HH:MM" of a window, the form ParseWindow reads.
std::string FormatWindow(const meter::SlotOptions& slots);

}  // namespace mh::relay
