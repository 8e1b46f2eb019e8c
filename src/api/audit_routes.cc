#include "api/audit_routes.h"

#include <algorithm>
#include <charconv>

#include "api/route_kit.h"
#include "audit/ledger/merkle.h"
#include "crypto/crypto.h"
#include "meter/audit/schedule.h"

namespace mh::api {
namespace {

std::string Hex(std::string_view bytes) { return crypto::HexEncode(crypto::AsBytes(bytes)); }

Status CanRead(const Principal& who) {
  if (who.role == Role::kCustomer) return PermissionDenied("audit data is for staff tokens");
  return Status::Ok();
}

Status CanRun(const Principal& who) {
  if (who.role == Role::kAdmin || who.role == Role::kOperator || who.role == Role::kAuditor) return Status::Ok();
  return PermissionDenied("running audits needs an admin, operator or auditor token");
}

// Witnesses: the ones who check the operator, not the operator's staff.
Status CanWitness(const Principal& who) {
  if (who.role == Role::kAdmin || who.role == Role::kAuditor || who.role == Role::kSupervisor) return Status::Ok();
  return PermissionDenied("the signed tree heads are for admin, auditor and supervisor tokens");
}

json HeadJson(int64_t size, std::string_view root, int64_t timestamp_ms, std::string_view signature) {
  return {{"size", size}, {"root_hash", Hex(root)}, {"timestamp_ms", timestamp_ms}, {"signature", Hex(signature)}};
}

// The commissioning body: {fixed_image | fixed_image_hex, compare, registered_at, user_attribute,
// region, reason}.
Result<audit::CommissionRequest> CommissionBody(const http::Request& req) {
  MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
  audit::CommissionRequest r;
  std::string image_hex, user_attribute, region;
  int64_t at = 0;
  MH_RETURN_IF_ERROR(Field(body, "fixed_image", &r.fixed_image, false));
  MH_RETURN_IF_ERROR(Field(body, "fixed_image_hex", &image_hex, false));
  MH_RETURN_IF_ERROR(Field(body, "compare", &r.compare_text, false));
  MH_RETURN_IF_ERROR(Field(body, "reason", &r.reason, false));
  if (body.contains("registered_at") && !body["registered_at"].is_null()) {
    MH_RETURN_IF_ERROR(Field(body, "registered_at", &at, true));
    r.registered_at = at;
  }
  if (body.contains("user_attribute") && !body["user_attribute"].is_null()) {
    MH_RETURN_IF_ERROR(Field(body, "user_attribute", &user_attribute, true));
    r.user_attribute = user_attribute;
  }
  if (body.contains("region") && !body["region"].is_null()) {
    MH_RETURN_IF_ERROR(Field(body, "region", &region, true));
    r.region = region;
  }
  if (!image_hex.empty()) {
    Result<crypto::Bytes> bytes = crypto::HexDecode(image_hex);
    if (!bytes.ok()) return InvalidArgument("field 'fixed_image_hex' is not hex");
    r.fixed_image.assign(bytes->begin(), bytes->end());
  }
  if (r.fixed_image.empty()) return InvalidArgument("field 'fixed_image' (or 'fixed_image_hex') is required");
  return r;
}

json MeterJson(const store::AuditMeterRow& m) {
  return {{"meter_id", m.meter_id},
          {"user_attribute", m.user_attribute},
          {"region", m.region.empty() ? json(nullptr) : json(m.region)},
          {"commissioned_at", m.commissioned_at},
          {"silent_misses", m.silent_misses},
          {"cycle", m.cycle_d > 0 ? json{{"d", m.cycle_d}, {"from", meter::audit::FormatDay(m.cycle_from)}, {"sent_at", Iso(m.cycle_sent_at)}}
                                  : json(nullptr)}};
}

json CommissionJson(const audit::CommissionResult& c, std::string_view image) {
  return {{"meter_id", c.meter.meter_id},
          {"commissioning", c.number},
          {"registered_at", c.registered_at},
          {"image_sha256", crypto::HexEncode(crypto::Sha256(image))},
          {"compare", c.compare_text},
          {"user_attribute", c.meter.user_attribute},
          {"region", c.meter.region.empty() ? json(nullptr) : json(c.meter.region)},
          {"ledger_size", c.ledger_size}};
}

Result<int64_t> IntParam(const http::Request& req, const char* name) {
  if (!req.has_param(name)) return InvalidArgument(std::string("query parameter '") + name + "' is required");
  const std::string v = req.get_param_value(name);
  int64_t out = -1;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) {
    return InvalidArgument(std::string("query parameter '") + name + "' is not a whole number >= 0");
  }
  return out;
}

json PathJson(const std::vector<audit::ledger::Hash>& path) {
  json out = json::array();
  for (const auto& h : path) out.push_back(audit::ledger::HashHex(h));
  return out;
}

json ResultJson(const store::AuditResultRow& r) {
  return {{"id", r.id},
          {"meter_id", r.meter_id},
          {"audited_at", Iso(r.audited_at)},
          {"trigger", r.trigger},
          {"result", r.pass ? "pass" : "alarm"},
          {"alarms", r.alarms},
          {"reasons", r.reasons},
          {"order_id", r.order_id.empty() ? json(nullptr) : json(r.order_id)},
          {"segments", r.segments.empty() ? json(nullptr) : json(r.segments)},
          {"silent", r.silent},
          {"notes", r.notes}};
}

json OrderJson(const store::InspectionOrderRow& o) {
  json content = json::parse(o.content, nullptr, false);
  return {{"order_id", o.id}, {"meter_id", o.meter_id}, {"created_at", Iso(o.created_at)}, {"priority", o.priority},
          {"summary", o.summary}, {"state", o.state}, {"attempts", o.attempts},
          {"last_error", o.last_error}, {"order", content.is_discarded() ? json(nullptr) : content}};
}

}  // namespace

