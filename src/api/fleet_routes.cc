#include "api/fleet_routes.h"

#include <deque>
#include <mutex>

#include "api/route_kit.h"
#include "core/time.h"

namespace mh::api {
namespace {

// Readings received per second over about the last minute, from samples of the pipeline's
// counter taken whenever someone asks (the dashboard polls), plus one at start.
class IngestRate {
 public:
  IngestRate(const Clock* clock, const ingest::Pipeline* pipeline) : clock_(clock), pipeline_(pipeline) { Sample(); }

  // Readings per second, or nullopt without a pipeline or a time span yet.
  std::optional<double> Sample() {
    if (pipeline_ == nullptr) return std::nullopt;
    std::lock_guard lock(mu_);
    const int64_t now = clock_->NowMillis();
    samples_.emplace_back(now, pipeline_->counters().received.load());
    // Keep one sample at least a minute old (the base), and none older than that.
    while (samples_.size() > 2 && samples_[1].first <= now - 60'000) samples_.pop_front();
    const auto& [t0, n0] = samples_.front();
    if (now <= t0) return std::nullopt;
    return static_cast<double>(samples_.back().second - n0) * 1000.0 / static_cast<double>(now - t0);
  }

 private:
  const Clock* const clock_;
  const ingest::Pipeline* const pipeline_;
  std::mutex mu_;
  std::deque<std::pair<int64_t, int64_t>> samples_;  // guarded by mu_: (ms, readings received)
};

json Counts(const std::vector<std::pair<std::string, int64_t>>& pairs) {
  json out = json::object();
  for (const auto& [key, n] : pairs) out[key] = n;
  return out;
}

// "YYYY-MM-DD" → days since 1970-01-01.
Result<int64_t> ParseDateParam(const http::Request& req) {
  if (!req.has_param("date")) return InvalidArgument("query parameter 'date' (YYYY-MM-DD) is required");
  const std::string d = req.get_param_value("date");
  int y = 0, m = 0, day = 0;
  char tail = 0;
  if (d.size() != 10 || std::sscanf(d.c_str(), "%4d-%2d-%2d%c", &y, &m, &day, &tail) != 3 ||
      !IsValidCivilTime(y, m, day, 0, 0, 0) || y < 1970)
    return InvalidArgument("query parameter 'date': expected a date YYYY-MM-DD from 1970 on");
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(day));
}

// One meter's consumption on a civil day in its own zone: the readings that close an interval in
// (00:00, 24:00] (SPEC 1.2's period rule), their consumption summed.
Result<json> DayConsumptionJson(store::Store* st, const store::MeterInfo& m, int64_t day) {
  const TimeZone zone = store::ZoneOf(m);
  const Period p = PeriodStartingAt(zone.ToUtc(day * 86400), PeriodKind::kDay, zone);
  MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows, st->QueryReadings(m.meter_id, {p.start + 1, p.end}, INT64_MAX));
  double total = 0;
  for (const auto& r : rows) total += r.consumption;
  return json{{"meter_id", m.meter_id},
              {"kind", m.kind},
              {"unit", m.kind == "water" ? "m3" : "kWh"},
              {"consumption", rows.empty() ? json(nullptr) : json(total)},
              {"readings", rows.size()},
              {"last_reading_at", rows.empty() ? json(nullptr) : json(Iso(rows.back().ts))}};
}

}  // namespace

