// REST routes of water remote maintenance. Staff tokens see everything; a customer token sees (and
// posts photos for) only a terminal registered as one of its meters.
#include "api/water_routes.h"

#include "http/server.h"

#include "api/route_kit.h"
#include "core/time.h"
#include "water/operating_json.h"
#include "water/water_service.h"

namespace mh::api {
namespace {

Status NeedsStaff(const Principal& who) {
  if (who.role == Role::kCustomer) return PermissionDenied("water maintenance data is for staff tokens");
  return Status::Ok();
}

// Staff, or the customer owning the meter registered under the terminal's id.
Status MaySeeTerminal(store::Store* st, const Principal& who, const std::string& terminal_id) {
  if (who.role != Role::kCustomer) return Status::Ok();
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> meter, st->GetMeter(terminal_id));
  if (!meter || !who.CanSeeMeter(*meter)) return NotFound("no water terminal '" + terminal_id + "'");
  return Status::Ok();
}

Result<store::WaterPairRecord> PairOf(water::WaterService* ws, const std::string& terminal_id) {
  MH_ASSIGN_OR_RETURN(std::optional<store::WaterPairRecord> p, ws->store()->GetPair(terminal_id));
  if (!p) return NotFound("no water terminal '" + terminal_id + "' in the pairing table");
  return *p;
}

json PairJson(const store::WaterPairRecord& p) {
  return {{"terminal_id", p.terminal_id}, {"feature_code", p.feature_code}, {"flowmeter_id", p.flowmeter_id},
          {"phone", p.phone}, {"updated_at", Iso(p.updated_at)}};
}

json ParseOr(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(text) : j;
}

// An optional time field: ISO-8601 text or epoch seconds.
Result<std::optional<int64_t>> TimeField(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  if (it->is_number_integer()) return std::optional<int64_t>(it->get<int64_t>());
  if (!it->is_string()) return InvalidArgument(std::string("field '") + name + "' must be ISO-8601 text or epoch seconds");
  Result<int64_t> t = ParseTimestamp(it->get<std::string>());
  if (!t.ok()) return InvalidArgument(std::string("field '") + name + "': " + t.status().message());
  return std::optional<int64_t>(*t);
}

json CalibrationJson(const std::string& flowmeter, const water::WaterService::CalibrationState& c) {
  return {{"flowmeter_id", flowmeter}, {"terminal_id", c.terminal_id}, {"feature_code", c.feature_code},
          {"calibrated_at", Iso(c.calibrated_at)}, {"due_at", c.due_at == 0 ? json(nullptr) : json(Iso(c.due_at))}};
}

}  // namespace

