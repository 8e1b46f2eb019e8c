#include "app/generate.h"

#include <cstdio>
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
  std::string buf = "meter_id,timestamp,value\n";
  buf.reserve(1 << 20);
  int64_t rows = 0;
  Progress progress("generating", static_cast<uint64_t>(args.days));
  char line[96];
  for (int d = 1; d <= args.days; ++d) {
    fleet.AdvanceTo(*start + int64_t{d} * 86400, [&](const Reading& r) {
      buf += r.meter_id;
      buf += ',';
      buf += FormatIsoUtc(r.ts);
      buf += ',';
      if (r.value) {
        int n = std::snprintf(line, sizeof line, "%.3f", *r.value);
        buf.append(line, static_cast<size_t>(n));
      } else {
        buf += r.raw_value;
      }
      buf += '\n';
      ++rows;
      if (buf.size() > (1 << 20) - 128) {
        dest->write(buf.data(), static_cast<std::streamsize>(buf.size()));
        buf.clear();
      }
    });
    progress.Update(static_cast<uint64_t>(d));
  }
  dest->write(buf.data(), static_cast<std::streamsize>(buf.size()));
  progress.Finish();
  if (!args.ground_truth.empty()) {
    std::ofstream gt(args.ground_truth);
    sim::WriteGroundTruthCsv(fleet.ground_truth(), gt);
  }
  err << "generated " << rows << " readings of " << fleet.meters().size() << " meters over " << args.days << " days\n";
  return dest->good() ? 0 : 1;
}

}  // namespace mh::app