void AddFleetRoutes(http::Server& srv, FleetDeps deps) {
  store::Store* const st = deps.store;
  auto rate = std::make_shared<IngestRate>(deps.clock, deps.pipeline);

  srv.Get("/api/v1/fleet/summary", Guarded(st, [deps, st, rate](const Principal& who, const http::Request&,
                                                                http::Response& res) -> Status {
    if (who.role == Role::kCustomer) return PermissionDenied("the fleet summary is for staff; customers see their meters");
    const int64_t now = deps.clock->NowSeconds();
    const int64_t day_start = now - now % 86400;  // today, UTC
    MH_ASSIGN_OR_RETURN(store::FleetCounts f, st->CountFleet(day_start, now - 86400));
    json regions = json::array();
    for (const auto& [code, n] : f.by_region) regions.push_back({{"region_code", code}, {"meters", n}});
    int64_t failed = 0;
    for (const auto& [status, n] : f.deliveries_by_status)
      if (status == "failed") failed = n;
    json j{{"generated_at", Iso(now)},
           {"meters", f.meters},
           {"by_kind", Counts(f.by_kind)},
           {"by_region", regions},
           {"by_state", Counts(f.by_state)},
           {"quarantine_by_verdict", Counts(f.quarantine_by_verdict)},
           {"alerts_today", f.alerts_since},
           {"deliveries", Counts(f.deliveries_by_status)},
           {"delivery_failures", failed}};
    std::optional<double> per_s = rate->Sample();
    j["ingest"] = {{"readings_per_s", per_s ? json(*per_s) : json(nullptr)},
                   {"received_total", deps.pipeline ? deps.pipeline->counters().received.load() : 0},
                   {"accepted_total", deps.pipeline ? deps.pipeline->counters().accepted.load() : 0}};
    json extra = deps.status ? deps.status() : json::object();
    j["mqtt"] = extra.contains("mqtt") ? extra["mqtt"] : json("off");
    SendJson(res, 200, j);
    return Status::Ok();
  }));

  // One day's consumption of every meter (a customer: of their own meters), paged by meter id:
  // ?date=YYYY-MM-DD&after=ID&limit=N; `next` is the `after` of the next page (null at the end).
  srv.Get("/api/v1/consumption", Guarded(st, [st](const Principal& who, const http::Request& req,
                                                  http::Response& res) -> Status {
    MH_ASSIGN_OR_RETURN(int64_t day, ParseDateParam(req));
    MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 1000, 10000));
    store::MeterQuery q;
    MH_ASSIGN_OR_RETURN(q.customer_id, TextParam(req, "customer_id", kIdText));
    if (who.role == Role::kCustomer) q.customer_id = who.customer_id;
    MH_ASSIGN_OR_RETURN(q.kind, TextParam(req, "kind", kWordText));
    MH_ASSIGN_OR_RETURN(q.region_code, TextParam(req, "region", kWordText));
    MH_ASSIGN_OR_RETURN(q.after, TextParam(req, "after", kIdText));
    q.limit = limit;
    q.count_total = false;
    MH_ASSIGN_OR_RETURN(store::MeterPage page, st->SearchMeters(q));
    json meters = json::array();
    for (const auto& m : page.meters) {
      MH_ASSIGN_OR_RETURN(json one, DayConsumptionJson(st, m, day));
      meters.push_back(std::move(one));
    }
    const bool more = static_cast<int64_t>(page.meters.size()) == limit;
    SendJson(res, 200, {{"date", req.get_param_value("date")},
                        {"meters", meters},
                        {"limit", limit},
                        {"next", more ? json(page.meters.back().meter_id) : json(nullptr)}});
    return Status::Ok();
  }));

  // A meter's accepted readings as columns (epoch seconds, register, consumption): a year of
  // 15-minute readings is ~1 MB instead of ~4 MB of objects.
  srv.Get(R"(/api/v1/meters/([A-Za-z0-9_-]{1,32})/series)",
          Guarded(st, [st](const Principal& who, const http::Request& req, http::Response& res) -> Status {
            MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> m, st->GetMeter(req.matches[1]));
            if (!m || !who.CanSeeMeter(*m)) return NotFound("no meter '" + std::string(req.matches[1]) + "'");
            MH_ASSIGN_OR_RETURN(store::TimeRange range, ParseRange(req));
            MH_ASSIGN_OR_RETURN(int64_t limit, ParseLimit(req, 100000, 200000));
            MH_ASSIGN_OR_RETURN(std::vector<store::StoredReading> rows, st->QueryReadings(m->meter_id, range, limit));
            std::vector<int64_t> t;
            std::vector<double> value, consumption;
            t.reserve(rows.size());
            value.reserve(rows.size());
            consumption.reserve(rows.size());
            for (const auto& r : rows) {
              t.push_back(r.ts);
              value.push_back(r.value);
              consumption.push_back(r.consumption);
            }
            SendJson(res, 200,
                     {{"meter_id", m->meter_id}, {"unit", m->kind == "water" ? "m3" : "kWh"}, {"interval_s", m->interval_s},
                      {"truncated", static_cast<int64_t>(rows.size()) == limit}, {"t", t}, {"value", value},
                      {"consumption", consumption}});
            return Status::Ok();
          }));
}

}  // namespace mh::api
