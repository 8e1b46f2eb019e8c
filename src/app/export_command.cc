#include "app/export_command.h"

#include <fstream>
#include <iostream>

#include "app/config.h"
#include "app/daemon.h"
#include "base/clock.h"
#include "codec/nem12.h"
#include "core/time.h"
#include "core/zone.h"
#include "store/store.h"

namespace mh::app {
namespace {

constexpr int kUsageError = 2;

// A stored quality is "<flag>[:<reason code>]" (NEM12 import); an estimate without one is "E".
std::string StoredQuality(const store::StoredReading& r) { return r.quality.empty() && r.estimated ? "E" : r.quality; }

std::pair<std::string, std::string> QualityOf(const store::StoredReading& r) {
  std::string q = StoredQuality(r);
  const size_t colon = q.find(':');
  if (colon == std::string::npos) return {q, ""};
  return {q.substr(0, colon), q.substr(colon + 1)};
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// "<NMI>-<suffix>" (how `import --format nem12` names a channel), else the whole id on E1.
std::pair<std::string, std::string> NmiOf(const std::string& meter_id) {
  const size_t dash = meter_id.rfind('-');
  if (dash != std::string::npos && dash > 0 && meter_id.size() - dash - 1 >= 1 && meter_id.size() - dash - 1 <= 3)
    return {meter_id.substr(0, dash), meter_id.substr(dash + 1)};
  return {meter_id, "E1"};
}

}  // namespace

int RunExport(const ExportArgs& args, std::ostream& out, std::ostream& err) {
  Config config;
  if (!args.config.empty()) {
    auto loaded = LoadConfig(args.config);
    if (!loaded.ok()) {
      err << "meterhub export: " << loaded.status().message() << "\n";
      return kUsageError;
    }
    config = std::move(*loaded);
  }
  auto zone = TimeZone::Parse(args.tz.empty() ? config.ingest.timezone : args.tz);
  if (!zone.ok()) {
    err << "meterhub export: " << (args.tz.empty() ? "ingest.timezone" : "--tz") << ": " << zone.status().message() << "\n";
    return kUsageError;
  }
  auto span = ParseFromTo(args.from, args.to, *zone);
  if (!span.ok()) {
    err << "meterhub export: --from/--to: " << span.status().message() << "\n";
    return kUsageError;
  }
  auto store = OpenStore(config);
  if (!store.ok()) {
    err << "meterhub export: " << store.status().ToString() << "\n";
    return 1;
  }
  std::vector<store::MeterInfo> meters;
  if (args.meters.empty()) {
    auto all = (*store)->ListMeters("", 0, 0);
    if (!all.ok()) {
      err << "meterhub export: " << all.status().ToString() << "\n";
      return 1;
    }
    meters = std::move(*all);
  } else {
    for (const std::string& id : args.meters) {
      auto m = (*store)->GetMeter(id);
      if (!m.ok()) {
        err << "meterhub export: " << m.status().ToString() << "\n";
        return 1;
      }
      if (!*m) {
        err << "meterhub export: --meter " << id << ": no such meter in the store\n";
        return kUsageError;
      }
      meters.push_back(std::move(**m));
    }
  }

  std::ofstream file;
  if (args.out != "-") {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      err << "meterhub export: cannot write " << args.out << "\n";
      return 1;
    }
  }
  std::ostream& sink = args.out == "-" ? out : file;
  const bool nem12 = args.format == "nem12";
  if (nem12) {
    sink << codec::Nem12Header(SystemClock::Instance().NowSeconds());
  } else {
    sink << "meter_id,timestamp,value,quality\n";
  }
  int64_t rows = 0, written_meters = 0, skipped = 0;
  for (const store::MeterInfo& m : meters) {
    auto readings = (*store)->QueryReadings(m.meter_id, store::TimeRange{span->start + 1, span->end}, 0);
    if (!readings.ok()) {
      err << "meterhub export: " << m.meter_id << ": " << readings.status().ToString() << "\n";
      return 1;
    }
    if (!nem12) {
      for (const auto& r : *readings)
        sink << m.meter_id << "," << FormatIsoUtc(r.ts) << "," << Number(r.value) << "," << CsvField(StoredQuality(r)) << "\n";
      rows += static_cast<int64_t>(readings->size());
      ++written_meters;
      continue;
    }
    if (readings->empty()) continue;
    codec::Nem12Series series;
    std::tie(series.nmi, series.channel) = NmiOf(m.meter_id);
    series.interval_s = m.interval_s;
    std::string why;
    if (m.kind != "electricity") why = "a " + m.kind + " meter (NEM12 carries electricity)";
    // A meter's first reading closes no interval (its consumption is unknown, stored as 0): its
    // slot is left null rather than claimed as an actual 0 kWh.
    auto before = (*store)->LastReadingAtOrBefore(m.meter_id, readings->front().ts - 1);
    if (!before.ok()) {
      err << "meterhub export: " << m.meter_id << ": " << before.status().ToString() << "\n";
      return 1;
    }
    for (const auto& r : *readings) {
      if (!*before && &r == &readings->front()) continue;
      codec::Nem12Interval iv;
      iv.interval_end = r.ts;
      iv.kwh = r.consumption;
      std::tie(iv.quality, iv.reason_code) = QualityOf(r);
      series.intervals.push_back(std::move(iv));
    }
    auto records = why.empty() ? codec::Nem12ChannelRecords(series) : Result<std::string>(InvalidArgument(why));
    if (!records.ok()) {
      err << "meterhub export: meter " << m.meter_id << " left out of the NEM12 file: " << records.status().message() << "\n";
      ++skipped;
      continue;
    }
    sink << *records;
    rows += static_cast<int64_t>(readings->size());
    ++written_meters;
  }
  if (nem12) sink << codec::kNem12End;
  sink.flush();
  if (!sink) {
    err << "meterhub export: writing " << args.out << " failed\n";
    return 1;
  }
  err << "exported " << rows << " readings of " << written_meters << " meters"
      << (skipped ? " (" + std::to_string(skipped) + " meters left out)" : std::string()) << "\n";
  return 0;
}

}  // namespace mh::app
