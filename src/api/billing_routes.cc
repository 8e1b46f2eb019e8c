// Billing determinants (issue 18 item 4): GET /api/v1/meters/{id}/determinants?from=…&to=… — the
// consumption of the readings with from < t <= to, split into the bands of the meter's tariff
// calendar (its group's, else [billing] tariff, else one band "all"). Customer isolation as on
// every meter route.
#include "http/server.h"

#include "api/route_kit.h"
#include "billing/determinants.h"
#include "core/zone.h"

namespace mh::api {
namespace {

// The intervals the meter's readings in (span.start, span.end] close, each from the reading before
// it (the first one's from the last reading at or before span.start).
Result<std::vector<billing::Interval>> IntervalsOf(store::Store& st, const std::string& meter_id, const Period& span) {
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows,
                      st.QueryReadings(meter_id, store::TimeRange{span.start + 1, span.end}, INT64_MAX));
  std::vector<billing::Interval> out;
  if (rows.empty()) return out;
  MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> before, st.LastReadingAtOrBefore(meter_id, span.start));
  int64_t prev = before ? before->ts : rows.front().ts;  // a meter's first reading closes no interval
  for (const auto& r : rows) {
    out.push_back({prev, r.ts, r.consumption, r.estimated});
    prev = r.ts;
  }
  return out;
}

}  // namespace

void AddBillingRoutes(http::Server& srv, store::Store* st, std::shared_ptr<const billing::TariffBook> tariffs) {
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/determinants)",
          Guarded(st, [st, tariffs](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(store::MeterInfo m, VisibleMeter(*st, who, req.matches[1]));
            MH_ASSIGN_OR_RETURN(std::string from, TextParam(req, "from", kTimeText));
            MH_ASSIGN_OR_RETURN(std::string to, TextParam(req, "to", kTimeText));
            if (from.empty() || to.empty())
              return InvalidArgument("query parameters 'from' and 'to' are required (readings with from < t <= to)");
            const TimeZone zone = store::ZoneOf(m);
            auto span = ParseFromTo(from, to, zone);
            if (!span.ok()) return InvalidArgument("query parameters 'from'/'to': " + span.status().message());
            MH_ASSIGN_OR_RETURN(std::vector<billing::Interval> intervals, IntervalsOf(*st, m.meter_id, *span));
            json out = json::array();
            for (const auto& b : billing::SplitIntoBands(intervals, tariffs->For(m.group), zone))
              out.push_back({{"band", b.band}, {"kwh", b.kwh}, {"estimated_kwh", b.estimated_kwh}});
            SendJson(res, 200, out);
            return Status::Ok();
          }));
}

}  // namespace mh::api
