// `meterhub export`: a meter data file out of the store for a billing system (issue 18 item 4) —
// the accepted (and estimated) readings with FROM < t <= TO, as CSV in the import's columns plus
// `quality`, or as NEM12 interval data (meters whose NMI fits NEM12's 10 characters).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace mh::app {

struct ExportArgs {
  std::string config;                // TOML configuration: the store ([store]) and [ingest] timezone
  std::string from, to;              // FROM < t <= TO: ISO dates or timestamps (a date TO = the end of that day)
  std::string tz;                    // zone of FROM/TO without an offset; empty = [ingest] timezone
  std::vector<std::string> meters;   // empty = every meter
  std::string format = "csv";        // csv | nem12
  std::string out;                   // file to write ("-" = stdout)
};

// Exit code: 0 written, 2 bad options or no such meter, 1 a store or file error. Meters NEM12
// cannot carry (NMI longer than 10, water, intervals off the grid) are named on `err` and left out.
int RunExport(const ExportArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mh::app
