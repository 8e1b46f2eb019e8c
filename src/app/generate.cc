#include "app/generate.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <vector>
#include <fstream>
#include <ostream>

#include "base/progress.h"
#include "core/time.h"
#include "sim/fleet.h"
#include "sim/load_model.h"

namespace mh::app {

int RunGenerate(const GenerateArgs& args, std::ostream& out, std::ostream& err) {
  auto start = ParseTimestamp(args.start, 8 * 3600);
  if (!start.ok()) {
    err << "meterhub sim generate: --start: " << start.status().message() << "\n";
    return 2;
  }
  sim::FleetOptions fo;
  fo.meters = args.meters;
  fo.electricity_share = args.electricity_share;
  fo.seed = args.seed;
  fo.faults.null_reading = args.null_rate;
  fo.faults.backward_step = args.backward_rate;
  fo.faults.spike = args.spike_rate;
  fo.faults.forgotten_appliance = args.appliance_rate;
  sim::Fleet fleet(sim::DefaultLoadModel(), fo, *start);

  std::ofstream file;
  std::ostream* dest = &out;
  if (args.out != "-") {
    file.open(args.out, std::ios::binary);
    if (!file) {
      err << "meterhub sim generate: cannot write " << args.out << "\n";
      return 2;
    }
    dest = &file;
  }
  if (args.order != "time" && args.order != "meter") {
    err << "meterhub sim generate: --order must be time or meter\n";
    return 2;
  }
  if (args.timestamps != "iso" && args.timestamps != "epoch") {
    err << "meterhub sim generate: --timestamps must be iso or epoch\n";
    return 2;
  }
  const bool epoch = args.timestamps == "epoch";
  const int64_t tick = std::min(fo.electricity_interval_s, fo.water_interval_s);
  const int64_t span = args.intervals > 0 ? int64_t{args.intervals} * tick : int64_t{args.days} * 86400;
  // Steps of at most a day keep the progress moving and the per-step work bounded.
  const int64_t step = std::min<int64_t>(span, 86400);

  std::string buf = "meter_id,timestamp,value\n";
  buf.reserve(1 << 20);
  int64_t rows = 0;
  char line[96];
  auto append_row = [&](const std::string& meter, int64_t ts, const Reading* r, double value) {
    buf += meter;
    buf += ',';
    if (epoch) {
      int n = std::snprintf(line, sizeof line, "%lld", static_cast<long long>(ts));
      buf.append(line, static_cast<size_t>(n));
    } else {
      buf += FormatIsoUtc(ts);
    }
    buf += ',';
    if (r == nullptr || r->value) {
      int n = std::snprintf(line, sizeof line, "%.3f", r ? *r->value : value);
      buf.append(line, static_cast<size_t>(n));
    } else {
      buf += r->raw_value;
    }
    buf += '\n';
    ++rows;
    if (buf.size() > (1 << 20) - 128) {
      dest->write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  };

  // Meter order: the fleet generates in time order; the rows are kept compactly and sorted.
  struct Row {
    uint32_t meter;
    int64_t ts;
    double value;
    std::string raw;  // empty unless the value did not parse
  };
  std::vector<Row> held;
  std::unordered_map<std::string, uint32_t> index;
  if (args.order == "meter")
    for (size_t i = 0; i < fleet.meters().size(); ++i) index.emplace(fleet.meters()[i].id, static_cast<uint32_t>(i));

  Progress progress("generating", static_cast<uint64_t>((span + step - 1) / step));
  uint64_t steps = 0;
  for (int64_t t = *start; t < *start + span;) {
    const int64_t next = std::min(*start + span, t + step);
    fleet.AdvanceTo(next, [&](const Reading& r) {
      if (args.order == "time") {
        append_row(r.meter_id, r.ts, &r, 0);
      } else {
        held.push_back({index.at(r.meter_id), r.ts, r.value.value_or(0), r.value ? std::string() : r.raw_value});
      }
    });
    t = next;
    progress.Update(++steps);
  }
  if (args.order == "meter") {
    std::stable_sort(held.begin(), held.end(), [](const Row& a, const Row& b) { return a.meter < b.meter; });
    for (const Row& row : held) {
      Reading r;
      if (row.raw.empty()) r.value = row.value;
      else r.raw_value = row.raw;
      append_row(fleet.meters()[row.meter].id, row.ts, &r, 0);
    }
  }
  dest->write(buf.data(), static_cast<std::streamsize>(buf.size()));
  progress.Finish();
  if (!args.ground_truth.empty()) {
    std::ofstream gt(args.ground_truth);
    sim::WriteGroundTruthCsv(fleet.ground_truth(), gt);
  }
  err << "generated " << rows << " readings of " << fleet.meters().size() << " meters over " << span / 3600.0 << " h ("
      << args.order << " order)\n";
  return dest->good() ? 0 : 1;
}

}  // namespace mh::app
