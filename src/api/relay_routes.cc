// REST routes of the relay head-end (seed 000): regions, their sub-periods and target, relay
// identities, level reports, forwarded batches and statistics.
#include "http/server.h"

#include "api/route_kit.h"
#include "relay/messages.h"
#include "relay/relay_service.h"

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

Status NeedsStaff(const Principal& who) {
  if (who.role == Role::kCustomer) return PermissionDenied("relay data is for staff tokens");
  return Status::Ok();
}

}  // namespace

void AddRelayRoutes(http::Server& srv, store::Store* st, relay::RelayService* rs) {
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
    // The device key is shown here only: it is provisioned into the meter, never listed again.
    SendJson(res, 201, {{"meter_id", m.meter_id}, {"region_code", m.region_code}, {"position_code", m.position_code},
                        {"region_name", m.region_name}, {"device_key", m.device_key_hex}});
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
  srv.Post("/api/v1/relay/forward", guarded([rs](const Principal& who, const http::Request& req,
                                                  http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("posting forwarded batches needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(relay::ForwardMessage m, relay::ParseForwardMessage(req.body));
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
    MH_ASSIGN_OR_RETURN(store::RelayBatchTotals t, rs->Totals());
    MH_ASSIGN_OR_RETURN(std::vector<store::RelayBatchRecord> batches,
                        st->ListRelayBatches(req.get_param_value("relay"), limit));
    json recent = json::array();
    for (const auto& b : batches)
      recent.push_back({{"digest", b.digest_hex}, {"origin", b.origin_meter_id}, {"relay", b.relay_meter_id},
                        {"outcome", b.outcome}, {"readings", b.readings}, {"copies", b.copies},
                        {"received_at_ms", b.received_at}});
    SendJson(res, 200, {{"batches", {{"accepted", t.accepted}, {"duplicates", t.duplicates},
                                      {"rejected", t.rejected}, {"unknown_origin", t.unknown_origin}}},
                        {"readings_delivered", t.readings}, {"recent", recent}});
    return Status::Ok();
  }));
}

}  // namespace mh::api
