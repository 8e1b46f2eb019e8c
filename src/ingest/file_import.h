// `meterhub import`: loads a file of readings (MeterHub CSV or NEM12) through the same pipeline
// as live data — validation, store, quarantine, thresholds, alerts — in large batches.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/status.h"
#include "ingest/pipeline.h"
#include "store/store.h"

namespace mh::ingest {

struct ImportArgs {
  std::string path;
  std::string format = "csv";        // "csv" or "nem12"
  TimeZone zone = TimeZone::Fixed(8 * 3600);  // CSV: zone of timestamps without an offset; new meters' zone
  int32_t nem12_offset_s = 10 * 3600;  // NEM12 times are market time (AEST, +10:00)
  std::string new_meter_kind = "electricity";
  size_t batch_size = 50000;         // readings handed to the pipeline at once
  // Accepted readings are held in memory and packed into the store (durably) every this many,
  // and at the end: a bulk load writes each meter's day once, not once per reading.
  int64_t pack_every = 4000000;
  bool progress = true;              // progress on stderr (a bar on a terminal)
  // Non-empty: a trusted revision file. A row whose reading is stored with another value (or
  // another quality flag) becomes a new version of it with this reason; new rows are imported.
  std::string revise_reason;
};

struct ImportReport {
  int64_t rows = 0;                  // data rows / intervals read
  int64_t bad_rows = 0;              // rows that were not readings (recorded as events, listed)
  int64_t meters_registered = 0;
  int64_t nem12_events = 0;
  int64_t revised = 0;               // --revise: readings given a new version
  int64_t revision_refused = 0;      // --revise: corrections refused (listed with why)
  SubmitSummary summary;
  double seconds = 0;
};

// Bad rows are listed on `err` (the first 20, then a count) and kept in the store as
// `rejected_row` events; the rest is imported. Returns an error only for an unusable file.
Result<ImportReport> ImportFile(Pipeline& pipeline, store::Store& store, const ImportArgs& args, std::ostream& err);

// The human summary printed at the end of an import.
std::string FormatImportReport(const ImportReport& report);

}  // namespace mh::ingest
