#include "api/http_api.h"

#include "http/server.h"

#include <spdlog/spdlog.h>

#include "alerts/terminal_address.h"
#include "api/auth.h"
#include "api/dashboard.h"
#include "api/fleet_routes.h"
#include "api/request_schemas.h"
#include "api/route_kit.h"
#include "codec/reading_csv.h"
#include "codec/reading_json.h"
#include "core/meter_id.h"
#include "core/time.h"
#include "relay/messages.h"
#include "api/audit_routes.h"
#include "api/water_routes.h"
#include "vee/consumption.h"
#include "vee/validator.h"

namespace mh::api {
namespace {

// A device's broker password ([mqtt] provisioning = "dynsec"); at least 8 characters, checked apart.
constexpr TextRule kPasswordText{"a password (8-128 characters, no spaces)", 128, TextRule::Chars::kToken};

json MeterJson(const store::MeterInfo& m) {
  json j{{"meter_id", m.meter_id},     {"kind", m.kind},
         {"customer_id", m.customer_id}, {"timezone", m.timezone.empty() ? FormatUtcOffset(m.tz_offset_s) : m.timezone},
         {"interval_s", m.interval_s},  {"created_at", Iso(m.created_at)}};
  j["register_max"] = m.register_max ? json(*m.register_max) : json(nullptr);
  j["customer_threshold"] = m.customer_t1 ? json(*m.customer_t1) : json(nullptr);
  j["group"] = m.group.empty() ? json(nullptr) : json(m.group);
  // Issue 16: only for meters read over their own protocol, so other meters' objects are unchanged.
  if (!m.protocol.empty()) {
    j["protocol"] = m.protocol;
    j["address"] = m.address;
    j["gateway"] = m.gateway.empty() ? json(nullptr) : json(m.gateway);
  }
  if (!m.protocol.empty() || !m.billing_channel.empty()) j["billing_channel"] = store::BillingChannelOf(m);
  return j;
}

json ReadingJson(const store::StoredReading& r) {
  json j{{"timestamp", Iso(r.ts)}, {"value", r.value}, {"consumption", r.consumption}, {"source", r.source},
         {"quality", r.quality}, {"version", r.version}, {"estimated", r.estimated}};
  if (!r.channel.empty()) j["channel"] = r.channel;
  return j;
}

// POST /api/v1/meters: a meter read over its own protocol (issue 16) — `protocol` and `address`
// together, `gateway` the device publishing its frames, `billing_channel` what the pipeline judges.
Status ReadProtocolFields(const json& body, store::MeterInfo& m) {
  MH_RETURN_IF_ERROR(TextField(body, "protocol", kWordText, &m.protocol, false));
  MH_RETURN_IF_ERROR(TextField(body, "address", kIdText, &m.address, false));
  MH_RETURN_IF_ERROR(TextField(body, "gateway", kMeterIdText, &m.gateway, false));
  MH_RETURN_IF_ERROR(TextField(body, "billing_channel", kChannelText, &m.billing_channel, false));
  if (!m.protocol.empty() && m.protocol != "dlt645" && m.protocol != "cjt188" && m.protocol != "dlms" &&
      m.protocol != "wmbus")
    return InvalidArgument("field 'protocol': dlt645, cjt188, dlms or wmbus");
  if (m.protocol.empty() != m.address.empty())
    return InvalidArgument("fields 'protocol' and 'address' go together");
  if (!m.gateway.empty() && m.protocol.empty()) return InvalidArgument("field 'gateway' needs 'protocol' and 'address'");
  if (!m.billing_channel.empty() && !IsValidChannel(m.billing_channel))
    return InvalidArgument("field 'billing_channel': 1-64 characters of [A-Za-z0-9_.:-]");
  return Status::Ok();
}

json TerminalJson(const store::Terminal& t) {
  return {{"terminal_id", t.terminal_id}, {"meter_id", t.meter_id}, {"channel", t.channel}, {"address", t.address}};
}

json AlertJson(const store::AlertRecord& a) {
  return {{"id", a.id},
          {"meter_id", a.meter_id},
          {"terminal_id", a.terminal_id},
          {"period_start", Iso(a.period_start)},
          {"timestamp", Iso(a.ts)},
          {"reading", a.reading},
          {"period_consumption", a.period_consumption},
          {"estimated_consumption", a.estimated_consumption},
          {"threshold", a.threshold},
          {"excess", a.excess},
          {"created_at", Iso(a.created_at)}};
}

}  // namespace

Status ParseListenAddress(const std::string& listen, HttpOptions* options) {
  return http::ParseListenAddress(listen, &options->host, &options->port).WithContext("http.listen");
}

HttpApi::HttpApi(ApiDeps deps, HttpOptions options)
    : deps_(std::move(deps)), options_(std::move(options)), server_(std::make_unique<http::Server>(options_)) {}

HttpApi::~HttpApi() { Stop(); }

Status HttpApi::Start() {
  // The request schemas are compiled once, here, before the first request needs them.
  MH_RETURN_IF_ERROR(DocumentRequestSchemas().status());
  Routes();
  MH_RETURN_IF_ERROR(server_->Start());
  port_ = server_->port();
  return Status::Ok();
}

void HttpApi::Stop() {
  if (server_) server_->Stop();
}

void HttpApi::Routes() {
  auto& srv = *server_;
  store::Store* const st = deps_.store;

  auto guarded = [st](auto handler) { return Guarded(st, handler); };
  // The meter named in the path, if this principal may see it.
  auto visible_meter = [st](const Principal& who, const std::string& id) { return VisibleMeter(*st, who, id); };

  srv.SetErrorFormatter([](int status, const std::string& message, http::Response& res) {
    StatusCode code = status == 404   ? StatusCode::kNotFound
                      : status == 413 ? StatusCode::kResourceExhausted
                      : status == 503 ? StatusCode::kUnavailable
                      : status >= 500 ? StatusCode::kInternal
                                      : StatusCode::kInvalidArgument;
    SendError(res, Status(code, message));
    res.status = status;
  });

  srv.Get("/healthz", [](const http::Request&, http::Response& res) { res.set_content("ok\n", "text/plain"); });
  srv.Get("/metrics", [this](const http::Request& req, http::Response& res) {
    if (!deps_.metrics_token.empty() &&
        !ConstantTimeEquals(req.get_header_value("Authorization"), "Bearer " + deps_.metrics_token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return SendError(res, Unauthenticated("/metrics needs 'Authorization: Bearer <http.metrics_token>'"));
    }
    res.set_content(deps_.metrics ? deps_.metrics->Render() : std::string(), "text/plain; version=0.0.4");
  });
  srv.Get("/api/v1/openapi.json", [](const http::Request&, http::Response& res) {
    SendJson(res, 200, OpenApiDocument());
  });

  srv.Get("/api/v1/status", guarded([this, st](const Principal& who, const http::Request&, http::Response& res) -> Status {
    if (who.role == Role::kCustomer) {
      // A customer's status covers their own meters only; fleet-wide numbers are not theirs to see.
      store::MeterQuery q;
      q.customer_id = who.customer_id;
      q.limit = 1000;
      MH_ASSIGN_OR_RETURN(store::MeterPage page, st->SearchMeters(q));
      json ids = json::array();
      for (const auto& m : page.meters) ids.push_back(m.meter_id);
      SendJson(res, 200, {{"customer_id", who.customer_id}, {"meters", page.total}, {"meter_ids", ids}});
      return Status::Ok();
    }
    MH_ASSIGN_OR_RETURN(int64_t meters, st->CountMeters());
    MH_ASSIGN_OR_RETURN(int64_t readings, st->CountReadings());
    MH_ASSIGN_OR_RETURN(int64_t quarantined, st->CountQuarantine());
    MH_ASSIGN_OR_RETURN(int64_t estimated, st->CountEstimatedReadings());
    // Estimates are counted apart: `readings` are the actual ones (docs/estimation.md).
    json j{{"meters", meters}, {"readings", readings - estimated}, {"readings_estimated", estimated},
           {"quarantined", quarantined}};
    if (deps_.status) j.update(deps_.status());
    SendJson(res, 200, j);
    return Status::Ok();
  }));

  // --- meters ---
  srv.Post("/api/v1/meters", guarded([this, st](const Principal& who, const http::Request& req,
                                                 http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("registering meters needs an admin or operator token");
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    store::MeterInfo m;
    std::string tz = "+08:00";
    MH_RETURN_IF_ERROR(TextField(body, "meter_id", kMeterIdText, &m.meter_id, true));
    MH_RETURN_IF_ERROR(TextField(body, "kind", kWordText, &m.kind, false));
    MH_RETURN_IF_ERROR(TextField(body, "customer_id", kIdText, &m.customer_id, false));
    MH_RETURN_IF_ERROR(TextField(body, "timezone", kTimeText, &tz, false));
    MH_RETURN_IF_ERROR(Field(body, "interval_s", &m.interval_s, false));
    double max = 0;
    MH_RETURN_IF_ERROR(Field(body, "register_max", &max, false));
    if (max > 0) m.register_max = max;
    if (m.kind != "electricity" && m.kind != "water") return InvalidArgument("field 'kind': electricity or water");
    MH_RETURN_IF_ERROR(ReadProtocolFields(body, m));
    if (!m.address.empty()) {
      MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> holder, st->FindMeterByAddress(m.protocol, m.address));
      if (holder && holder->meter_id != m.meter_id)
        return AlreadyExists(m.protocol + " address " + m.address + " belongs to meter " + holder->meter_id);
    }
    if (m.interval_s <= 0) return InvalidArgument("field 'interval_s' must be positive");
    auto zone = TimeZone::Parse(tz);
    if (!zone.ok()) return InvalidArgument("field 'timezone': " + zone.status().message());
    store::SetZone(m, *zone);
    std::string mqtt_password;
    MH_RETURN_IF_ERROR(TextField(body, "mqtt_password", kPasswordText, &mqtt_password, false));
    if (!mqtt_password.empty() && mqtt_password.size() < 8) return InvalidArgument("field 'mqtt_password': at least 8 characters");
    if (!mqtt_password.empty() && !deps_.provision_device)
      return InvalidArgument("field 'mqtt_password': broker credentials are not provisioned by the daemon (mqtt.provisioning = \"file\")");
    MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> existing, st->GetMeter(m.meter_id));
    // A new meter becomes a broker device ([mqtt] provisioning = "dynsec") before it is stored, so a
    // broker that cannot take it leaves nothing half done; registering again changes the device's
    // password only when one is given.
    const bool provision = deps_.provision_device && (!existing || !mqtt_password.empty());
    if (provision) {
      MH_ASSIGN_OR_RETURN(std::string used, deps_.provision_device(m.meter_id, mqtt_password));
      if (mqtt_password.empty()) mqtt_password = used;
      else mqtt_password.clear();  // the caller's own: not echoed
    }
    m.created_at = existing ? existing->created_at : deps_.clock->NowSeconds();
    if (existing) {
      m.customer_t1 = existing->customer_t1;
      m.group = existing->group;  // set by PUT /api/v1/meters/{id}, not by registering again
    }
    MH_RETURN_IF_ERROR(st->UpsertMeter(m));
    deps_.pipeline->Invalidate(m.meter_id);
    json out = MeterJson(m);
    if (!mqtt_password.empty()) out["mqtt_password"] = mqtt_password;  // generated: shown this once
    SendJson(res, existing ? 200 : 201, out);
    return Status::Ok();
  }));
  srv.Get("/api/v1/meters", guarded([st](const Principal& who, const http::Request& req,
                                          http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    store::MeterQuery q;
    q.limit = limit;
    MH_ASSIGN_OR_RETURN(q.offset, IntParam(req, "offset", 0, INT32_MAX, 0));
    MH_ASSIGN_OR_RETURN(q.customer_id, TextParam(req, "customer_id", kIdText));
    if (who.role == Role::kCustomer) q.customer_id = who.customer_id;
    MH_ASSIGN_OR_RETURN(q.kind, TextParam(req, "kind", kWordText));
    MH_ASSIGN_OR_RETURN(q.region_code, TextParam(req, "region", kWordText));
    MH_ASSIGN_OR_RETURN(q.text, TextParam(req, "q", kSearchText));
    MH_ASSIGN_OR_RETURN(store::MeterPage page, st->SearchMeters(q));
    json out = json::array();
    for (const auto& m : page.meters) out.push_back(MeterJson(m));
    SendJson(res, 200, {{"meters", out}, {"offset", q.offset}, {"limit", limit}, {"total", page.total}});
    return Status::Ok();
  }));
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32}))",
          guarded([visible_meter, st](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            json j = MeterJson(m);
            // The thresholds in force (SPEC 1.1/1.2): T2 and T1 as learned, T1 the customer's when set.
            MH_ASSIGN_OR_RETURN(std::vector<store::MeterStateRecord> states, st->LoadMeterStates({m.meter_id}));
            std::optional<double> t1, t2;
            if (!states.empty()) {
              auto state = vee::MeterState::Decode(states.front().state);
              if (state.ok()) {
                t1 = state->t1;
                t2 = state->t2;
              }
            }
            auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
            j["thresholds"] = {{"t1", opt(m.customer_t1 ? m.customer_t1 : t1)},
                               {"t1_source", m.customer_t1 ? "customer" : t1 ? "learned" : "none"},
                               {"t1_learned", opt(t1)},
                               {"t2", opt(t2)}};
            SendJson(res, 200, j);
            return Status::Ok();
          }));
  // A meter's settings: its group ([groups.NAME]: peak, alert coefficient and limit, quiet hours;
  // a change of group changes its peak, so its T1/T2 are learned again) and its upload interval
  // (sent to the meter as an upload_interval command; gap detection follows it from now on).
  srv.Put(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32}))",
          guarded([this, st](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            if (!who.CanWrite()) return PermissionDenied("changing a meter needs an admin or operator token");
            MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> found, st->GetMeter(req.matches[1]));
            if (!found) return NotFound("no meter '" + std::string(req.matches[1]) + "'");
            store::MeterInfo m = *found;
            MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
            if (!body.is_object() || body.empty())
              return InvalidArgument("expected a JSON object, e.g. {\"group\": \"summer\"} or {\"interval_s\": 900}");
            for (const auto& [key, value] : body.items()) {
              if (key != "group" && key != "interval_s")
                return InvalidArgument("field '" + key + "' cannot be changed here (only 'group' and 'interval_s')");
            }
            if (body.contains("group")) {
              const json& g = body["group"];
              if (g.is_null()) {
                m.group.clear();
              } else if (!g.is_string()) {
                return InvalidArgument("field 'group' must be a group name or null");
              } else {
                m.group = g.get<std::string>();
                const auto& groups = deps_.pipeline->options().groups;
                if (!m.group.empty() && !groups.count(m.group)) {
                  std::string known;
                  for (const auto& [name, settings] : groups) known += (known.empty() ? "" : ", ") + name;
                  return InvalidArgument("field 'group': no [groups." + m.group + "] in the configuration (configured: " +
                                         (known.empty() ? "none" : known) + ")");
                }
              }
            }
            bool interval_changed = false;
            if (body.contains("interval_s")) {
              const json& v = body["interval_s"];
              if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 86400)
                return InvalidArgument("field 'interval_s' must be an integer number of seconds, 1..86400");
              interval_changed = v.get<int64_t>() != m.interval_s;
              m.interval_s = v.get<int64_t>();
            }
            MH_RETURN_IF_ERROR(st->UpsertMeter(m));
            deps_.pipeline->Invalidate(m.meter_id);
            json out = MeterJson(m);
            if (body.contains("interval_s")) {
              // Sent even when unchanged: a meter that missed the last command gets it again.
              const std::string command = json{{"type", "upload_interval"}, {"seconds", m.interval_s}}.dump();
              std::string sent = "no broker";
              if (deps_.send_command) {
                Status s = deps_.send_command(m.meter_id, command);
                sent = s.ok() ? "sent" : "failed: " + s.message();
                if (!s.ok()) spdlog::warn("upload_interval command to {}: {}", m.meter_id, s.message());
              }
              out["command"] = {{"payload", json::parse(command)}, {"result", sent}, {"changed", interval_changed}};
            }
            SendJson(res, 200, out);
            return Status::Ok();
          }));
  srv.Put(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/threshold)",
          guarded([this, visible_meter, st](const Principal& who, const http::Request& req,
                                             http::Response& res) -> Status {
            if (who.IsReadOnly()) return PermissionDenied("read-only token");
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
            auto it = body.find("threshold");
            if (it == body.end()) return InvalidArgument("field 'threshold' is required (a number, or null to clear)");
            std::optional<double> t1;
            if (!it->is_null()) {
              if (!it->is_number()) return InvalidArgument("field 'threshold' must be a number or null");
              t1 = it->get<double>();
              if (!(*t1 > 0)) return InvalidArgument("field 'threshold' must be positive");
            }
            MH_RETURN_IF_ERROR(st->SetCustomerThreshold(m.meter_id, t1));
            deps_.pipeline->Invalidate(m.meter_id);
            m.customer_t1 = t1;
            SendJson(res, 200, MeterJson(m));
            return Status::Ok();
          }));

  // --- terminals ---
  srv.Post(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/terminals)",
           guarded([this, visible_meter, st](const Principal& who, const http::Request& req,
                                              http::Response& res) -> Status {
             if (!who.CanWrite() && who.role != Role::kCustomer) return PermissionDenied("read-only token");
             MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
             MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
             store::Terminal t;
             t.meter_id = m.meter_id;
             MH_RETURN_IF_ERROR(TextField(body, "terminal_id", kMeterIdText, &t.terminal_id, true));
             MH_RETURN_IF_ERROR(TextField(body, "channel", kWordText, &t.channel, true));
             if (t.channel != "webhook" && t.channel != "sms" && t.channel != "email")
               return InvalidArgument("field 'channel': webhook, sms or email");
             const TextRule& rule = t.channel == "webhook" ? kUrlText : t.channel == "sms" ? kPhoneText : kEmailText;
             MH_RETURN_IF_ERROR(TextField(body, "address", rule, &t.address, true));
             // Customers choose these addresses and MeterHub connects to them (SSRF): the rules
             // of alerts/terminal_address.h, here and again at every send.
             Status address = alerts::CheckTerminalAddress(t.channel, t.address, deps_.allow_private_webhooks);
             if (!address.ok()) return InvalidArgument("field 'address': " + address.message());
             MH_RETURN_IF_ERROR(st->BindTerminal(t));
             deps_.pipeline->Invalidate(m.meter_id);
             SendJson(res, 201, TerminalJson(t));
             return Status::Ok();
           }));
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/terminals)",
          guarded([visible_meter, st](const Principal& who, const http::Request& req,
                                       http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            MH_ASSIGN_OR_RETURN(std::vector<store::Terminal> ts, st->ListTerminals(m.meter_id));
            json out = json::array();
            for (const auto& t : ts) out.push_back(TerminalJson(t));
            SendJson(res, 200, {{"terminals", out}});
            return Status::Ok();
          }));
  srv.Delete(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/terminals/([A-Za-z0-9_-]{1,32}))",
             guarded([this, visible_meter, st](const Principal& who, const http::Request& req,
                                                http::Response& res) -> Status {
               if (!who.CanWrite() && who.role != Role::kCustomer) return PermissionDenied("read-only token");
               MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
               MH_RETURN_IF_ERROR(st->UnbindTerminal(m.meter_id, req.matches[2]));
               deps_.pipeline->Invalidate(m.meter_id);
               res.status = 204;
               return Status::Ok();
             }));

  // --- readings ---
  srv.Post("/api/v1/readings", guarded([this](const Principal& who, const http::Request& req,
                                              http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("posting readings needs an admin or operator token");
    std::vector<Reading> readings;
    std::vector<codec::RowIssue> issues;
    std::string type = req.get_header_value("Content-Type");
    if (type.find("text/csv") != std::string::npos) {
      // The same per-request bound as JSON bodies (codec::kMaxReadingsPerMessage), good and bad rows.
      struct TooMany {};
      auto count = [rows = size_t{0}]() mutable {
        if (++rows > codec::kMaxReadingsPerMessage) throw TooMany{};
      };
      try {
        Status parsed = codec::ParseReadingCsv(
            req.body, [&](const Reading& r, int64_t) { count(), readings.push_back(r); },
            [&](const codec::RowIssue& i) { count(), issues.push_back(i); });
        if (!parsed.ok()) return parsed.WithContext("CSV body");
      } catch (const TooMany&) {
        return ResourceExhausted("CSV body: more than " + std::to_string(codec::kMaxReadingsPerMessage) +
                                 " readings in one message (the limit per request); split the batch");
      }
    } else if (type.empty() || type.find("json") != std::string::npos) {
      auto parsed = codec::ParseReadingsJson(req.body);
      if (!parsed.ok()) return parsed.status().WithContext("JSON body");
      readings = std::move(parsed->readings);
      issues = std::move(parsed->issues);
    } else {
      return InvalidArgument("Content-Type must be application/json or text/csv, got '" + type + "'");
    }
    ingest::SubmitSummary summary;
    json not_stored;  // a split batch's parts that other workers did not store
    if (!readings.empty()) {
      // Scale-out: only the shards' lease holder commits them, fenced by those leases.
      const ReadingsPlan plan = PlanReadings(readings, deps_.shard_route);
      auto commit_here = [&](const std::vector<Reading>& mine,
                             const std::vector<int>& shards) -> Result<ingest::SubmitSummary> {
        return deps_.committer ? deps_.committer->Submit(mine, "http", shards) : deps_.pipeline->Submit(mine, "http");
      };
      if (CanSplit(plan, req, deps_.forward)) {
        MH_ASSIGN_OR_RETURN(SplitOutcome split, StoreSplit(plan, readings, req, deps_.forward, commit_here));
        summary = std::move(split.stored);
        if (!split.failed.empty()) not_stored = std::move(split.failed);
      } else if (plan.kind != ReadingsPlan::Kind::kHere) {
        AnswerElsewhere(plan, req, deps_.forward, deps_.retry_after_s, res);
        return Status::Ok();
      } else {
        MH_ASSIGN_OR_RETURN(summary, commit_here(readings, plan.shards));
      }
    }
    summary.rejected += static_cast<int64_t>(issues.size());
    summary.received += static_cast<int64_t>(issues.size());
    summary.issues.insert(summary.issues.begin(), issues.begin(), issues.end());
    if (!not_stored.is_null()) {
      json body{{"error",
                 {{"code", "unavailable"},
                  {"message", "part of these readings was not stored: their shards' workers (\"not_stored\") could not "
                              "store them; the rest is stored (\"summary\"). Post the whole batch again after "
                              "Retry-After: what is stored already comes back as duplicates"}}},
                {"summary", SummaryJson(summary)},
                {"not_stored", not_stored}};
      SendJson(res, 503, body);
      res.set_header("Retry-After", std::to_string(std::max(1, deps_.retry_after_s)));
      return Status::Ok();
    }
    bool nothing_stored = summary.accepted + summary.quarantined_total() + summary.duplicates == 0;
    if (nothing_stored && !summary.issues.empty()) {
      const auto& first = summary.issues.front();
      json body{{"error",
                 {{"code", "invalid_argument"},
                  {"message", "no reading stored; first problem: line " + std::to_string(first.line) + " " +
                                  first.field + ": " + first.message}}},
                {"summary", SummaryJson(summary)}};
      SendJson(res, 422, body);
      return Status::Ok();
    }
    SendJson(res, 200, SummaryJson(summary));
    return Status::Ok();
  }));
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/readings)",
          guarded([visible_meter, st](const Principal& who, const http::Request& req,
                                       http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
            MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 100000));
            // ?channel= (issue 16): another register of the meter; absent = the billing channel.
            MH_ASSIGN_OR_RETURN(std::string channel, TextParam(req, "channel", kChannelText));
            if (!channel.empty() && !IsValidChannel(channel))
              return InvalidArgument("parameter 'channel': 1-64 characters of [A-Za-z0-9_.:-]");
            if (channel == store::BillingChannelOf(m)) channel.clear();
            MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                                st->QueryReadings(m.meter_id, range, limit, channel));
            json out = json::array();
            for (const auto& r : rows) out.push_back(ReadingJson(r));
            SendJson(res, 200, {{"meter_id", m.meter_id}, {"readings", out}});
            return Status::Ok();
          }));
  // A deliberate correction: a new version of a stored reading, the old one kept (who, when, why).
  srv.Put(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/readings/([^/]{1,40}))",
          guarded([this, visible_meter](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            if (!who.CanWrite()) return PermissionDenied("correcting readings needs an admin or operator token");
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            auto ts = ParseTimestamp(req.matches[2]);
            if (!ts.ok()) return InvalidArgument("path: the reading's time: " + ts.status().message());
            MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
            ingest::Pipeline::Correction c;
            c.meter_id = m.meter_id;
            c.ts = *ts;
            auto value = body.find("value");
            if (value == body.end() || !value->is_number()) return InvalidArgument("field 'value' is required (a number)");
            c.value = value->get<double>();
            MH_RETURN_IF_ERROR(TextField(body, "reason", kReasonText, &c.reason, true));
            MH_RETURN_IF_ERROR(TextField(body, "quality", kWordText, &c.quality, false));
            c.by = who.name.empty() ? RoleName(who.role) : who.name;
            MH_ASSIGN_OR_RETURN(store::StoredReading revised, deps_.pipeline->Correct(c));
            SendJson(res, 200, ReadingJson(revised));
            return Status::Ok();
          }));
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/readings/([^/]{1,40})/versions)",
          guarded([visible_meter, st](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            auto ts = ParseTimestamp(req.matches[2]);
            if (!ts.ok()) return InvalidArgument("path: the reading's time: " + ts.status().message());
            MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> current, st->GetReading(m.meter_id, *ts));
            MH_ASSIGN_OR_RETURN(std::vector<store::ReadingVersion> versions, st->ListReadingVersions(m.meter_id, *ts));
            if (!current && versions.empty()) return NotFound("no reading of " + m.meter_id + " at " + Iso(*ts));
            json out = json::array();
            for (const auto& v : versions)
              out.push_back({{"version", v.version}, {"value", v.value}, {"consumption", v.consumption},
                             {"source", v.source}, {"quality", v.quality}, {"replaced_at", Iso(v.replaced_at)},
                             {"replaced_by", v.replaced_by}, {"reason", v.reason}});
            SendJson(res, 200, {{"meter_id", m.meter_id}, {"timestamp", Iso(*ts)},
                                {"current", current ? ReadingJson(*current) : json(nullptr)}, {"versions", out}});
            return Status::Ok();
          }));
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/consumption)",
          guarded([visible_meter, st](const Principal& who, const http::Request& req,
                                       http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, visible_meter(who, req.matches[1]));
            MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
            MH_ASSIGN_OR_RETURN(std::string period_name, TextParam(req, "period", kWordText));
            if (period_name.empty()) period_name = "day";
            auto kind = ParsePeriodKind(period_name);
            if (!kind.ok()) return InvalidArgument("query parameter 'period': " + kind.status().message());
            MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                                st->QueryReadings(m.meter_id, range, INT64_MAX));
            json out = json::array();
            const TimeZone zone = store::ZoneOf(m);
            for (const auto& p : vee::ConsumptionPerPeriod(rows, *kind, zone))
              out.push_back({{"period_start", FormatIsoIn(p.period.start, zone)},
                             {"period_end", FormatIsoIn(p.period.end, zone)},
                             {"consumption", p.consumption},
                             {"estimated_consumption", p.estimated},
                             {"readings", p.readings}});
            SendJson(res, 200, {{"meter_id", m.meter_id}, {"period", period_name},
                                {"unit", m.kind == "water" ? "m3" : "kWh"}, {"consumption", out}});
            return Status::Ok();
          }));

  // --- quarantine, alerts, deliveries ---
  auto meter_filter = [st](const Principal& who, const http::Request& req) { return MeterFilter(*st, who, req); };
  srv.Get("/api/v1/quarantine", guarded([meter_filter, st](const Principal& who, const http::Request& req,
                                                             http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(std::string meter, meter_filter(who, req));
    MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 100000));
    MH_ASSIGN_OR_RETURN(std::vector<store::QuarantinedReading> rows, st->QueryQuarantine(meter, range, limit));
    json out = json::array();
    for (const auto& q : rows) {
      json row{{"meter_id", q.meter_id}, {"timestamp", Iso(q.ts)},
               {"value", q.value ? json(*q.value) : json(nullptr)}, {"raw_value", q.raw_value},
               {"verdict", VerdictName(q.verdict)}, {"reason", q.reason}, {"source", q.source},
               {"received_at", Iso(q.received_at)}};
      if (!q.channel.empty()) row["channel"] = q.channel;  // issue 16: another register than the billing one
      out.push_back(std::move(row));
    }
    SendJson(res, 200, {{"quarantine", out}});
    return Status::Ok();
  }));
  // Events about a meter's readings: value conflicts, future timestamps, corrections, resets,
  // re-judgements, NEM12 400 records.
  srv.Get("/api/v1/events", guarded([meter_filter, st](const Principal& who, const http::Request& req,
                                                       http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(std::string meter, meter_filter(who, req));
    if (meter.empty()) return InvalidArgument("query parameter 'meter' is required");
    MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 100000));
    MH_ASSIGN_OR_RETURN(const std::string kind, TextParam(req, "kind", kWordText));
    MH_ASSIGN_OR_RETURN(std::vector<store::ReadingEvent> rows, st->QueryEvents(meter, range, kind.empty() ? limit : 0));
    json out = json::array();
    for (const auto& e : rows) {
      if (!kind.empty() && e.kind != kind) continue;
      if (static_cast<int64_t>(out.size()) >= limit) break;
      json detail = json::parse(e.detail, nullptr, false);
      out.push_back({{"meter_id", e.meter_id}, {"kind", e.kind}, {"from", Iso(e.ts_from)}, {"to", Iso(e.ts_to)},
                     {"detail", detail.is_discarded() ? json(e.detail) : detail}});
    }
    SendJson(res, 200, {{"events", out}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/alerts", guarded([meter_filter, st](const Principal& who, const http::Request& req,
                                                         http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(std::string meter, meter_filter(who, req));
    MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 100000));
    MH_ASSIGN_OR_RETURN(std::vector<store::AlertRecord> rows, st->ListAlerts(meter, range, limit));
    json out = json::array();
    for (const auto& a : rows) out.push_back(AlertJson(a));
    SendJson(res, 200, {{"alerts", out}});
    return Status::Ok();
  }));
  AddDeliveryRoutes(srv, st, deps_.clock, deps_.deliveries_requeued);
  AddBillingRoutes(srv, st, deps_.tariffs ? deps_.tariffs : std::make_shared<const billing::TariffBook>());

  if (deps_.relay != nullptr)
    AddRelayRoutes(srv, deps_.store, deps_.relay, {deps_.shard_route, deps_.forward, deps_.retry_after_s});
  if (deps_.audit != nullptr) AddAuditRoutes(srv, deps_.store, deps_.audit);
  if (deps_.water != nullptr) AddWaterRoutes(srv, deps_.store, deps_.water);

  AddAccessRoutes(srv, st, deps_.access);
  AddFleetRoutes(srv, {st, deps_.clock, deps_.pipeline, deps_.status});
  if (!deps_.web_root.empty()) {
    auto files = ServeDashboard(srv, deps_.web_root);
    if (!files.ok()) spdlog::warn("{}", files.status().ToString());
  }
}

}  // namespace mh::api
