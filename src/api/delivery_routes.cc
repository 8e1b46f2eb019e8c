// REST routes of the alert delivery log: the log itself, and re-sending failed deliveries — one
// (staff, or the customer whose meter it is) or in bulk (admin, operator). A customer reads only
// a generic phrase for an error (alerts::PublicDeliveryError), never what a receiver answered.
#include "alerts/terminal_address.h"
#include "api/route_kit.h"
#include "core/time.h"

namespace mh::api {
namespace {

// The attempts and re-queues of a delivery in the order they happened: a re-queue after attempt N
// comes before attempt N + 1.
json AttemptsLog(const std::vector<store::DeliveryAttempt>& attempts,
                 const std::vector<store::DeliveryRequeueRecord>& requeues, const std::string& channel, bool staff) {
  json log = json::array();
  size_t r = 0;
  auto add_requeues_up_to = [&](int attempt) {
    for (; r < requeues.size() && requeues[r].after_attempts < attempt; ++r) {
      json j{{"attempt", requeues[r].after_attempts}, {"at_ms", requeues[r].at_ms}, {"result", "requeued"}, {"error", ""}};
      if (staff) j["by"] = requeues[r].requested_by;
      log.push_back(std::move(j));
    }
  };
  for (const auto& a : attempts) {
    add_requeues_up_to(a.attempt);
    log.push_back({{"attempt", a.attempt}, {"at_ms", a.at_ms}, {"result", store::DeliveryStatusName(a.status)},
                   {"error", staff ? a.error : alerts::PublicDeliveryError(channel, a.error)}});
  }
  add_requeues_up_to(INT32_MAX);
  return log;
}

Result<json> DeliveryJson(store::Store& st, const store::Delivery& d, bool staff) {
  json content = json::parse(d.content, nullptr, false);
  MH_ASSIGN_OR_RETURN(std::vector<store::DeliveryAttempt> attempts, st.ListDeliveryAttempts(d.id));
  MH_ASSIGN_OR_RETURN(std::vector<store::DeliveryRequeueRecord> requeues, st.ListDeliveryRequeues(d.id));
  return json{{"id", d.id},
              {"alert_id", d.alert_id},
              {"meter_id", d.meter_id},
              {"terminal_id", d.terminal_id},
              {"channel", d.channel},
              {"address", d.address},
              {"content", content.is_discarded() ? json(d.content) : content},
              {"status", store::DeliveryStatusName(d.status)},
              {"attempts", d.attempts},
              {"last_error", staff ? d.last_error : alerts::PublicDeliveryError(d.channel, d.last_error)},
              {"updated_at_ms", d.updated_at},
              {"next_attempt_at_ms", d.next_attempt_at},  // pending: not before (quiet hours, backoff)
              {"attempts_log", AttemptsLog(attempts, requeues, d.channel, staff)}};
}

std::string RequesterOf(const Principal& who) { return std::string(RoleName(who.role)) + " " + who.name; }

}  // namespace

void AddDeliveryRoutes(http::Server& srv, store::Store* st, const Clock* clock, std::function<void()> requeued) {
  auto guarded = [st](auto handler) { return Guarded(st, handler); };
  auto nudge = [requeued = std::move(requeued)] {
    if (requeued) requeued();
  };

  srv.Get("/api/v1/deliveries", guarded([st](const Principal& who, const http::Request& req,
                                             http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(std::string meter, MeterFilter(*st, who, req));
    MH_ASSIGN_OR_RETURN(int64_t alert_id, IntParam(req, "alert", 1, INT64_MAX, 0));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 100000));
    MH_ASSIGN_OR_RETURN(std::vector<store::Delivery> rows, st->ListDeliveries(meter, alert_id, limit));
    json out = json::array();
    for (const auto& d : rows) {
      MH_ASSIGN_OR_RETURN(json j, DeliveryJson(*st, d, who.role != Role::kCustomer));
      out.push_back(std::move(j));
    }
    SendJson(res, 200, {{"deliveries", out}});
    return Status::Ok();
  }));

  // One failed delivery, again: staff writers, or the customer whose meter it is.
  srv.Post(R"(/api/v1/deliveries/([0-9]{1,18})/retry)",
           guarded([st, clock, nudge](const Principal& who, const http::Request& req, http::Response& res) -> Status {
             if (!who.CanWrite() && who.role != Role::kCustomer) return PermissionDenied("read-only token");
             const int64_t id = std::stoll(req.matches[1]);
             const std::string missing = "no delivery " + std::to_string(id);
             MH_ASSIGN_OR_RETURN(std::optional<store::Delivery> d, st->GetDelivery(id));
             if (!d) return NotFound(missing);
             if (who.role == Role::kCustomer) {
               Result<store::MeterInfo> m = VisibleMeter(*st, who, d->meter_id);
               if (!m.ok()) return NotFound(missing);
             }
             if (d->status != store::DeliveryStatus::kFailed) {
               return FailedPrecondition("delivery " + std::to_string(id) + " is " + store::DeliveryStatusName(d->status) +
                                         ": only failed deliveries are re-sent");
             }
             store::DeliveryRequeue r;
             r.delivery_id = id;
             r.at_ms = clock->NowMillis();
             r.requested_by = RequesterOf(who);
             MH_ASSIGN_OR_RETURN(std::vector<int64_t> ids, st->RequeueFailedDeliveries(r));
             if (ids.empty()) return FailedPrecondition("delivery " + std::to_string(id) + " is no longer failed");
             nudge();
             MH_ASSIGN_OR_RETURN(d, st->GetDelivery(id));
             if (!d) return NotFound(missing);
             MH_ASSIGN_OR_RETURN(json j, DeliveryJson(*st, *d, who.role != Role::kCustomer));
             SendJson(res, 200, j);
             return Status::Ok();
           }));

  // Every failed delivery the filters select, again (after a receiver's outage): admin, operator.
  srv.Post("/api/v1/deliveries/retry", guarded([st, clock, nudge](const Principal& who, const http::Request& req,
                                                                  http::Response& res) -> Status {
    if (!who.CanWrite()) return PermissionDenied("re-sending deliveries in bulk needs an admin or operator token");
    store::DeliveryRequeue r;
    MH_ASSIGN_OR_RETURN(r.meter_id, TextParam(req, "meter", kMeterIdText));
    MH_ASSIGN_OR_RETURN(std::string since, TextParam(req, "since", kTimeText));
    if (!since.empty()) {
      Result<int64_t> t = ParseTimestamp(since);
      if (!t.ok()) return InvalidArgument("query parameter 'since': " + t.status().message());
      r.failed_since = *t * 1000;
    }
    MH_ASSIGN_OR_RETURN(r.limit, ParseLimit(req, 10000, 100000));
    r.at_ms = clock->NowMillis();
    r.requested_by = RequesterOf(who);
    MH_ASSIGN_OR_RETURN(std::vector<int64_t> ids, st->RequeueFailedDeliveries(r));
    if (!ids.empty()) nudge();
    SendJson(res, 200, {{"requeued", ids.size()}, {"ids", ids}});
    return Status::Ok();
  }));
}

}  // namespace mh::api
