#include "api/audit_routes.h"

#include <charconv>

#include "api/route_kit.h"
#include "audit/ledger/merkle.h"
#include "crypto/crypto.h"

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
  return {{"id", r.id},           {"meter_id", r.meter_id}, {"audited_at", Iso(r.audited_at)},
          {"trigger", r.trigger}, {"result", r.pass ? "pass" : "alarm"},
          {"alarms", r.alarms},   {"reasons", r.reasons},   {"order_id", r.order_id.empty() ? json(nullptr) : json(r.order_id)}};
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
  srv.Post(R"(/api/v1/audit/meters/([^/]+)/commission)", guarded([as](const Principal& who, const http::Request& req,
                                                                      http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRun(who));
    MH_ASSIGN_OR_RETURN(json body, ParseBody(req));
    std::string image, image_hex;
    int64_t at = 0;
    MH_RETURN_IF_ERROR(Field(body, "fixed_image", &image, false));
    MH_RETURN_IF_ERROR(Field(body, "fixed_image_hex", &image_hex, false));
    MH_RETURN_IF_ERROR(Field(body, "registered_at", &at, false));
    if (!image_hex.empty()) {
      Result<crypto::Bytes> bytes = crypto::HexDecode(image_hex);
      if (!bytes.ok()) return InvalidArgument("field 'fixed_image_hex' is not hex");
      image.assign(bytes->begin(), bytes->end());
    }
    if (image.empty()) return InvalidArgument("field 'fixed_image' (or 'fixed_image_hex') is required");
    const std::string meter = req.matches[1];
    MH_RETURN_IF_ERROR(as->Commission(meter, image, at));
    SendJson(res, 201, {{"meter_id", meter}, {"registered_at", at}, {"image_sha256", crypto::HexEncode(crypto::Sha256(image))},
                        {"ledger_size", as->ledger().size()}});
    return Status::Ok();
  }));
  srv.Post(R"(/api/v1/audit/meters/([^/]+)/run)", guarded([as](const Principal& who, const http::Request& req,
                                                               http::Response& res) -> Status {
    MH_RETURN_IF_ERROR(CanRun(who));
    MH_ASSIGN_OR_RETURN(store::AuditResultRow r, as->Run(req.matches[1], "request"));
    SendJson(res, 200, ResultJson(r));
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