void AddWaterRoutes(http::Server& srv, store::Store* st, water::WaterService* ws) {
  auto guarded = [st](auto handler) { return Guarded(st, handler); };
  const std::string id = R"(([A-Za-z0-9_-]{1,32}))";

  srv.Get("/api/v1/water/pairs", guarded([ws](const Principal& who, const http::Request&, http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterPairRecord> pairs, ws->Pairs());
    json out = json::array();
    for (const auto& p : pairs) out.push_back(PairJson(p));
    SendJson(res, 200, {{"pairs", out}});
    return Status::Ok();
  }));
  srv.Post("/api/v1/water/pairs", guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("pairing water devices needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    std::string terminal, flowmeter, phone;
    MH_RETURN_IF_ERROR(TextField(body, "terminal_id", kMeterIdText, &terminal, true));
    MH_RETURN_IF_ERROR(TextField(body, "flowmeter_id", kMeterIdText, &flowmeter, true));
    MH_RETURN_IF_ERROR(TextField(body, "phone", kPhoneText, &phone, false));
    MH_RETURN_IF_ERROR(ws->PutPair(terminal, flowmeter, phone));
    MH_ASSIGN_OR_RETURN(store::WaterPairRecord p, PairOf(ws, terminal));
    SendJson(res, 201, PairJson(p));
    return Status::Ok();
  }));

  srv.Get("/api/v1/water/meters/" + id + "/windows",
          guarded([st, ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            const std::string terminal = req.matches[1];
            MH_RETURN_IF_ERROR(MaySeeTerminal(st, who, terminal));
            MH_ASSIGN_OR_RETURN(store::WaterPairRecord p, PairOf(ws, terminal));
            MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
            MH_ASSIGN_OR_RETURN(std::vector<store::WaterWindowRecord> windows, ws->store()->ListWindows(p.feature_code, limit));
            json out = json::array();
            for (const auto& w : windows) {
              out.push_back({{"window_start", Iso(w.window_start)}, {"window_s", w.window_s}, {"verdict", w.verdict},
                             {"form", w.form}, {"pairs", w.pairs}, {"parameters", ParseOr(w.parameters)},
                             {"reason", w.reason}, {"checked_at", Iso(w.checked_at)}});
            }
            SendJson(res, 200, {{"terminal_id", terminal}, {"feature_code", p.feature_code}, {"windows", out}});
            return Status::Ok();
          }));

  // The parameters: every command sent (fit or photo) with its state, newest last; "current" is the
  // last acknowledged one (what the terminal applies).
  srv.Get("/api/v1/water/meters/" + id + "/parameters",
          guarded([st, ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            const std::string terminal = req.matches[1];
            MH_RETURN_IF_ERROR(MaySeeTerminal(st, who, terminal));
            MH_ASSIGN_OR_RETURN(store::WaterPairRecord p, PairOf(ws, terminal));
            MH_ASSIGN_OR_RETURN(std::vector<store::WaterCommandRecord> commands, ws->store()->ListCommands(p.feature_code));
            json out = json::array();
            json current = {{"model", "linear"}, {"a1", 1.0}, {"a2", 0.0}};
            for (const auto& c : commands) {
              out.push_back({{"command_id", c.command_id}, {"source", c.source}, {"issued_at", Iso(c.issued_at)},
                             {"expires_at", Iso(c.expires_at)}, {"parameters", ParseOr(c.correction)}, {"status", c.status},
                             {"acked_at", c.acked_at == 0 ? json(nullptr) : json(Iso(c.acked_at))}});
              if (c.status == "acknowledged" && c.source != "engineer") current = ParseOr(c.correction);
            }
            SendJson(res, 200, {{"terminal_id", terminal}, {"current", current}, {"commands", out}});
            return Status::Ok();
          }));

  srv.Get("/api/v1/water/meters/" + id + "/history",
          guarded([st, ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            const std::string terminal = req.matches[1];
            MH_RETURN_IF_ERROR(MaySeeTerminal(st, who, terminal));
            MH_ASSIGN_OR_RETURN(store::WaterPairRecord p, PairOf(ws, terminal));
            MH_ASSIGN_OR_RETURN(std::vector<store::WaterHistoryRecord> h, ws->store()->ListHistory(p.feature_code));
            json out = json::array();
            for (const auto& r : h) out.push_back({{"id", r.id}, {"at", Iso(r.at)}, {"event", r.event}, {"detail", r.detail}});
            SendJson(res, 200, {{"terminal_id", terminal}, {"feature_code", p.feature_code}, {"history", out}});
            return Status::Ok();
          }));

  // Frames and acks the platform refused (corrupt, unknown feature code, wrong device): the MQTT
  // layer records them as rejected_message events on the device of the topic.
  srv.Get("/api/v1/water/meters/" + id + "/rejected",
          guarded([st](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_RETURN_IF_ERROR(NeedsStaff(who));
            const std::string device = req.matches[1];
            MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
            MH_ASSIGN_OR_RETURN(std::vector<store::ReadingEvent> events,
                                st->QueryEvents(device, store::TimeRange{INT64_MIN, INT64_MAX}, 0));
            json out = json::array();
            for (const auto& e : events) {
              if (e.kind != "rejected_message") continue;
              json d = ParseOr(e.detail);
              const std::string topic = d.is_object() ? d.value("topic", "") : "";
              if (topic.find("/water/") == std::string::npos) continue;
              out.push_back({{"topic", topic}, {"reason", d.is_object() ? d.value("reason", "") : e.detail}});
            }
            if (static_cast<int64_t>(out.size()) > limit) out.erase(out.begin(), out.end() - limit);
            SendJson(res, 200, {{"device_id", device}, {"rejected", out}});
            return Status::Ok();
          }));

  srv.Get("/api/v1/water/work-orders", guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(NeedsStaff(who));
    MH_ASSIGN_OR_RETURN(const std::string status, TextParam(req, "status", kWordText));
    if (!status.empty() && status != "open" && status != "done") return InvalidArgument("parameter 'status' must be open or done");
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterWorkOrderRecord> orders, ws->store()->ListWorkOrders(status));
    json out = json::array();
    for (const auto& o : orders) {
      out.push_back({{"id", o.id}, {"terminal_id", o.terminal_id}, {"feature_code", o.feature_code}, {"reason", o.reason},
                     {"opened_at", Iso(o.opened_at)}, {"status", o.status}});
    }
    SendJson(res, 200, {{"work_orders", out}});
    return Status::Ok();
  }));

  // The engineer's visit is done; body (optional): {"parameters": {...}} = the terminal's
  // correction after the visit (identity when omitted: the meter was reset or replaced).
  srv.Post(R"(/api/v1/water/work-orders/([0-9]{1,18})/done)",
           guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite()) return PermissionDenied("closing work orders needs an admin or operator token");
             water::Correction c;
             if (!req.body.empty()) {
               MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
               if (body.contains("parameters")) {
                 MH_ASSIGN_OR_RETURN(c, water::ParseCorrectionJson(body["parameters"]));
               }
             }
             const int64_t id = std::stoll(req.matches[1]);
             MH_RETURN_IF_ERROR(ws->WorkOrderDone(id, c));
             SendJson(res, 200, {{"id", id}, {"status", "done"}, {"parameters", water::CorrectionJson(c)}});
             return Status::Ok();
           }));

  // The reference flowmeter's calibration (monthly, seed 001): when it was last calibrated and
  // until when its windows may command the terminal.
  srv.Get("/api/v1/water/flowmeters/" + id + "/calibration",
          guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_RETURN_IF_ERROR(NeedsStaff(who));
            const std::string flowmeter = req.matches[1];
            MH_ASSIGN_OR_RETURN(water::WaterService::CalibrationState c, ws->Calibration(flowmeter));
            SendJson(res, 200, CalibrationJson(flowmeter, c));
            return Status::Ok();
          }));
  // Records a calibration; body (optional): {"calibrated_at": ISO-8601 or epoch (default now), "note"}.
  // Open calibration work orders of the flowmeter are closed.
  srv.Post("/api/v1/water/flowmeters/" + id + "/calibrated",
           guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite()) return PermissionDenied("recording a calibration needs an admin or operator token");
             const std::string flowmeter = req.matches[1];
             json body = json::object();
             if (!req.body.empty()) {
               MH_ASSIGN_OR_RETURN(body, ParseBody(req));
             }
             MH_ASSIGN_OR_RETURN(std::optional<int64_t> at, TimeField(body, "calibrated_at"));
             std::string note;
             MH_RETURN_IF_ERROR(TextField(body, "note", kReasonText, &note, false));
             MH_ASSIGN_OR_RETURN(std::vector<int64_t> closed, ws->FlowmeterCalibrated(flowmeter, at, note));
             MH_ASSIGN_OR_RETURN(water::WaterService::CalibrationState c, ws->Calibration(flowmeter));
             json out = CalibrationJson(flowmeter, c);
             out["closed_work_orders"] = closed;
             SendJson(res, 200, out);
             return Status::Ok();
           }));

  // An engineer pushes operating parameters to the order's terminal; body: any of
  // {"zero_offset","low_flow_cutoff","gain"} (the others stay as the terminal has them).
  srv.Post(R"(/api/v1/water/work-orders/([0-9]{1,18})/parameters)",
           guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite()) return PermissionDenied("pushing parameters needs an admin or operator token");
             MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
             MH_ASSIGN_OR_RETURN(water::OperatingChange change, water::ParseOperatingChangeJson(body));
             const int64_t id = std::stoll(req.matches[1]);
             MH_ASSIGN_OR_RETURN(std::string command_id, ws->PushParameters(id, change));
             SendJson(res, 202, {{"id", id}, {"command_id", command_id}, {"operating", water::OperatingChangeJson(change)}});
             return Status::Ok();
           }));
  // The on-site visit is scheduled; body {"visit_at": ISO-8601 or epoch, "note"}; the customer's
  // phone is told.
  srv.Post(R"(/api/v1/water/work-orders/([0-9]{1,18})/schedule)",
           guarded([ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite()) return PermissionDenied("scheduling visits needs an admin or operator token");
             MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
             MH_ASSIGN_OR_RETURN(std::optional<int64_t> at, TimeField(body, "visit_at"));
             if (!at) return InvalidArgument("field 'visit_at' (ISO-8601 or epoch seconds) is required");
             std::string note;
             MH_RETURN_IF_ERROR(TextField(body, "note", kReasonText, &note, false));
             const int64_t id = std::stoll(req.matches[1]);
             MH_ASSIGN_OR_RETURN(bool notified, ws->ScheduleVisit(id, *at, note));
             SendJson(res, 200, {{"id", id}, {"visit_at", Iso(*at)}, {"notified", notified}});
             return Status::Ok();
           }));

  // POST an image (JPEG/PNG) or a short video (MP4/WebM) of the register taken at ?taken_at= (ISO-8601
  // or epoch seconds); the span it covers runs from the previous readable photo. ?digits=N drums.
  // The body may be up to water.max_upload_bytes, not http.max_body_bytes.
  // The token is checked on the headers, before up to max_upload_bytes of body is read: an
  // anonymous client cannot make the server buffer 64 MiB. The handler checks everything again.
  srv.SetBodyLimit("POST", "/api/v1/water/meters/" + id + "/photos", static_cast<size_t>(ws->options().upload.max_bytes),
                   [st](const http::Request& req, http::Response& res) {
                     std::optional<Principal> who = AuthenticateOrAnswer(*st, req, res);
                     if (who && who->IsReadOnly()) SendError(res, PermissionDenied("read-only token"));
                   });
  srv.Post("/api/v1/water/meters/" + id + "/photos",
           guarded([st, ws](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             const std::string terminal = req.matches[1];
             if (who.IsReadOnly()) return PermissionDenied("read-only token");
             MH_RETURN_IF_ERROR(MaySeeTerminal(st, who, terminal));
             MH_ASSIGN_OR_RETURN(std::string taken_text, TextParam(req, "taken_at", kTimeText));
             if (taken_text.empty()) return InvalidArgument("parameter 'taken_at' (when the photo was taken) is required");
             Result<int64_t> taken_at = ParseTimestamp(taken_text);
             if (!taken_at.ok()) return InvalidArgument("parameter 'taken_at': " + taken_at.status().message());
             MH_ASSIGN_OR_RETURN(int64_t digits, IntParam(req, "digits", 1, 20, 0));
             if (req.body.empty()) return InvalidArgument("the request body must be the photo (JPEG or PNG) or video (MP4 or WebM)");
             MH_ASSIGN_OR_RETURN(water::PhotoOutcome o, ws->OnPhoto(terminal, req.body, *taken_at, static_cast<int>(digits)));
             if (!o.readable) {
               SendJson(res, 422, {{"error", {{"code", "unreadable"}, {"message", o.message}}}, {"readable", false}});
               return Status::Ok();
             }
             SendJson(res, 200, {{"readable", true}, {"value", o.value}, {"message", o.message}, {"comparison", o.detail}});
             return Status::Ok();
           }));
}

}  // namespace mh::api
