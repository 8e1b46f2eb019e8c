// REST routes of the relay head-end (seed 000): regions, their sub-periods and target, relay
// identities, level reports, forwarded batches and statistics, and for technicians the failure
// codes and nightly outcomes per meter and region and the uplink work orders.
#include "http/server.h"

#include "api/route_kit.h"
#include "relay/messages.h"
#include "relay/relay_service.h"
#include "store/commit_fence.h"

namespace mh::api {
namespace {

json RegionJson(const relay::RegionView& v) {
  json levels = json::array();
  for (int sp : v.sub_periods) {
    auto level = v.levels.find(sp);
    auto reporters = v.reporters.find(sp);
    levels.push_back({{"sub_period", sp},
                      {"region_level", level == v.levels.end() ? json(nullptr) : json(level->second)},
                      {"reporting_meters", reporters == v.reporters.end() ? 0 : reporters->second}});
  }
  return {{"region_code", v.region_code},
          {"region_name", v.region_name},
          {"meters", v.meters},
          {"sub_periods", levels},
          {"target_sub_period", v.target ? json(*v.target) : json(nullptr)},
          {"key_ids", v.key_ids}};
}

json BatchJson(const store::RelayBatchRecord& b) {
  return {{"digest", b.digest_hex}, {"origin", b.origin_meter_id}, {"relay", b.relay_meter_id},
          {"outcome", b.outcome}, {"readings", b.readings}, {"copies", b.copies},
          {"failure_code", b.failure_code ? json(*b.failure_code) : json(nullptr)}, {"received_at_ms", b.received_at}};
}

json OutcomeJson(const store::RelayOutcomeRecord& o) {
  const json codes = relay::SplitFailureCodes(o.uplink_failure_codes);
  json relays = json::parse(o.relays_json, nullptr, /*allow_exceptions=*/false);
  return {{"night", Iso(o.night)}, {"night_s", o.night}, {"region_code", o.region_code},
          {"uplink", {{"attempts", o.uplink_attempts}, {"failures", o.uplink_failures}, {"failure_codes", codes},
                      {"failed", o.UplinkFailed()}}},
          {"relays", relays.is_discarded() ? json::array() : relays},
          {"relay_attempts", o.relay_attempts}, {"relay_failures", o.relay_failures},
          {"delivered_via_relay", o.delivered_via_relay}, {"aged_out", o.aged_out}, {"queued", o.queued},
          {"received_at_ms", o.received_at}};
}

json TotalsJson(const store::RelayOutcomeTotals& t) {
  return {{"reports", t.reports}, {"meters", t.meters}, {"uplink_attempts", t.uplink_attempts},
          {"uplink_failures", t.uplink_failures}, {"uplink_failed_nights", t.uplink_failed_nights},
          {"relay_attempts", t.relay_attempts}, {"relay_failures", t.relay_failures},
          {"delivered_via_relay", t.delivered_via_relay}, {"aged_out", t.aged_out}};
}

json WorkOrderJson(const store::RelayWorkOrder& o) {
  json content = json::parse(o.content, nullptr, /*allow_exceptions=*/false);
  return {{"id", o.id}, {"meter", o.meter_id}, {"first_night", Iso(o.first_night)}, {"last_night", Iso(o.last_night)},
          {"nights", o.nights}, {"state", o.state}, {"attempts", o.attempts}, {"last_error", o.last_error},
          {"opened_at_ms", o.opened_at}, {"updated_at_ms", o.updated_at},
          {"order", content.is_discarded() ? json(o.content) : content}};
}

Status NeedsStaff(const Principal& who) {
  if (who.role == Role::kCustomer) return PermissionDenied("relay data is for staff tokens");
  return Status::Ok();
}

}  // namespace

void AddRelayRoutes(http::Server& srv, store::Store* st, relay::RelayService* rs, ShardRouting routing) {
  auto guarded = [st](auto handler) { return Guarded(st, handler); };
  srv.Get("/api/v1/relay/regions", guarded([rs](const Principal& who, const http::Request&,
                                                 http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(std::vector<relay::RegionView> regions, rs->Regions());
    json out = json::array();
    for (const auto& v : regions) out.push_back(RegionJson(v));
    SendJson(res, 200, {{"regions", out}});
    return Status::Ok();
  }));
  srv.Get(R"(/api/v1/relay/regions/([0-9]{9}))", guarded([rs](const Principal& who, const http::Request& req,
                                                               http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(relay::RegionView v, rs->Region(req.matches[1]));
    SendJson(res, 200, RegionJson(v));
    return Status::Ok();
  }));
  srv.Post(R"(/api/v1/relay/regions/([0-9]{9})/rotate-key)",
           guarded([rs](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite()) return PermissionDenied("rotating region keys needs an admin or operator token");
             MH_ASSIGN_OR_RETURN(relay::RegionView v, rs->Region(req.matches[1]));
             MH_ASSIGN_OR_RETURN(int id, rs->RotateKey(v.region_code));
             SendJson(res, 200, {{"region_code", v.region_code}, {"key_id", id}});
             return Status::Ok();
           }));
  srv.Post("/api/v1/relay/meters", guarded([rs](const Principal& who, const http::Request& req,
                                                 http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("registering relay meters needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    relay::RelayRegistration r;
    // Bounded at the API edge like every text field (route_kit's text rules): a 50,000-character
    // install address overflowed the stack of the region pattern's std::regex_search.
    MH_RETURN_IF_ERROR(TextField(body, "meter_id", kMeterIdText, &r.meter_id, true));
    MH_RETURN_IF_ERROR(TextField(body, "region_code", kWordText, &r.region_code, true));
    MH_RETURN_IF_ERROR(TextField(body, "position_code", kWordText, &r.position_code, true));
    MH_RETURN_IF_ERROR(TextField(body, "install_address", kAddressText, &r.install_address, false));
    MH_RETURN_IF_ERROR(TextField(body, "device_key", kIdText, &r.device_key_hex, false));
    MH_ASSIGN_OR_RETURN(store::RelayMeter m, rs->RegisterMeter(r));
    // The device key is shown here only: it is provisioned into the meter, never listed again,
    // with the region name and the allocation rule (SPEC 2.1) the meter starts from.
    const meter::SlotOptions& rule = rs->options().slots;
    SendJson(res, 201, {{"meter_id", m.meter_id}, {"region_code", m.region_code}, {"position_code", m.position_code},
                        {"region_name", m.region_name}, {"device_key", m.device_key_hex},
                        {"window", relay::FormatWindow(rule)}, {"slot_minutes", rule.slot_minutes},
                        {"slots_per_region", rule.slots_per_region}, {"fanout", meter::FanoutName(rs->options().fanout)}});
    return Status::Ok();
  }));
  srv.Post("/api/v1/relay/reports", guarded([rs](const Principal& who, const http::Request& req,
                                                  http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("posting level reports needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(relay::ReportMessage m, relay::ParseReportMessage(req.body));
    MH_ASSIGN_OR_RETURN(std::optional<int> target, rs->Report(m.meter_id, m.reports));
    SendJson(res, 200, {{"meter_id", m.meter_id}, {"target_sub_period", target ? json(*target) : json(nullptr)}});
    return Status::Ok();
  }));
  srv.Post("/api/v1/relay/forward", guarded([rs, routing](const Principal& who, const http::Request& req,
                                                           http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("posting forwarded batches needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(relay::ForwardMessage m, relay::ParseForwardMessage(req.body));
    // Scale-out: as on MQTT, where it arrives on the relay's own shard's session, a relay's batch
    // is stored by that shard's lease holder, fenced by the lease; another worker's is forwarded.
    const ReadingsPlan plan = PlanReadings({Reading{m.relay_meter_id, 0, std::nullopt, "", ""}}, routing.route);
    if (plan.kind != ReadingsPlan::Kind::kHere) {
      AnswerElsewhere(plan, req, routing.forward, routing.retry_after_s, res);
      return Status::Ok();
    }
    std::optional<store::FenceScope> fenced;
    if (routing.route) fenced.emplace(plan.shards);
    Result<relay::ForwardOutcome> outcome = rs->Forward({m.batch, m.tag, m.relay_meter_id});
    // A failed origin tag is the batch's fault, not the caller's credentials: 422, not 401.
    if (!outcome.ok() && outcome.status().code() == StatusCode::kUnauthenticated)
      return FailedPrecondition(outcome.status().message());
    MH_RETURN_IF_ERROR(outcome.status());
    SendJson(res, 200, {{"outcome", *outcome == relay::ForwardOutcome::kAccepted ? "accepted" : "duplicate"},
                        {"readings", m.batch.readings.size()}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/relay/stats", guarded([rs, st](const Principal& who, const http::Request& req,
                                                                http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(std::string relay, TextParam(req, "relay", kMeterIdText));
    MH_ASSIGN_OR_RETURN(store::RelayBatchTotals t, rs->Totals());
    MH_ASSIGN_OR_RETURN(std::vector<store::RelayBatchRecord> batches, st->ListRelayBatches(relay, limit));
    json recent = json::array();
    for (const auto& b : batches) recent.push_back(BatchJson(b));
    SendJson(res, 200, {{"batches", {{"accepted", t.accepted}, {"duplicates", t.duplicates},
                                      {"rejected", t.rejected}, {"unknown_origin", t.unknown_origin}}},
                        {"readings_delivered", t.readings}, {"recent", recent}});
    return Status::Ok();
  }));
  // Per meter, for technicians: its batches with failure codes, its nightly outcomes, its current
  // streak of failed uplink nights and its work orders.
  srv.Get(R"(/api/v1/relay/meters/([A-Za-z0-9_-]{1,32}))", guarded([rs](const Principal& who, const http::Request& req,
                                                                       http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(relay::MeterRelayView v, rs->MeterView(req.matches[1], limit));
    json batches = json::array(), outcomes = json::array(), orders = json::array();
    for (const auto& b : v.batches) batches.push_back(BatchJson(b));
    for (const auto& o : v.outcomes) outcomes.push_back(OutcomeJson(o));
    for (const auto& o : v.work_orders) orders.push_back(WorkOrderJson(o));
    SendJson(res, 200, {{"meter_id", v.meter.meter_id}, {"region_code", v.meter.region_code},
                        {"position_code", v.meter.position_code}, {"region_name", v.meter.region_name},
                        {"uplink_failed_nights", v.uplink_failed_nights}, {"batches", batches},
                        {"outcomes", outcomes}, {"work_orders", orders}});
    return Status::Ok();
  }));
  srv.Get(R"(/api/v1/relay/regions/([0-9]{9})/outcomes)", guarded([rs](const Principal& who, const http::Request& req,
                                                                        http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(relay::RegionOutcomes v, rs->RegionOutcomeView(req.matches[1]));
    json failing = json::array();
    for (const auto& [meter, nights] : v.failing) failing.push_back({{"meter", meter}, {"uplink_failed_nights", nights}});
    SendJson(res, 200, {{"region_code", v.region_code}, {"totals", TotalsJson(v.totals)}, {"failing_uplinks", failing}});
    return Status::Ok();
  }));
  srv.Post("/api/v1/relay/outcomes", guarded([rs](const Principal& who, const http::Request& req,
                                                   http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("posting relay outcomes needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(relay::OutcomeMessage m, relay::ParseOutcomeMessage(req.body));
    MH_ASSIGN_OR_RETURN(bool fresh, rs->Outcome(m.meter_id, m.outcome));
    SendJson(res, 200, {{"meter_id", m.meter_id}, {"night_s", m.outcome.night_s}, {"stored", fresh ? "new" : "duplicate"}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/relay/work-orders", guarded([st](const Principal& who, const http::Request& req,
                                                     http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(std::string state, TextParam(req, "state", kWordText));
    if (!state.empty() && state != "open" && state != "sent" && state != "failed")
      return InvalidArgument("state must be open, sent or failed");
    MH_ASSIGN_OR_RETURN(std::string meter, TextParam(req, "meter", kMeterIdText));
    MH_ASSIGN_OR_RETURN(std::vector<store::RelayWorkOrder> orders, st->ListRelayWorkOrders(meter, state, limit));
    json out = json::array();
    for (const auto& o : orders) out.push_back(WorkOrderJson(o));
    SendJson(res, 200, {{"work_orders", out}});
    return Status::Ok();
  }));
}

}  // namespace mh::api
