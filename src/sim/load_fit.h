// Fits the load model (load_model.h) to real meter data: SGSC half-hourly household electricity
// and DAIAD hourly water registers. The result is committed as src/sim/load_model_params.json;
// `meterhub sim fit` reruns it. Method and numbers: docs/load_model.md.
#pragma once

#include <ostream>
#include <string>

#include "base/status.h"
#include "sim/load_model.h"

namespace mh::sim {

// What the fit saw beyond the model's numbers (printed by RunFit, quoted in docs/load_model.md).
struct FitDiagnostics {
  int64_t complete_days = 0;       // household-days observed in full (they carry the day factor)
  double zero_day_share = 0;       // of those, days without any consumption (away from home)
  double observed_day_cv = 0;      // coefficient of variation of observed day / expected day
  double within_day_cv = 0;        // what the interval noise alone gives a day
};

// SGSC extract (`meter_id,timestamp,kwh`, half-hourly kWh, local clock, timestamp = interval
// start), gzip-compressed (read with libarchive).
Result<KindModel> FitElectricity(const std::string& sgsc_csv_gz, FitDiagnostics* diagnostics = nullptr);

// DAIAD trial zip holding one `;`-separated csv (`user key;dd/mm/yyyy HH:MM:SS;register litres;diff`,
// roughly hourly, local clock; read with libarchive). The model is in m³.
Result<KindModel> FitWater(const std::string& daiad_zip, FitDiagnostics* diagnostics = nullptr);

// A short human summary of a fitted kind (headline numbers), one line; and of its diagnostics.
std::string FitSummary(const std::string& kind, const KindModel& model);
std::string DiagnosticsSummary(const FitDiagnostics& diagnostics);

struct FitArgs {
  std::string sgsc;   // SGSC csv.gz; empty = keep the compiled-in electricity model
  std::string daiad;  // DAIAD zip; empty = keep the compiled-in water model
  std::string out;    // params JSON to write; empty or "-" = write to `out`
};

// `meterhub sim fit --sgsc FILE --daiad FILE --out params.json`: fits, prints a summary to `err`
// (or to `out` when the JSON goes to a file), writes the JSON. Returns the exit code: 0 ok,
// 2 bad input (message on `err`).
int RunFit(const FitArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mh::sim