void AddAuditRoutes(http::Server& srv, store::Store* st, audit::AuditService* as) {
  auto guarded = [st](auto handler) { return Guarded(st, handler); };
  srv.Get("/api/v1/audit/ledger/head", guarded([as](const Principal& who, const http::Request&,
                                                     http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(audit::ledger::SignedTreeHead h, as->ledger().ledger().Head());
    SendJson(res, 200, {{"size", h.size}, {"root_hash", Hex(h.root_hash)}, {"timestamp_ms", h.timestamp_ms},
                        {"signature", Hex(h.signature)}, {"public_key", Hex(as->ledger().ledger().public_key())}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/ledger/entries", guarded([as](const Principal& who, const http::Request& req,
                                                        http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    if (!req.has_param("meter")) return InvalidArgument("query parameter 'meter' is required");
    const std::string meter = req.get_param_value("meter");
    auto& ledger = as->ledger().ledger();
    MH_ASSIGN_OR_RETURN(audit::ledger::SignedTreeHead head, ledger.Head());
    Result<std::vector<audit::ledger::Entry>> entries = ledger.VerifiedEntriesOf(meter, head);
    // A failed proof is the ledger's state, not the caller's credentials: 422, not 401.
    if (!entries.ok() && entries.status().code() == StatusCode::kUnauthenticated) {
      return FailedPrecondition(entries.status().message());
    }
    MH_RETURN_IF_ERROR(entries.status());
    json out = json::array();
    for (const auto& e : *entries) {
      out.push_back({{"meter_id", e.key.meter_id}, {"window", e.key.window}, {"seq", e.key.seq}, {"kind", e.kind},
                     {"payload_hex", Hex(e.payload)}});
    }
    SendJson(res, 200, {{"meter_id", meter}, {"tree_size", head.size}, {"verified", true}, {"entries", out}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/ledger/proofs/inclusion", guarded([as](const Principal& who, const http::Request& req,
                                                                 http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(int64_t index, IntParam(req, "index"));
    MH_ASSIGN_OR_RETURN(int64_t size, IntParam(req, "size"));
    auto& ledger = as->ledger().ledger();
    if (size > ledger.size()) return InvalidArgument("size " + std::to_string(size) + " is beyond the ledger's " + std::to_string(ledger.size()));
    MH_ASSIGN_OR_RETURN(audit::ledger::InclusionProof p, ledger.ProveInclusion(index, size));
    SendJson(res, 200, {{"index", p.index}, {"tree_size", p.tree_size}, {"path", PathJson(p.path)}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/ledger/proofs/consistency", guarded([as](const Principal& who, const http::Request& req,
                                                                   http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(int64_t from, IntParam(req, "from"));
    MH_ASSIGN_OR_RETURN(int64_t to, IntParam(req, "to"));
    auto& ledger = as->ledger().ledger();
    if (to > ledger.size()) return InvalidArgument("to " + std::to_string(to) + " is beyond the ledger's " + std::to_string(ledger.size()));
    MH_ASSIGN_OR_RETURN(audit::ledger::ConsistencyProof p, ledger.ProveConsistency(from, to));
    SendJson(res, 200, {{"old_size", p.old_size}, {"new_size", p.new_size}, {"path", PathJson(p.path)}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/ledger/heads", guarded([as](const Principal& who, const http::Request& req,
                                                      http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanWitness(who));
    int64_t from = 0;
    if (req.has_param("since")) {
      MH_ASSIGN_OR_RETURN(from, IntParam(req, "since"));
    }
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 10000));
    // Sign a head covering every entry first: a witness always sees the whole log.
    MH_RETURN_IF_ERROR(as->ledger().ledger().Head().status());
    MH_ASSIGN_OR_RETURN(std::vector<store::LedgerTreeHead> heads, as->ledger().store().HeadsSince(from, limit));
    json out = json::array();
    for (const auto& h : heads) out.push_back(HeadJson(h.size, h.root_hash, h.timestamp_ms, h.signature));
    SendJson(res, 200, {{"heads", out}, {"since", from}, {"limit", limit}, {"public_key", Hex(as->ledger().ledger().public_key())}});
    return Status::Ok();
  }));
  srv.Get(R"(/api/v1/audit/meters/([^/]+))", guarded([as](const Principal& who, const http::Request& req,
                                                           http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    const std::string meter = req.matches[1];
    MH_ASSIGN_OR_RETURN(std::optional<store::AuditMeterRow> m, as->Meter(meter));
    if (!m) return NotFound("meter '" + meter + "' is not commissioned for the tamper audit");
    SendJson(res, 200, MeterJson(*m));
    return Status::Ok();
  }));
  // Commissioning and re-commissioning (a firmware update, with a reason) take the same body.
  auto commission = [as, guarded](bool again) {
    return guarded([as, again](const Principal& who, const http::Request& req, http::Response& res) -> Status {
      MH_RETURN_IF_ERROR(CanRun(who));
      MH_ASSIGN_OR_RETURN(audit::CommissionRequest body, CommissionBody(req));
      MH_ASSIGN_OR_RETURN(audit::CommissionResult c,
                          again ? as->Recommission(req.matches[1], body) : as->Commission(req.matches[1], body));
      json out = CommissionJson(c, body.fixed_image);
      if (again) out["reason"] = body.reason;
      SendJson(res, c.appended ? 201 : 200, out);
      return Status::Ok();
    });
  };
  srv.Post(R"(/api/v1/audit/meters/([^/]+)/commission)", commission(false));
  srv.Post(R"(/api/v1/audit/meters/([^/]+)/recommission)", commission(true));
  srv.Post(R"(/api/v1/audit/meters/([^/]+)/run)", guarded([as](const Principal& who, const http::Request& req,
                                                               http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRun(who));
    Result<store::AuditResultRow> r = as->Run(req.matches[1], "request");
    // Busy (too many runs waiting for their meters) or the store busy: come back later.
    if (!r.ok() && r.status().code() == StatusCode::kUnavailable) {
      res.set_header("Retry-After", std::to_string(std::max<int64_t>(1, as->options().segments_timeout_ms / 1000)));
    }
    MH_RETURN_IF_ERROR(r.status());
    SendJson(res, 200, ResultJson(*r));
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/results", guarded([as](const Principal& who, const http::Request& req,
                                                 http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(auto rows, as->store().Results(req.get_param_value("meter"), static_cast<int>(limit)));
    json out = json::array();
    for (const auto& r : rows) out.push_back(ResultJson(r));
    SendJson(res, 200, {{"results", out}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/alarms", guarded([as](const Principal& who, const http::Request& req,
                                                http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(auto rows, as->store().Results(req.get_param_value("meter"), 10000));
    json out = json::array();
    for (const auto& r : rows) {
      if (r.pass) continue;
      json order = nullptr;
      if (!r.order_id.empty()) {
        auto o = as->store().GetOrder(r.order_id);
        if (o.ok() && o->has_value()) order = OrderJson(**o);
      }
      for (size_t i = 0; i < r.alarms.size(); ++i) {
        out.push_back({{"meter_id", r.meter_id}, {"audited_at", Iso(r.audited_at)}, {"result_id", r.id},
                       {"alarm", r.alarms[i]}, {"reason", i < r.reasons.size() ? r.reasons[i] : ""},
                       {"inspection_order", order}});
      }
      if (static_cast<int64_t>(out.size()) >= limit) break;
    }
    SendJson(res, 200, {{"alarms", out}});
    return Status::Ok();
  }));
  srv.Get("/api/v1/audit/orders", guarded([as](const Principal& who, const http::Request& req,
                                                http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRead(who));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100, 10000));
    MH_ASSIGN_OR_RETURN(auto orders, as->store().Orders(req.get_param_value("state"), static_cast<int>(limit)));
    json out = json::array();
    for (const auto& o : orders) out.push_back(OrderJson(o));
    SendJson(res, 200, {{"orders", out}});
    return Status::Ok();
  }));
}

}  // namespace mh::api
